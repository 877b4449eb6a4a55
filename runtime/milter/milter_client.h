// milter_client.h: the client of one Milter application for one SMTP
// session, with the states and replies of Postfix's milter8 client
// (MILTER_README): a connection made at the connect event and kept for the
// session, option negotiation (the steps and macros the milter asks for),
// then one event per SMTP stage and the message at its end.
//
// An answer is the milter's decision as an Outcome: nothing (continue),
// an SMTP reply, hold, discard or shutdown. A reject or tempfail at the
// connect or HELO event, and shutdown, hold the milter in that answer for
// the rest of the session; accept at those events means nothing more for
// this session, at later ones nothing more for this message. A milter that
// cannot be reached, times out or breaks the protocol answers with its
// default_action from then on (accept: nothing; reject: 550 5.5.0;
// tempfail: 451 4.7.1; quarantine: hold) and is not asked again.
//
// Runs on the session's executor; one event at a time. Not thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/milter/milter_protocol.h"
#include "runtime/milter/milter_types.h"
#include "util/asio.h"
#include "util/io_deadline.h"

namespace postern::milter {

class MilterClient {
 public:
  // `warn`: one log line ("milter inet:...: ..."), without "warning: ".
  MilterClient(boost::asio::any_io_executor executor, MilterSettings settings,
               std::function<void(const std::string&)> warn);

  boost::asio::awaitable<Outcome> Connect(const ClientInfo& client, const MacroValues& macros);
  boost::asio::awaitable<Outcome> Helo(const std::string& name, const MacroValues& macros);
  // `args`: the address in <>, then the ESMTP parameters as the client sent them.
  boost::asio::awaitable<Outcome> Mail(const std::vector<std::string>& args, const MacroValues& macros);
  boost::asio::awaitable<Outcome> Rcpt(const std::vector<std::string>& args, const MacroValues& macros);
  boost::asio::awaitable<Outcome> Data(const MacroValues& macros);
  boost::asio::awaitable<Outcome> Unknown(const std::string& command, const MacroValues& macros);
  // The message: its headers, the end of headers, its body and its end,
  // with the edits the milter asks for applied to `message` as they come.
  boost::asio::awaitable<Outcome> Message(MessageEditor& message, const MacroValues& macros);
  // The transaction is over (RSET, a new HELO, a message accepted or
  // refused): no reply. The hold a milter asked for ends with the message.
  boost::asio::awaitable<void> Abort();
  // The session is over.
  boost::asio::awaitable<void> Quit();

  const std::string& endpoint() const { return settings_.endpoint; }

 private:
  enum class State {
    kClosed,
    kReady,
    kEnvelope,
    kMessage,
    kAcceptConnection,
    kAcceptMessage,
    kRejectConnection,
    kError
  };

  boost::asio::awaitable<void> Open();
  // Sends the macros of `stage` (a command byte), then the command unless
  // the milter asked to skip it (`skip_step`), then reads its answer
  // unless it asked for none (`no_reply`). `message` takes the edits
  // (end of body only).
  boost::asio::awaitable<Outcome> Event(char command, uint32_t skip_step, bool no_reply, const MacroValues& macros,
                                        std::string data, MessageEditor* message = nullptr);
  // The final answer to `command` after any progress and edits.
  boost::asio::awaitable<Outcome> Answer(char command, MessageEditor* message);
  boost::asio::awaitable<bool> Send(const std::string& bytes);
  boost::asio::awaitable<Result<ReplyPacket>> Receive(char command);
  std::vector<std::pair<std::string, std::string>> MacroPairs(char command, const MacroValues& values) const;
  // Connection-level answers (connect, HELO) persist for the session.
  Outcome Persist(Outcome outcome);
  Outcome Failed(const std::string& warning);         // a communication error ("": logged already)
  Outcome Misconfigured(const std::string& warning);  // a malformed answer
  Outcome Error(const std::string& warning, bool configuration);
  void Close();

  boost::asio::any_io_executor executor_;
  MilterSettings settings_;
  std::function<void(const std::string&)> warn_;
  boost::asio::generic::stream_protocol::socket socket_;
  IoDeadline<boost::asio::generic::stream_protocol::socket> deadline_;
  std::chrono::seconds timeout_;  // of the exchange in progress
  PacketReader reader_;
  State state_ = State::kClosed;
  Outcome default_reply_;       // the persistent answer (Postfix's def_reply)
  uint32_t steps_ = 0;          // what the milter asked to skip or not to answer
  uint32_t offered_steps_ = 0;  // what this MTA offers (milter_protocol)
  uint32_t actions_ = 0;        // the edits it may ask for
  char skipped_command_ = 0;    // SMFIR_SKIP: no more of these
  std::array<std::optional<std::vector<std::string>>, kMacroStages> own_macros_;  // the milter's lists
};

}  // namespace postern::milter
