// client_limiter.cc: see client_limiter.h.
#include "runtime/daemon/client_limiter.h"

#include <iterator>

namespace postern::daemon {

ClientLimiter::Verdict ClientLimiter::Admit(const std::string& address, const ClientLimits& limits, int64_t now_seconds,
                                            bool exempt) {
  std::lock_guard lock(mutex_);
  if (++admissions_ % 4096 == 0) {
    for (auto it = clients_.begin(); it != clients_.end();) {
      const Client& c = it->second;
      auto old = [&](const std::deque<int64_t>& d) {
        return d.empty() || d.back() <= now_seconds - limits.rate_window_seconds;
      };
      bool stale = old(c.recent) && old(c.messages) && old(c.recipients) && old(c.auths);
      it = it->second.active == 0 && stale ? clients_.erase(it) : std::next(it);
    }
  }
  Client& c = clients_[address];
  while (!c.recent.empty() && c.recent.front() <= now_seconds - limits.rate_window_seconds) c.recent.pop_front();
  if (!exempt) {
    if (limits.count_limit > 0 && c.active >= limits.count_limit) return Verdict::kTooManyConnections;
    if (limits.rate_limit > 0 && static_cast<int64_t>(c.recent.size()) >= limits.rate_limit) {
      return Verdict::kRateExceeded;
    }
  }
  c.active++;
  if (limits.rate_limit > 0) c.recent.push_back(now_seconds);
  return Verdict::kAdmit;
}

bool ClientLimiter::CountEvent(const std::string& address, Event event, const ClientLimits& limits, int64_t now_seconds,
                               int64_t* rate) {
  int64_t limit = event == Event::kMessage     ? limits.message_rate_limit
                  : event == Event::kRecipient ? limits.recipient_rate_limit
                                               : limits.auth_rate_limit;
  if (limit <= 0) return true;
  std::lock_guard lock(mutex_);
  Client& c = clients_[address];
  std::deque<int64_t>& times = c.Times(event);
  while (!times.empty() && times.front() <= now_seconds - limits.rate_window_seconds) times.pop_front();
  // Refused events count too, as anvil(8) counts them: a client that
  // keeps trying stays over the limit.
  times.push_back(now_seconds);
  if (static_cast<int64_t>(times.size()) <= limit) return true;
  if (rate != nullptr) *rate = static_cast<int64_t>(times.size());
  return false;
}

void ClientLimiter::Release(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = clients_.find(address);
  if (it == clients_.end()) return;
  --it->second.active;
  if (it->second.Idle()) clients_.erase(it);
}

}  // namespace postern::daemon
