// client_limiter.cc: see client_limiter.h.
#include "runtime/daemon/client_limiter.h"

#include <iterator>

namespace postern::daemon {

ClientLimiter::Verdict ClientLimiter::Admit(const std::string& address, const ClientLimits& limits, int64_t now_seconds,
                                            bool exempt) {
  std::lock_guard lock(mutex_);
  if (++admissions_ % 4096 == 0) {
    for (auto it = clients_.begin(); it != clients_.end();) {
      bool stale = it->second.recent.empty() || it->second.recent.back() <= now_seconds - limits.rate_window_seconds;
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

void ClientLimiter::Release(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = clients_.find(address);
  if (it == clients_.end()) return;
  if (--it->second.active <= 0 && it->second.recent.empty()) clients_.erase(it);
}

}  // namespace postern::daemon
