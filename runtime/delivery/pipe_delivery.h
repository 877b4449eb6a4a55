// pipe_delivery.h: the pipe(8) delivery agent's work for one delivery (a
// message and some of its recipients): the message, prepared as the
// service's flags say, piped into the service's command, argv macros
// expanded; one outcome for every recipient of the delivery.
//
// As pipe(8): flags D and O need a delivery of one recipient (with more the
// delivery defers, "mail system configuration error"); D bounces a message
// that already has Delivered-To: the recipient (5.4.6); size= bounces a
// larger message (5.2.3); success is "delivered via <service> service".
// Lines end in eol= (LF by default); F writes "From sender date", R
// Return-Path:, O X-Original-To:, D Delivered-To:, in that order; ">"
// and "." quote every line that needs it; B ends with a blank line.
//
// Blocking; runs the command with the caller's credentials (the helper has
// become the service's user= by then).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mail/delivery_status.h"
#include "mail/pipe_service.h"

namespace postern::delivery {

struct PipeRequest {
  std::string service;  // the master.cf name, for the texts
  mail::PipeService settings;
  mail::PipeMacroValues values;  // sender, recipients, nexthop, ...
  std::string_view content;      // CRLF lines, as queued
  int64_t now = 0;               // seconds since the epoch (the From line)
  int64_t time_limit = 1000;     // <service>_time_limit
  std::vector<std::string> environment;
  std::string working_directory;  // directory=, else where the caller is
};

// One status for all of the request's recipients.
mail::DeliveryStatus DeliverToPipe(const PipeRequest& request);

// The bytes the command reads (exposed for tests).
std::string PipeCopy(const PipeRequest& request);

}  // namespace postern::delivery
