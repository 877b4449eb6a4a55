// milter_protocol.h: the Sendmail milter protocol, version 6, as an MTA
// speaks it (libmilter's wire format; Postfix's milter8 client): packets
// are a 32-bit big-endian length, a command byte and its data. This file
// only encodes commands and decodes replies; milter_client.h drives them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace postern::milter {

// Commands (MTA to milter).
namespace command {
inline constexpr char kAbort = 'A';
inline constexpr char kBody = 'B';
inline constexpr char kConnect = 'C';
inline constexpr char kMacro = 'D';
inline constexpr char kEndOfBody = 'E';
inline constexpr char kHelo = 'H';
inline constexpr char kHeader = 'L';
inline constexpr char kMail = 'M';
inline constexpr char kEndOfHeaders = 'N';
inline constexpr char kOptionNegotiation = 'O';
inline constexpr char kQuit = 'Q';
inline constexpr char kRcpt = 'R';
inline constexpr char kData = 'T';
inline constexpr char kUnknown = 'U';
}  // namespace command

// Replies (milter to MTA).
inline constexpr char kReplyAddRecipient = '+';
inline constexpr char kReplyDeleteRecipient = '-';
inline constexpr char kReplyAddRecipientWithArgs = '2';
inline constexpr char kReplyShutdown = '4';
inline constexpr char kReplyAccept = 'a';
inline constexpr char kReplyReplaceBody = 'b';
inline constexpr char kReplyContinue = 'c';
inline constexpr char kReplyDiscard = 'd';
inline constexpr char kReplyChangeSender = 'e';
inline constexpr char kReplyConnectionFailure = 'f';
inline constexpr char kReplyAddHeader = 'h';
inline constexpr char kReplyInsertHeader = 'i';
inline constexpr char kReplyChangeHeader = 'm';
inline constexpr char kReplyProgress = 'p';
inline constexpr char kReplyQuarantine = 'q';
inline constexpr char kReplyReject = 'r';
inline constexpr char kReplySkip = 's';
inline constexpr char kReplyTempfail = 't';
inline constexpr char kReplyReplyCode = 'y';

// Actions the MTA allows (SMFIF_*): all of them.
inline constexpr uint32_t kActionAddHeaders = 0x01;
inline constexpr uint32_t kActionChangeBody = 0x02;
inline constexpr uint32_t kActionAddRecipients = 0x04;
inline constexpr uint32_t kActionDeleteRecipients = 0x08;
inline constexpr uint32_t kActionChangeHeaders = 0x10;
inline constexpr uint32_t kActionQuarantine = 0x20;
inline constexpr uint32_t kActionChangeSender = 0x40;
inline constexpr uint32_t kActionAddRecipientsWithArgs = 0x80;
inline constexpr uint32_t kActionSetMacroList = 0x100;
inline constexpr uint32_t kAllActions = 0x1ff;

// Protocol steps a milter may ask to skip or not to answer (SMFIP_*).
inline constexpr uint32_t kNoConnect = 0x01;
inline constexpr uint32_t kNoHelo = 0x02;
inline constexpr uint32_t kNoMail = 0x04;
inline constexpr uint32_t kNoRcpt = 0x08;
inline constexpr uint32_t kNoBody = 0x10;
inline constexpr uint32_t kNoHeaders = 0x20;
inline constexpr uint32_t kNoEndOfHeaders = 0x40;
inline constexpr uint32_t kNoHeaderReply = 0x80;
inline constexpr uint32_t kNoUnknown = 0x100;
inline constexpr uint32_t kNoData = 0x200;
inline constexpr uint32_t kSkip = 0x400;
inline constexpr uint32_t kRejectedRecipients = 0x800;
inline constexpr uint32_t kNoReplyConnect = 0x1000;
inline constexpr uint32_t kNoReplyHelo = 0x2000;
inline constexpr uint32_t kNoReplyMail = 0x4000;
inline constexpr uint32_t kNoReplyRcpt = 0x8000;
inline constexpr uint32_t kNoReplyData = 0x10000;
inline constexpr uint32_t kNoReplyUnknown = 0x20000;
inline constexpr uint32_t kNoReplyEndOfHeaders = 0x40000;
inline constexpr uint32_t kNoReplyBody = 0x80000;
inline constexpr uint32_t kHeaderLeadingSpace = 0x100000;

// The steps the MTA offers for a protocol version (Postfix's masks): a
// milter of an older version is never sent what its version lacks.
uint32_t ProtocolStepsOf(int version, bool no_header_reply);

// Macro stages of a milter's own macro lists (SMFIM_*), in the order of
// the option negotiation reply.
enum class MacroStage : uint32_t { kConnect = 0, kHelo, kMail, kRcpt, kData, kEndOfMessage, kEndOfHeaders };
inline constexpr size_t kMacroStages = 7;

inline constexpr size_t kBodyChunk = 65535;       // body bytes per kBody packet
inline constexpr size_t kMaxReplyData = 1 << 24;  // a longer reply is a broken milter

// One packet: the command (or reply) byte and its data.
std::string Packet(char command, std::string_view data);
// Data of NUL-terminated strings.
std::string Strings(const std::vector<std::string>& strings);
std::string OptionNegotiation(uint32_t version, uint32_t actions, uint32_t steps);
// command::kMacro for the command `stage` (command::kConnect...): name,
// value pairs.
std::string Macros(char stage, const std::vector<std::pair<std::string, std::string>>& macros);
// The data of kConnect: family '4', '6', 'L' (unix) or 'U' (unknown: no
// port, no address).
std::string ConnectData(std::string_view host, char family, uint16_t port, std::string_view address);

// A reply, as read off the wire.
struct ReplyPacket {
  char code = 0;
  std::string data;
};

// Reads packets from the bytes received so far.
class PacketReader {
 public:
  void Feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next complete packet, nullopt when more bytes are needed, or an
  // error for a packet too short or too long.
  Result<std::optional<ReplyPacket>> Next();

 private:
  std::string buffer_;
};

// The option negotiation reply.
struct Negotiated {
  uint32_t version = 0;
  uint32_t actions = 0;
  uint32_t steps = 0;
  // The milter's own macro lists (kActionSetMacroList), by MacroStage.
  std::vector<std::pair<MacroStage, std::string>> macro_lists;
};
Result<Negotiated> ParseNegotiation(std::string_view data);

// The NUL-terminated strings of a reply's data, in order; an error when
// the data does not end in NUL.
Result<std::vector<std::string>> ParseStrings(std::string_view data);
// A 32-bit index followed by strings (kReplyChangeHeader, kReplyInsertHeader).
Result<std::pair<uint32_t, std::vector<std::string>>> ParseIndexedStrings(std::string_view data);

}  // namespace postern::milter
