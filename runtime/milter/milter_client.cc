// milter_client.cc: see milter_client.h.
#include "runtime/milter/milter_client.h"

#include <cctype>
#include <cstdio>

#include "runtime/net/stream_connect.h"
#include "util/strings.h"

namespace postern::milter {
namespace asio = boost::asio;

namespace {

constexpr uint32_t kNeverSent =
    kNoConnect | kNoHelo | kNoMail | kNoRcpt | kNoBody | kNoHeaders | kNoEndOfHeaders | kNoUnknown | kNoData;

const char* CommandName(char command) {
  switch (command) {
    case command::kAbort:
      return "SMFIC_ABORT";
    case command::kBody:
      return "SMFIC_BODY";
    case command::kConnect:
      return "SMFIC_CONNECT";
    case command::kEndOfBody:
      return "SMFIC_BODYEOB";
    case command::kHelo:
      return "SMFIC_HELO";
    case command::kHeader:
      return "SMFIC_HEADER";
    case command::kMail:
      return "SMFIC_MAIL";
    case command::kEndOfHeaders:
      return "SMFIC_EOH";
    case command::kOptionNegotiation:
      return "SMFIC_OPTNEG";
    case command::kRcpt:
      return "SMFIC_RCPT";
    case command::kData:
      return "SMFIC_DATA";
    case command::kUnknown:
      return "SMFIC_UNKNOWN";
    default:
      return "(unknown MTA event)";
  }
}

std::optional<MacroStage> StageOf(char command) {
  switch (command) {
    case command::kConnect:
      return MacroStage::kConnect;
    case command::kHelo:
      return MacroStage::kHelo;
    case command::kMail:
      return MacroStage::kMail;
    case command::kRcpt:
      return MacroStage::kRcpt;
    case command::kData:
      return MacroStage::kData;
    case command::kHeader:
    case command::kEndOfHeaders:
      return MacroStage::kEndOfHeaders;
    case command::kBody:
    case command::kEndOfBody:
      return MacroStage::kEndOfMessage;
    default:
      return std::nullopt;
  }
}

bool ConnectionLevel(char command) { return command == command::kConnect || command == command::kHelo; }

Response SmtpReply(std::string text) { return Response{Response::Kind::kReply, std::move(text)}; }

// SMFIR_REPLYCODE: "4xx" or "5xx", a space or a dash, and an enhanced
// status code, if any, of the same class.
bool WellFormedReply(const std::string& text) {
  return text.size() >= 4 && (text[0] == '4' || text[0] == '5') && std::isdigit(static_cast<unsigned char>(text[1])) &&
         std::isdigit(static_cast<unsigned char>(text[2])) && (text[3] == ' ' || text[3] == '-') &&
         (text.size() < 5 || !std::isdigit(static_cast<unsigned char>(text[4])) || text[4] == text[0]);
}

// Sendmail treats the text as a format: "%%" is one '%', a lone '%' goes.
std::string Unformat(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
    } else if (i + 1 < text.size()) {
      out += text[++i];
    }
  }
  return out;
}

std::string UpToNul(std::string_view data) { return std::string(data.substr(0, data.find('\0'))); }

}  // namespace

MilterClient::MilterClient(asio::any_io_executor executor, MilterSettings settings,
                           std::function<void(const std::string&)> warn)
    : executor_(executor),
      settings_(std::move(settings)),
      warn_(std::move(warn)),
      socket_(executor),
      deadline_(executor, socket_),
      timeout_(settings_.command_timeout) {}

void MilterClient::Close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  reader_ = PacketReader();
}

Outcome MilterClient::Failed(const std::string& warning) { return Error(warning, false); }

Outcome MilterClient::Misconfigured(const std::string& warning) { return Error(warning, true); }

