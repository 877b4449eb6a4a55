// milter_chain.h: the milters of one SMTP session (smtpd_milters), asked
// in the order listed; the first that answers anything but "continue"
// decides, and the ones after it are not asked about that event (Postfix's
// milter.c). The edits of one milter are in the message the next one sees.
// Runs on the session's executor. Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/milter/milter_client.h"
#include "util/asio.h"

namespace postern::milter {

class MilterChain {
 public:
  MilterChain(boost::asio::any_io_executor executor, const std::vector<MilterSettings>& milters,
              std::function<void(const std::string&)> warn);

  // kMessage: `message` takes the edits.
  boost::asio::awaitable<Outcome> Handle(const MilterEvent& event, MessageEditor* message);
  boost::asio::awaitable<void> Abort();
  // The session is over: `aborts` SMFIC_ABORTs, then SMFIC_QUIT.
  boost::asio::awaitable<void> Quit(int aborts);

 private:
  std::vector<std::unique_ptr<MilterClient>> milters_;
};

}  // namespace postern::milter
