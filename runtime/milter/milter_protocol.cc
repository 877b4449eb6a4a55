// milter_protocol.cc: see milter_protocol.h.
#include "runtime/milter/milter_protocol.h"

namespace postern::milter {
namespace {

void PutU32(std::string& out, uint32_t v) {
  out += static_cast<char>(v >> 24);
  out += static_cast<char>(v >> 16);
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v);
}

uint32_t GetU32(std::string_view data) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(data[0])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(data[1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(data[2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(data[3]));
}

}  // namespace

uint32_t ProtocolStepsOf(int version, bool no_header_reply) {
  uint32_t steps = kNoConnect | kNoHelo | kNoMail | kNoRcpt | kNoBody | kNoHeaders | kNoEndOfHeaders;
  if (version >= 3) steps |= kNoUnknown;
  if (version >= 4) steps |= kNoData;
  if (version >= 6) {
    steps |= kSkip | kRejectedRecipients | kNoHeaderReply | kNoReplyConnect | kNoReplyHelo | kNoReplyMail |
             kNoReplyRcpt | kNoReplyData | kNoReplyUnknown | kNoReplyEndOfHeaders | kNoReplyBody | kHeaderLeadingSpace;
  }
  if (no_header_reply) steps |= kNoHeaderReply;
  return steps;
}

std::string Packet(char command, std::string_view data) {
  std::string out;
  out.reserve(5 + data.size());
  PutU32(out, static_cast<uint32_t>(data.size() + 1));
  out += command;
  out.append(data);
  return out;
}

std::string Strings(const std::vector<std::string>& strings) {
  std::string out;
  for (const std::string& s : strings) {
    out += s;
    out += '\0';
  }
  return out;
}

std::string OptionNegotiation(uint32_t version, uint32_t actions, uint32_t steps) {
  std::string data;
  PutU32(data, version);
  PutU32(data, actions);
  PutU32(data, steps);
  return Packet(command::kOptionNegotiation, data);
}

std::string Macros(char stage, const std::vector<std::pair<std::string, std::string>>& macros) {
  std::string data(1, stage);
  for (const auto& [name, value] : macros) {
    data += name;
    data += '\0';
    data += value;
    data += '\0';
  }
  return Packet(command::kMacro, data);
}

std::string ConnectData(std::string_view host, char family, uint16_t port, std::string_view address) {
  std::string data(host);
  data += '\0';
  data += family;
  if (family != 'U') {
    data += static_cast<char>(port >> 8);
    data += static_cast<char>(port & 0xff);
    data.append(address);
    data += '\0';
  }
  return data;
}

Result<std::optional<ReplyPacket>> PacketReader::Next() {
  if (buffer_.size() < 4) return std::optional<ReplyPacket>();
  uint32_t length = GetU32(buffer_);
  if (length < 1) return Status::Temporary("bad packet length: 0");
  if (length > kMaxReplyData) {
    return Status::Temporary("unreasonable packet length: " + std::to_string(length));
  }
  if (buffer_.size() < 4 + static_cast<size_t>(length)) return std::optional<ReplyPacket>();
  ReplyPacket reply{buffer_[4], buffer_.substr(5, length - 1)};
  buffer_.erase(0, 4 + static_cast<size_t>(length));
  return std::optional<ReplyPacket>(std::move(reply));
}

Result<Negotiated> ParseNegotiation(std::string_view data) {
  if (data.size() < 12) return Status::Temporary("option negotiation reply too short");
  Negotiated n{GetU32(data), GetU32(data.substr(4)), GetU32(data.substr(8)), {}};
  data.remove_prefix(12);
  while (!data.empty()) {
    if (data.size() < 5) return Status::Temporary("option negotiation reply: a macro list cut short");
    uint32_t stage = GetU32(data);
    data.remove_prefix(4);
    size_t nul = data.find('\0');
    if (nul == std::string_view::npos) return Status::Temporary("option negotiation reply: a macro list without NUL");
    if (stage < kMacroStages)
      n.macro_lists.emplace_back(static_cast<MacroStage>(stage), std::string(data.substr(0, nul)));
    data.remove_prefix(nul + 1);
  }
  return n;
}

Result<std::vector<std::string>> ParseStrings(std::string_view data) {
  std::vector<std::string> strings;
  if (data.empty() || data.back() != '\0') return Status::Temporary("missing string null terminator");
  while (!data.empty()) {
    size_t nul = data.find('\0');
    strings.emplace_back(data.substr(0, nul));
    data.remove_prefix(nul + 1);
  }
  return strings;
}

Result<std::pair<uint32_t, std::vector<std::string>>> ParseIndexedStrings(std::string_view data) {
  if (data.size() < 4) return Status::Temporary("input packet too short for network long");
  uint32_t index = GetU32(data);
  Result<std::vector<std::string>> strings = ParseStrings(data.substr(4));
  if (!strings.ok()) return strings.status();
  return std::make_pair(index, std::move(strings).value());
}

}  // namespace postern::milter
