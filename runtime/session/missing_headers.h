// missing_headers.h: the headers Postfix's cleanup(8) adds to a message
// that lacks them, when the client is one of local_header_rewrite_clients
// (or always_add_missing_headers or remote_header_rewrite_domain says every
// client): Message-Id:, Date:, From: and undisclosed_recipients_header, in
// that order at the end of the header section; the Resent- forms when the
// message has Resent- headers. No I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace postern::session {

struct MissingHeaderFacts {
  std::vector<std::string> names;  // the message's header names, as they are stored
  std::string queue_id;
  std::string hostname;                // myhostname
  std::string sender;                  // "" is the null sender
  int64_t arrival = 0;                 // seconds since the epoch
  std::string undisclosed_recipients;  // undisclosed_recipients_header ("" adds none)
};

struct AddedHeaders {
  std::string lines;       // each ending in CRLF; empty when none is missing
  std::string message_id;  // the Message-Id: added, "<...>", or ""
};

AddedHeaders MissingHeaders(const MissingHeaderFacts& facts);

}  // namespace postern::session
