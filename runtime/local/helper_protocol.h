// helper_protocol.h: the bytes between posternd and its root helper
// (local_helper.h), with no I/O. Every frame the helper reads comes from a
// process it does not trust, so each decoder checks every field and the
// frame's end, and says false on anything else.
//
//   request  = kind:u8, then for kDeliver: image_id transport queue_id
//              sender recipient original_recipient delivery content
//              (u32-length strings), now:u64; for kPipe: image_id
//              transport queue_id sender nexthop client_address
//              client_hostname client_helo sasl_username, count:u32 and
//              that many address and original pairs, content, now:u64;
//              for kTlsFiles: image_id service (the smtpd service whose
//              files are wanted)
//   answer   = for kDeliver and kPipe: code:u32 status reason; for
//              kTlsFiles: u8 0 + error, u8 1 (no TLS), or u8 2 + the four
//              ServerTlsFiles strings
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mail/delivery_status.h"
#include "runtime/local/local_authority.h"
#include "runtime/tls/server_tls_files.h"
#include "util/status.h"

namespace postern::local {

enum class HelperRequestKind : uint8_t {
  kDeliver = 'D',
  kPipe = 'P',
  kTlsFiles = 'T',
};

std::string EncodeDeliverRequest(const LocalHelperRequest& request);
std::string EncodePipeRequest(const PipeHelperRequest& request);
std::string EncodeTlsFilesRequest(const std::string& image_id, const std::string& service);

// The kind of a request frame, and its fields; nullopt when malformed.
// The content of a LocalHelperRequest or PipeHelperRequest points into
// `frame`.
struct DecodedHelperRequest {
  HelperRequestKind kind;
  LocalHelperRequest deliver;  // kDeliver
  PipeHelperRequest pipe;      // kPipe
  std::string image_id;        // kTlsFiles
  std::string service;         // kTlsFiles
};
std::optional<DecodedHelperRequest> DecodeHelperRequest(std::string_view frame);

std::string EncodeDeliverAnswer(const mail::DeliveryStatus& result);
std::optional<mail::DeliveryStatus> DecodeDeliverAnswer(std::string_view frame);

std::string EncodeTlsFilesAnswer(const Result<std::optional<tls::ServerTlsFiles>>& files);
// A malformed answer is a temporary error.
Result<std::optional<tls::ServerTlsFiles>> DecodeTlsFilesAnswer(std::string_view frame);

}  // namespace postern::local
