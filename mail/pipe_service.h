// pipe_service.h: a pipe(8) service's command attributes, the words after
// "pipe" in its master.cf entry (flags=, user=, argv=, ...), read into a
// typed struct, and the expansion of its argv= macros for one delivery.
// The compiler checks them with this parser (postern check); the queue
// manager and the privileged helper read them from the image with it.
//
// Semantics as pipe(8) has them: attribute names are case-insensitive,
// argv= is the last attribute and the rest of the line is the command,
// executed without a shell. ${name}, $name and $(name) expand; $$ is a $.
// An argument that names a recipient macro ($recipient,
// $original_recipient, $user, $extension, $mailbox, $domain) becomes one
// argument per recipient.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace postern::mail {

// flags=BDFORXhqu.>
struct PipeFlags {
  bool blank_line = false;      // B: a blank line after the message
  bool delivered_to = false;    // D: Delivered-To: first, and loop detection
  bool from_line = false;       // F: a "From sender date" line first
  bool original_to = false;     // O: X-Original-To: first
  bool return_path = false;     // R: Return-Path: first
  bool final_delivery = false;  // X: success notices say "delivered", not "relayed"
  bool fold_host = false;       // h: lower-case domains and the nexthop in argv
  bool quote_local = false;     // q: RFC 822 quoting of local parts in argv
  bool fold_user = false;       // u: lower-case local parts in argv
  bool dot_stuff = false;       // .: "." before lines that start with "."
  bool quote_from = false;      // >: ">" before lines that start with "From "
};

struct PipeService {
  PipeFlags flags;
  std::string user;   // user=name
  std::string group;  // user=name:group ("" for the user's own group)
  std::string directory;
  std::string chroot;
  std::string eol = "\n";  // eol=, backslash escapes resolved
  std::string null_sender = "MAILER-DAEMON";
  uint64_t size_limit = 0;        // size=, bytes; 0: none
  std::vector<std::string> argv;  // argv=, macros not expanded; argv[0] is the program
};

// The attributes of one pipe service (master.cf arguments after the
// command, braces already removed); a permanent error naming the first
// bad attribute otherwise: an unknown attribute or flag, an unknown or
// malformed macro, a missing user= or argv=, user=root, a bad size=.
// `bad_argument`, when given, is set to the index of the argument at fault
// (arguments.size() for a missing attribute).
Result<PipeService> ParsePipeService(const std::vector<std::string>& arguments, size_t* bad_argument = nullptr);

// What one delivery supplies to the macros.
struct PipeRecipient {
  std::string address;
  std::string original;  // "" when not known
};
struct PipeMacroValues {
  std::string sender;  // "" is the null sender (null_sender= stands in)
  std::string nexthop;
  std::string queue_id;
  uint64_t size = 0;
  std::string client_address, client_hostname, client_helo, client_port, client_protocol;
  std::string sasl_method, sasl_username, sasl_sender;
  std::vector<PipeRecipient> recipients;
  std::string recipient_delimiter;  // the characters that start an address extension
};

// argv with every macro expanded (see the top of the file).
// REQUIRES: `service` came from ParsePipeService.
std::vector<std::string> ExpandPipeArguments(const PipeService& service, const PipeMacroValues& values);

}  // namespace postern::mail