// Postfix's milter8_comm_error and milter8_conf_error: the milter is done
// for this session and answers with its default action from now on (a
// malformed answer is a configuration problem, not an outage).
Outcome MilterClient::Error(const std::string& warning, bool configuration) {
  if (!warning.empty()) warn_("milter " + settings_.endpoint + ": " + warning);
  Close();
  state_ = State::kError;
  switch (settings_.default_action) {
    case DefaultAction::kAccept:
      default_reply_.reset();
      break;
    case DefaultAction::kQuarantine:
      default_reply_ = Response{Response::Kind::kHold, ""};
      break;
    case DefaultAction::kReject:
    case DefaultAction::kTempfail:
      default_reply_ = SmtpReply(configuration ? "451 4.3.5 Server configuration problem - try again later"
                                 : settings_.default_action == DefaultAction::kReject
                                     ? "550 5.5.0 Service unavailable"
                                     : "451 4.7.1 Service unavailable - try again later");
      break;
  }
  return default_reply_;
}

Outcome MilterClient::Persist(Outcome outcome) {
  Close();
  state_ = State::kRejectConnection;
  default_reply_ = outcome;
  return outcome;
}

asio::awaitable<bool> MilterClient::Send(const std::string& bytes) {
  boost::system::error_code ec;
  deadline_.Arm(timeout_);
  co_await asio::async_write(socket_, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  deadline_.Disarm();
  if (ec) {
    Failed("error writing command: " + (deadline_.expired() ? std::string("Connection timed out") : ec.message()));
    co_return false;
  }
  co_return true;
}

asio::awaitable<Result<ReplyPacket>> MilterClient::Receive(char command) {
  std::array<char, 8192> buffer;
  while (true) {
    Result<std::optional<ReplyPacket>> next = reader_.Next();
    if (!next.ok()) co_return next.status();
    if (next->has_value()) co_return std::move(**next);
    boost::system::error_code ec;
    deadline_.Arm(timeout_);
    size_t n = co_await socket_.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    deadline_.Disarm();
    if (ec) {
      std::string why = deadline_.expired()      ? "Connection timed out"
                        : ec == asio::error::eof ? "Connection closed"
                                                 : ec.message();
      co_return Status::Temporary(std::string("can't read ") + CommandName(command) + " reply packet header: " + why);
    }
    reader_.Feed(std::string_view(buffer.data(), n));
  }
}

asio::awaitable<void> MilterClient::Open() {
  boost::system::error_code ec;
  deadline_.Arm(settings_.connect_timeout);
  ec = co_await net::ConnectStream(socket_, settings_.endpoint);
  deadline_.Disarm();
  if (ec) {
    warn_("connect to Milter service " + settings_.endpoint + ": " +
          (deadline_.expired() ? std::string("Connection timed out") : ec.message()));
    Failed("");
    co_return;
  }
  timeout_ = settings_.command_timeout;
  offered_steps_ = ProtocolStepsOf(settings_.version, settings_.no_header_reply);
  if (!co_await Send(OptionNegotiation(static_cast<uint32_t>(settings_.version), kAllActions, offered_steps_))) {
    co_return;
  }
  Result<ReplyPacket> reply = co_await Receive(command::kOptionNegotiation);
  if (!reply.ok()) {
    Failed(reply.status().message());
    co_return;
  }
  if (reply->code != command::kOptionNegotiation) {
    Failed(std::string("unexpected reply \"") + reply->code + "\" in initial handshake");
    co_return;
  }
  Result<Negotiated> negotiated = ParseNegotiation(reply->data);
  if (!negotiated.ok()) {
    Failed(negotiated.status().message());
    co_return;
  }
  if (negotiated->version > static_cast<uint32_t>(settings_.version)) {
    Failed("protocol version " + std::to_string(negotiated->version) + " conflict with MTA protocol version " +
           std::to_string(settings_.version));
    co_return;
  }
  if ((negotiated->actions & kAllActions) != negotiated->actions) {
    char text[96];
    std::snprintf(text, sizeof text, "request mask 0x%x conflict with MTA request mask 0x%x", negotiated->actions,
                  kAllActions);
    Failed(text);
    co_return;
  }
  actions_ = negotiated->actions;
  steps_ = negotiated->steps;
  // Never send what the milter's (older) protocol version lacks.
  int version = std::min<int>(settings_.version, static_cast<int>(negotiated->version));
  offered_steps_ &= ProtocolStepsOf(version, settings_.no_header_reply);
  for (const auto& [stage, names] : negotiated->macro_lists)
    own_macros_[static_cast<size_t>(stage)] = SplitAny(names, " ,\t");
  state_ = State::kReady;
  default_reply_.reset();
  skipped_command_ = 0;
}

std::vector<std::pair<std::string, std::string>> MilterClient::MacroPairs(char command,
                                                                          const MacroValues& values) const {
  const std::vector<std::string>* names = &settings_.unknown_command_macros;
  if (std::optional<MacroStage> stage = StageOf(command)) {
    size_t i = static_cast<size_t>(*stage);
    names = own_macros_[i] ? &*own_macros_[i] : &settings_.macros[i];
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& name : *names) {
    std::string_view key = name;
    if (key.size() > 2 && key.front() == '{' && key.back() == '}') key = key.substr(1, key.size() - 2);
    if (auto it = values.find(key); it != values.end()) pairs.emplace_back(name, it->second);
  }
  return pairs;
}

asio::awaitable<Outcome> MilterClient::Event(char command, uint32_t skip_step, bool no_reply, const MacroValues& macros,
                                             std::string data, MessageEditor* message) {
  if (!socket_.is_open() || default_reply_) co_return default_reply_;
  if ((skip_step & kNeverSent & ~offered_steps_) != 0) co_return default_reply_;
  if (skipped_command_ != 0) {
    if (command == skipped_command_) co_return default_reply_;
    skipped_command_ = 0;
  }
  std::string out;
  if (auto pairs = MacroPairs(command, macros); !pairs.empty()) out = Macros(command, pairs);
  bool skipped = (skip_step & steps_) != 0;
  if (!skipped) out += Packet(command, data);
  if (!out.empty()) {
    bool sent = co_await Send(out);  // GCC 12: no co_await inside && or ||
    if (!sent) co_return default_reply_;
  }
  if (skipped || no_reply) co_return default_reply_;
  co_return co_await Answer(command, message);
}

asio::awaitable<Outcome> MilterClient::Answer(char command, MessageEditor* message) {
  bool replacing_body = false;  // SMFIR_REPLBODY packets are coming
  bool body_replaced = false;
  bool edit_failed = false;
  // A milter lost half way through a new body leaves no message to store,
  // whatever its default action says: the client is told to try again.
  auto broken = [&](Outcome outcome) -> Outcome {
    if (!replacing_body) return outcome;
    return SmtpReply("451 4.3.0 Error: milter lost while replacing the message body");
  };
  auto finish_body = [&] {
    if (!message->EndBody().ok()) edit_failed = true;
    replacing_body = false;
    body_replaced = true;
  };
  auto unexpected_data = [&](char code, size_t n) {
    return broken(Failed(std::string("reply ") + code + " was followed by " + std::to_string(n) + " data bytes"));
  };
  Outcome result;
  while (true) {
    Result<ReplyPacket> reply = co_await Receive(command);
    if (!reply.ok()) co_return broken(Failed(reply.status().message()));
    if (replacing_body && reply->code != kReplyReplaceBody) finish_body();
    const std::string& data = reply->data;
    switch (reply->code) {
      case kReplyProgress:
        if (!data.empty()) co_return unexpected_data(reply->code, data.size());
        continue;
      case kReplyContinue:
        if (!data.empty()) co_return unexpected_data(reply->code, data.size());
        result = default_reply_;
        break;
      case kReplyAccept:
        if (!data.empty()) co_return unexpected_data(reply->code, data.size());
        if (ConnectionLevel(command)) {
          Close();
          state_ = State::kAcceptConnection;
        } else {
          state_ = State::kAcceptMessage;
        }
        result = default_reply_;
        break;
      case kReplyDiscard:
        if (!data.empty()) co_return unexpected_data(reply->code, data.size());
        if (ConnectionLevel(command)) {
          warn_("milter " + settings_.endpoint + ": DISCARD action is not allowed for connect or helo");
          result = default_reply_;
        } else {
          state_ = State::kAcceptMessage;
          result = Response{Response::Kind::kDiscard, ""};
        }
        break;
      case kReplyReject:
      case kReplyTempfail: {
        if (!data.empty()) co_return unexpected_data(reply->code, data.size());
        Response r = SmtpReply(reply->code == kReplyReject ? "550 5.7.1 Command rejected"
                                                           : "451 4.7.1 Service unavailable - try again later");
        result = ConnectionLevel(command) ? Persist(r) : Outcome(r);
        break;
      }
      case kReplyShutdown:
        if (!data.empty()) co_return unexpected_data(reply->code, data.size());
        result = Persist(Response{Response::Kind::kShutdown, ""});
        break;
      case kReplyReplyCode: {
        std::string text = UpToNul(data);
        if (!WellFormedReply(text)) co_return broken(Misconfigured("malformed reply: " + text));
        Response r = SmtpReply(Unformat(text));
        result = ConnectionLevel(command) ? Persist(r) : Outcome(r);
        break;
      }
      case kReplyQuarantine:
        default_reply_ = Response{Response::Kind::kHold, ""};
        continue;
      case kReplySkip:
        if (!data.empty()) co_return unexpected_data(reply->code, data.size());
        skipped_command_ = command;
        result = default_reply_;
        break;
      default: {
        if (command != command::kEndOfBody || message == nullptr) {
          co_return broken(Failed(std::string("unexpected filter response ") + reply->code + " after event " +
                                  CommandName(command)));
        }
        std::string space = (steps_ & kHeaderLeadingSpace) != 0 ? "" : " ";
        if (reply->code == kReplyReplaceBody) {
          if (body_replaced) {
            co_return broken(Misconfigured("body replacement requests can't currently be mixed with other requests"));
          }
          replacing_body = true;
          message->AppendBody(data);
          continue;
        }
        bool indexed = reply->code == kReplyChangeHeader || reply->code == kReplyInsertHeader;
        uint32_t index = 0;
        std::vector<std::string> strings;
        if (indexed) {
          auto parsed = ParseIndexedStrings(data);
          if (!parsed.ok()) co_return broken(Failed(parsed.status().message()));
          index = parsed->first;
          strings = parsed->second;
        } else {
          auto parsed = ParseStrings(data);
          if (!parsed.ok()) co_return broken(Failed(parsed.status().message()));
          strings = std::move(parsed).value();
        }
        auto arg = [&](size_t i) { return i < strings.size() ? strings[i] : std::string(); };
        switch (reply->code) {
          case kReplyChangeHeader:
            if (arg(0).empty()) co_return broken(Misconfigured("null change header name"));
            message->ChangeHeader(index == 0 ? 1 : index, arg(0), space, arg(1));
            break;
          case kReplyAddHeader:
            message->AddHeader(arg(0), space, arg(1));
            break;
          case kReplyInsertHeader:
            message->InsertHeader(index, arg(0), space, arg(1));
            break;
          case kReplyChangeSender:
            message->ChangeSender(arg(0), arg(1));
            break;
          case kReplyAddRecipient:
            message->AddRecipient(arg(0), "");
            break;
          case kReplyAddRecipientWithArgs:
            message->AddRecipient(arg(0), arg(1));
            break;
          case kReplyDeleteRecipient:
            message->DeleteRecipient(arg(0));
            break;
          default:
            co_return broken(Failed(std::string("unexpected filter response ") + reply->code + " after event " +
                                    CommandName(command)));
        }
        continue;
      }
    }
    break;
  }
  if (edit_failed && (!result || result->kind == Response::Kind::kHold ||
                      (result->kind == Response::Kind::kReply && result->reply[0] == '5'))) {
    result = SmtpReply("451 4.3.0 Error: queue file write error");
  }
  co_return result;
}

asio::awaitable<Outcome> MilterClient::Connect(const ClientInfo& client, const MacroValues& macros) {
  co_await Open();
  if (state_ != State::kReady) co_return default_reply_;
  state_ = State::kEnvelope;
  std::string host = client.name != "unknown" ? client.name : "[" + client.address + "]";
  std::string data = ConnectData(host, client.ipv6 ? '6' : '4', client.port, client.address);
  co_return co_await Event(command::kConnect, kNoConnect, (steps_ & kNoReplyConnect) != 0, macros, std::move(data));
}

asio::awaitable<Outcome> MilterClient::Helo(const std::string& name, const MacroValues& macros) {
  if (state_ != State::kEnvelope && state_ != State::kAcceptMessage) co_return default_reply_;
  co_return co_await Event(command::kHelo, kNoHelo, (steps_ & kNoReplyHelo) != 0, macros, name + '\0');
}

asio::awaitable<Outcome> MilterClient::Mail(const std::vector<std::string>& args, const MacroValues& macros) {
  if (state_ != State::kEnvelope) co_return default_reply_;
  co_return co_await Event(command::kMail, kNoMail, (steps_ & kNoReplyMail) != 0, macros, Strings(args));
}

asio::awaitable<Outcome> MilterClient::Rcpt(const std::vector<std::string>& args, const MacroValues& macros) {
  if (state_ != State::kEnvelope) co_return default_reply_;
  co_return co_await Event(command::kRcpt, kNoRcpt, (steps_ & kNoReplyRcpt) != 0, macros, Strings(args));
}

asio::awaitable<Outcome> MilterClient::Data(const MacroValues& macros) {
  if (state_ != State::kEnvelope) co_return default_reply_;
  co_return co_await Event(command::kData, kNoData, (steps_ & kNoReplyData) != 0, macros, "");
}

asio::awaitable<Outcome> MilterClient::Unknown(const std::string& command, const MacroValues& macros) {
  if (state_ != State::kEnvelope) co_return default_reply_;
  co_return co_await Event(command::kUnknown, kNoUnknown, (steps_ & kNoReplyUnknown) != 0, macros, command + '\0');
}

asio::awaitable<Outcome> MilterClient::Message(MessageEditor& message, const MacroValues& macros) {
  if (state_ != State::kEnvelope) co_return default_reply_;
  state_ = State::kMessage;
  timeout_ = settings_.content_timeout;
  auto done = [&](const Outcome& o) { return o.has_value() || state_ != State::kMessage; };
  Outcome outcome;
  for (const auto& [name, value] : message.Headers()) {
    std::string_view v = value;
    if ((steps_ & kHeaderLeadingSpace) == 0 && v.starts_with(' ')) v.remove_prefix(1);
    outcome = co_await Event(command::kHeader, kNoHeaders, (steps_ & kNoHeaderReply) != 0, macros,
                             name + '\0' + std::string(v) + '\0');
    if (done(outcome)) break;
  }
  if (!done(outcome)) {
    outcome = co_await Event(command::kEndOfHeaders, kNoEndOfHeaders, (steps_ & kNoReplyEndOfHeaders) != 0, macros, "");
  }
  for (uint64_t offset = 0; !done(outcome) && offset < message.body_size() && skipped_command_ != command::kBody;) {
    Result<std::string> chunk = message.ReadBody(offset, kBodyChunk);
    if (!chunk.ok() || chunk->empty()) {
      outcome = SmtpReply("451 4.3.0 Error: queue file read error");
      break;
    }
    offset += chunk->size();
    outcome = co_await Event(command::kBody, kNoBody, (steps_ & kNoReplyBody) != 0, macros, std::move(chunk).value());
  }
  if (!done(outcome)) outcome = co_await Event(command::kEndOfBody, 0, false, macros, "", &message);
  timeout_ = settings_.command_timeout;
  if (state_ == State::kMessage) state_ = State::kEnvelope;
  // A quarantine is for this message only.
  if (state_ != State::kError && default_reply_ && default_reply_->kind == Response::Kind::kHold) {
    default_reply_.reset();
  }
  co_return outcome;
}

asio::awaitable<void> MilterClient::Abort() {
  if (state_ != State::kEnvelope && state_ != State::kMessage && state_ != State::kAcceptMessage) co_return;
  if (!socket_.is_open()) co_return;
  bool sent = co_await Send(Packet(command::kAbort, ""));
  if (sent && state_ != State::kError) state_ = State::kEnvelope;
}

asio::awaitable<void> MilterClient::Quit() {
  if ((state_ == State::kEnvelope || state_ == State::kMessage || state_ == State::kAcceptMessage) &&
      socket_.is_open()) {
    co_await Send(Packet(command::kQuit, ""));
  }
  Close();
  state_ = State::kClosed;
}

}  // namespace postern::milter
