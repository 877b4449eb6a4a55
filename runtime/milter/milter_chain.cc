// milter_chain.cc: see milter_chain.h.
#include "runtime/milter/milter_chain.h"

namespace postern::milter {
namespace asio = boost::asio;

MilterChain::MilterChain(asio::any_io_executor executor, const std::vector<MilterSettings>& milters,
                         std::function<void(const std::string&)> warn) {
  for (const MilterSettings& settings : milters) {
    milters_.push_back(std::make_unique<MilterClient>(executor, settings, warn));
  }
}

asio::awaitable<Outcome> MilterChain::Handle(const MilterEvent& event, MessageEditor* message) {
  if (event.abort_first) co_await Abort();
  using Kind = MilterEvent::Kind;
  auto arg = [&] { return event.args.empty() ? std::string() : event.args.front(); };
  for (auto& m : milters_) {
    Outcome outcome;
    switch (event.kind) {
      case Kind::kConnect:
        outcome = co_await m->Connect(event.client, event.macros);
        break;
      case Kind::kHelo:
        outcome = co_await m->Helo(arg(), event.macros);
        break;
      case Kind::kMail:
        outcome = co_await m->Mail(event.args, event.macros);
        break;
      case Kind::kRcpt:
        outcome = co_await m->Rcpt(event.args, event.macros);
        break;
      case Kind::kData:
        outcome = co_await m->Data(event.macros);
        break;
      case Kind::kUnknown:
        outcome = co_await m->Unknown(arg(), event.macros);
        break;
      case Kind::kMessage:
        outcome = co_await m->Message(*message, event.macros);
        break;
    }
    if (outcome) co_return outcome;
  }
  co_return std::nullopt;
}

asio::awaitable<void> MilterChain::Abort() {
  for (auto& m : milters_) co_await m->Abort();
}

asio::awaitable<void> MilterChain::Quit(int aborts) {
  for (int i = 0; i < aborts; ++i) co_await Abort();
  for (auto& m : milters_) co_await m->Quit();
}

}  // namespace postern::milter
