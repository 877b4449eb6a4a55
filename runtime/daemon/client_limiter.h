// client_limiter.h: per-client limits, as Postfix's anvil(8) keeps them for
// smtpd: concurrent connections from one address
// (smtpd_client_connection_count_limit), and connections, messages (MAIL
// commands) and recipients (RCPT commands) per anvil_rate_time_unit
// (smtpd_client_{connection,message,recipient}_rate_limit). Clients in
// smtpd_client_event_limit_exceptions are never limited. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace postern::daemon {

struct ClientLimits {
  int64_t count_limit = 50;  // 0: none
  int64_t rate_limit = 0;    // connections per window; 0: none
  int64_t message_rate_limit = 0;
  int64_t recipient_rate_limit = 0;
  int64_t auth_rate_limit = 0;  // smtpd_client_auth_rate_limit: AUTH commands per window
  int64_t rate_window_seconds = 60;
};

class ClientLimiter {
 public:
  enum class Verdict { kAdmit, kTooManyConnections, kRateExceeded };

  // On kAdmit the caller owns one connection slot and must Release() it.
  Verdict Admit(const std::string& address, const ClientLimits& limits, int64_t now_seconds, bool exempt);
  void Release(const std::string& address);

  enum class Event { kMessage, kRecipient, kAuth };
  // Counts one event for a client that was admitted; false when that puts
  // it over its limit for the window (refused events count too, as in
  // anvil(8); `rate`, when given, gets the events in the window).
  bool CountEvent(const std::string& address, Event event, const ClientLimits& limits, int64_t now_seconds,
                  int64_t* rate = nullptr);

 private:
  struct Client {
    int64_t active = 0;
    std::deque<int64_t> recent;  // connection times within the rate window
    std::deque<int64_t> messages, recipients, auths;
    std::deque<int64_t>& Times(Event event) {
      return event == Event::kMessage ? messages : event == Event::kRecipient ? recipients : auths;
    }
    bool Idle() const {
      return active <= 0 && recent.empty() && messages.empty() && recipients.empty() && auths.empty();
    }
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Client> clients_;
  uint64_t admissions_ = 0;  // every so many, idle clients are forgotten
};

}  // namespace postern::daemon
