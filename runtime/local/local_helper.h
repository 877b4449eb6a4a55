// local_helper.h: local delivery with the recipient's privileges, as
// local(8) does it, while posternd itself runs unprivileged.
//
// Started as root before posternd drops its privileges, the helper is a
// set of processes (one per channel, single-threaded) that keep root and do
// nothing but local and pipe(8) deliveries. For each request it decides
// itself what to do (local_authority.h: the image it loads, never the
// daemon's word, says which user, command, file or mailbox), then forks a
// worker that becomes that user (or default_privs; for a pipe service its
// user=, after its chroot=), never root, and runs DeliverLocally or
// DeliverToPipe there.
// posternd talks to it over socket pairs (one per concurrent delivery);
// when posternd exits, the sockets close and the helper ends.
//
// Its second task: the certificate and key files a trusted image names for
// smtpd's TLS (tls/server_tls_files.h), read as root, so that a reload can
// serve a renewed certificate whose key only root may read. It reads no
// other file for the daemon.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mail/lookup_table.h"
#include "runtime/delivery/local_delivery.h"
#include "runtime/local/local_authority.h"
#include "runtime/tls/server_tls_files.h"
#include "util/status.h"

namespace postern::local {

class LocalHelper {
 public:
  // Forks the helper: one process per channel, `delivery_channels` for
  // deliveries and one for TLS file reads; a channel serves its one kind of
  // request. Images come from `images` (posternd -i). `users` stands in for
  // the system's user database when not null (passwd(5) lines by name).
  // `mail_owner` is the user posternd runs as, which no pipe service may
  // use.
  static Result<std::unique_ptr<LocalHelper>> Start(const std::string& images,
                                                    std::shared_ptr<const mail::LookupTable> users,
                                                    const Identity& mail_owner, int delivery_channels = 4);
  ~LocalHelper();  // closes the channels; the helper exits
  LocalHelper(const LocalHelper&) = delete;
  LocalHelper& operator=(const LocalHelper&) = delete;

  // Blocking; thread-safe (waits for a free channel).
  mail::DeliveryStatus Deliver(const LocalHelperRequest& request);
  // One status for all of the request's recipients. Blocking; thread-safe.
  mail::DeliveryStatus Pipe(const PipeHelperRequest& request);
  // The TLS files of smtpd service `service` of image `image_id` (nullopt:
  // it offers no TLS). Blocking; thread-safe.
  Result<std::optional<tls::ServerTlsFiles>> ReadTlsFiles(const std::string& image_id, const std::string& service);

  // After posternd splits: this process keeps the channels of one task and
  // closes the others, so that the SMTP process cannot ask for deliveries
  // and the delivery process cannot ask for keys.
  enum class Task { kDeliver, kTlsFiles };
  void KeepOnly(Task task);

 private:
  LocalHelper(std::vector<pid_t> pids, std::vector<int> channels);
  // One request and its answer on a free channel; false when the helper is gone.
  bool Exchange(const std::string& request, std::string* answer);

  std::vector<pid_t> pids_;  // one helper process per channel
  std::mutex mutex_;
  std::vector<int> free_;  // delivery channels not in use
  std::vector<int> all_;   // delivery channels
  std::mutex tls_mutex_;
  int tls_channel_ = -1;
  std::condition_variable_any available_;
};

}  // namespace postern::local
