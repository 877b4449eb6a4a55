// milter_reply_fuzzer.cc: what a milter sends back is read by posternd:
// no bytes may crash the packet reader, the negotiation and string
// decoders, or the message editor that applies a milter's edits; and no
// edit may remove the MTA's own Received: header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "runtime/milter/milter_protocol.h"
#include "runtime/milter/queued_message_editor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern;
  using namespace postern::milter;
  const std::string ours = "Received: from client\r\n\tby mx (Postern) id FUZZ\r\n";
  queue::QueuedMessage message;
  message.id = "FUZZ";
  message.content = ours + "Subject: s\r\nTo: a@example.com\r\nSubject: t\r\n";
  queue::QueuedRecipient r;
  r.address = "a@example.com";
  message.recipients.push_back(r);
  auto spool = [] { return std::make_unique<queue::BodySpool>("", "FUZZ", 0, queue::kQueueFileBodyOffset); };
  std::unique_ptr<queue::BodySpool> body = spool();
  body->Append("\r\nbody\r\n");
  QueuedMessageEditor editor(message, body, spool, [](const std::string&) {});

  PacketReader reader;
  reader.Feed(std::string_view(reinterpret_cast<const char*>(data), size));
  for (int packets = 0; packets < 64; ++packets) {
    Result<std::optional<ReplyPacket>> next = reader.Next();
    if (!next.ok() || !next->has_value()) break;
    const ReplyPacket& p = **next;
    auto strings = ParseStrings(p.data);
    auto arg = [&](size_t i) { return strings.ok() && i < strings->size() ? (*strings)[i] : std::string(); };
    switch (p.code) {
      case command::kOptionNegotiation:
        (void)ParseNegotiation(p.data);
        break;
      case kReplyChangeHeader:
      case kReplyInsertHeader:
        if (auto indexed = ParseIndexedStrings(p.data); indexed.ok() && indexed->second.size() >= 2) {
          if (p.code == kReplyChangeHeader) {
            editor.ChangeHeader(indexed->first, indexed->second[0], " ", indexed->second[1]);
          } else {
            editor.InsertHeader(indexed->first, indexed->second[0], " ", indexed->second[1]);
          }
        }
        break;
      case kReplyAddHeader:
        editor.AddHeader(arg(0), " ", arg(1));
        break;
      case kReplyChangeSender:
        editor.ChangeSender(arg(0), arg(1));
        break;
      case kReplyAddRecipient:
        editor.AddRecipient(arg(0), "");
        break;
      case kReplyDeleteRecipient:
        editor.DeleteRecipient(arg(0));
        break;
      case kReplyReplaceBody:
        editor.AppendBody(p.data);
        break;
      default:
        break;
    }
    (void)editor.Headers();
    (void)editor.ReadBody(0, 16);
  }
  (void)editor.EndBody();
  editor.Finish();
  if (message.content.find(ours) == std::string::npos) std::abort();
  return 0;
}
