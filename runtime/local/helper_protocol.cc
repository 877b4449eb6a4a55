// helper_protocol.cc: see helper_protocol.h.
#include "runtime/local/helper_protocol.h"

#include "mail/enhanced_status.h"
#include "util/bytes.h"

namespace postern::local {
namespace {

bool GetView(ByteReader* r, std::string_view* view) {
  uint32_t n = 0;
  return r->GetU32(&n) && r->GetRaw(n, view);
}

}  // namespace

std::string EncodeDeliverRequest(const LocalHelperRequest& q) {
  ByteWriter w;
  w.PutU8(static_cast<uint8_t>(HelperRequestKind::kDeliver));
  for (std::string_view field :
       {std::string_view(q.image_id), std::string_view(q.transport), std::string_view(q.queue_id),
        std::string_view(q.sender), std::string_view(q.recipient), std::string_view(q.original_recipient),
        std::string_view(q.delivery), q.content}) {
    w.PutString(field);
  }
  w.PutU64(static_cast<uint64_t>(q.now));
  return w.Release();
}

std::string EncodePipeRequest(const PipeHelperRequest& q) {
  ByteWriter w;
  w.PutU8(static_cast<uint8_t>(HelperRequestKind::kPipe));
  for (const std::string* field : {&q.image_id, &q.transport, &q.queue_id, &q.sender, &q.nexthop, &q.client_address,
                                   &q.client_hostname, &q.client_helo, &q.sasl_username}) {
    w.PutString(*field);
  }
  w.PutU32(static_cast<uint32_t>(q.recipients.size()));
  for (const mail::PipeRecipient& r : q.recipients) {
    w.PutString(r.address);
    w.PutString(r.original);
  }
  w.PutString(q.content);
  w.PutU64(static_cast<uint64_t>(q.now));
  return w.Release();
}

std::string EncodeTlsFilesRequest(const std::string& image_id, const std::string& service) {
  ByteWriter w;
  w.PutU8(static_cast<uint8_t>(HelperRequestKind::kTlsFiles));
  w.PutString(image_id);
  w.PutString(service);
  return w.Release();
}

std::optional<DecodedHelperRequest> DecodeHelperRequest(std::string_view frame) {
  ByteReader r(frame);
  uint8_t kind = 0;
  if (!r.GetU8(&kind)) return std::nullopt;
  DecodedHelperRequest out;
  if (kind == static_cast<uint8_t>(HelperRequestKind::kTlsFiles)) {
    out.kind = HelperRequestKind::kTlsFiles;
    if (!r.GetString(&out.image_id) || !r.GetString(&out.service) || r.remaining() != 0) return std::nullopt;
    return out;
  }
  if (kind == static_cast<uint8_t>(HelperRequestKind::kPipe)) {
    out.kind = HelperRequestKind::kPipe;
    PipeHelperRequest& q = out.pipe;
    uint32_t count = 0;
    uint64_t now = 0;
    for (std::string* field : {&q.image_id, &q.transport, &q.queue_id, &q.sender, &q.nexthop, &q.client_address,
                               &q.client_hostname, &q.client_helo, &q.sasl_username}) {
      if (!r.GetString(field)) return std::nullopt;
    }
    // Each recipient takes at least eight bytes: a count beyond the frame is a lie.
    if (!r.GetU32(&count) || count > r.remaining() / 8) return std::nullopt;
    q.recipients.resize(count);
    for (mail::PipeRecipient& rcpt : q.recipients) {
      if (!r.GetString(&rcpt.address) || !r.GetString(&rcpt.original)) return std::nullopt;
    }
    if (!GetView(&r, &q.content) || !r.GetU64(&now) || r.remaining() != 0) return std::nullopt;
    q.now = static_cast<int64_t>(now);
    return out;
  }
  if (kind != static_cast<uint8_t>(HelperRequestKind::kDeliver)) return std::nullopt;
  out.kind = HelperRequestKind::kDeliver;
  LocalHelperRequest& q = out.deliver;
  uint64_t now = 0;
  if (!r.GetString(&q.image_id) || !r.GetString(&q.transport) || !r.GetString(&q.queue_id) || !r.GetString(&q.sender) ||
      !r.GetString(&q.recipient) || !r.GetString(&q.original_recipient) || !r.GetString(&q.delivery) ||
      !GetView(&r, &q.content) || !r.GetU64(&now) || r.remaining() != 0) {
    return std::nullopt;
  }
  q.now = static_cast<int64_t>(now);
  return out;
}

std::string EncodeDeliverAnswer(const mail::DeliveryStatus& result) {
  ByteWriter w;
  w.PutU32(static_cast<uint32_t>(result.code));
  w.PutString(result.status);
  w.PutString(result.reason);
  return w.Release();
}

std::optional<mail::DeliveryStatus> DecodeDeliverAnswer(std::string_view frame) {
  ByteReader r(frame);
  uint32_t code = 0;
  std::string status, reason;
  if (!r.GetU32(&code) || code < 200 || code > 599 || !r.GetString(&status) || !r.GetString(&reason) ||
      r.remaining() != 0 || !mail::IsEnhancedStatus(status)) {
    return std::nullopt;
  }
  return mail::DeliveryStatus::Local(static_cast<int>(code), status, std::move(reason));
}

std::string EncodeTlsFilesAnswer(const Result<std::optional<tls::ServerTlsFiles>>& files) {
  ByteWriter w;
  if (!files.ok()) {
    w.PutU8(0);
    w.PutString(files.status().message());
  } else if (!*files) {
    w.PutU8(1);
  } else {
    w.PutU8(2);
    for (const std::string* field : {&(*files)->cert_path, &(*files)->key_path, &(*files)->cert_pem, &(*files)->key_pem,
                                     &(*files)->ca_path, &(*files)->ca_pem, &(*files)->ca_directory}) {
      w.PutString(*field);
    }
  }
  return w.Release();
}

Result<std::optional<tls::ServerTlsFiles>> DecodeTlsFilesAnswer(std::string_view frame) {
  ByteReader r(frame);
  uint8_t kind = 0;
  std::string error;
  tls::ServerTlsFiles files;
  if (r.GetU8(&kind) && kind == 1 && r.remaining() == 0) return std::optional<tls::ServerTlsFiles>();
  if (kind == 2 && r.GetString(&files.cert_path) && r.GetString(&files.key_path) && r.GetString(&files.cert_pem) &&
      r.GetString(&files.key_pem) && r.GetString(&files.ca_path) && r.GetString(&files.ca_pem) &&
      r.GetString(&files.ca_directory) && r.remaining() == 0) {
    return std::optional<tls::ServerTlsFiles>(std::move(files));
  }
  if (kind == 0 && r.GetString(&error) && r.remaining() == 0) return Status::Permanent(error);
  return Status::Temporary("malformed answer from the privileged helper");
}

}  // namespace postern::local
