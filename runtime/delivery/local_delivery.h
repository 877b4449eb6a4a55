// local_delivery.h: the local delivery agent's work for one recipient, as
// local(8) does it: append to an mbox file (mail_spool_directory, a
// home_mailbox without a trailing slash, an alias's /file), write a
// Maildir message (a home_mailbox or /file ending in "/"), or pipe the
// message to a command (an alias's |command, mailbox_command).
//
// Every local copy starts with Return-Path:, X-Original-To: and
// Delivered-To:, lines end in LF. mbox: dot-locked (name.lock, created
// exclusively) and fcntl-locked, a "From sender date" line first, body
// lines starting with "From " quoted as ">From ", a blank line last; a
// failed append is cut back to the old size. Maildir: tmp/ then new/
// with a unique name, fsynced before it is linked into new/. Commands run
// with /bin/sh -c, the message on stdin, export_environment's variables
// and SENDER/RECIPIENT/... in the environment, and a time limit; their result is read as Postfix reads it
// (command_runner.h: an enhanced status code in the output, <sysexits.h>
// exit statuses, 75 EX_TEMPFAIL defers). A message already Delivered-To the recipient is
// a forwarding loop (bounced, 5.4.6).
//
// Blocking: the queue manager runs it on a thread pool, with the daemon's
// credentials, or in local_helper.h's worker as the recipient.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mail/delivery_status.h"

namespace postern::delivery {

struct LocalRequest {
  std::string queue_id;
  std::string sender;              // "" is the null sender
  std::string recipient;           // the final address (Delivered-To)
  std::string original_recipient;  // X-Original-To
  std::string user;                // the local part (USER in a command's environment)
  // What the resolver decided: "mailbox /var/mail/u", "maildir /home/u/Maildir/",
  // "file /path", "command procmail -a x".
  std::string detail;
  std::string_view content;  // CRLF lines, as queued
  std::string hostname;      // myhostname (Maildir names)
  int64_t now = 0;           // seconds since the epoch
  int64_t command_time_limit = 1000;
  // export_environment's variables, for a command (its own come after).
  std::vector<std::string> environment;
  uint64_t mailbox_size_limit = 51200000;  // 0: none
};

// Delivered (250, "delivered to mailbox"), to be tried again (4xx) or
// bounced (5xx, "mailbox full" with 5.2.2).
mail::DeliveryStatus DeliverLocally(const LocalRequest& request);

// Whether the header section of `content` already has "Delivered-To:
// <recipient>" (any case): local(8) and pipe(8) flag D's loop detection.
bool AlreadyDelivered(std::string_view content, std::string_view recipient);

}  // namespace postern::delivery
