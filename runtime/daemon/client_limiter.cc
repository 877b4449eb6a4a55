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
      bool stale = old(c.recent) && old(c.messages) && old(c.recipients);
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

bool ClientLimiter::CountEvent(const std::string& address, Event event, const ClientLimits& limits,
                               int64_t now_seconds) {
  int64_t limit = event == Event::kMessage ? limits.message_rate_limit : limits.recipient_rate_limit;
  if (limit <= 0) return true;
  std::lock_guard lock(mutex_);
  Client& c = clients_[address];
  std::deque<int64_t>& times = event == Event::kMessage ? c.messages : c.recipients;
  while (!times.empty() && times.front() <= now_seconds - limits.rate_window_seconds) times.pop_front();
  if (static_cast<int64_t>(times.size()) >= limit) return false;
  times.push_back(now_seconds);
  return true;
}

void ClientLimiter::Release(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = clients_.find(address);
  if (it == clients_.end()) return;
  const Client& c = it->second;
  if (--it->second.active <= 0 && c.recent.empty() && c.messages.empty() && c.recipients.empty()) clients_.erase(it);
}

}  // namespace postern::daemon
