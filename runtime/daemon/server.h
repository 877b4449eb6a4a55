// server.h: posternd as a whole. Loads and verifies the image, opens the
// queue, binds the listeners (the smtpd services of master.cf on
// inet_interfaces, or --listen), opens the control socket, drops root
// privileges, then serves: an acceptor hands each connection to one of N
// worker threads (one io_context each); reloads (inotify on IMAGES/current,
// SIGHUP, or the control socket's "reload") load and verify the new image
// on their own thread and swap it atomically; SIGTERM/SIGINT stop
// accepting, let transactions in progress finish (421 to idle sessions),
// flush the queue writer and exit. The delivery process
// (delivery_process.h, the queue manager and the agents, forked after the
// privileges are dropped) delivers what was stored; the control socket's
// "flush" runs the deferred queue.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mail/image_signature.h"
#include "mail/lookup_table.h"
#include "runtime/daemon/delivery_process.h"
#include "runtime/daemon/service_notifier.h"
#include "runtime/daemon/serving.h"
#include "runtime/image/image.h"
#include "runtime/queue/queue_lock.h"
#include "runtime/tls/server_tls_files.h"
#include "util/asio.h"
#include "util/shared_slot.h"

namespace postern::daemon {

struct DaemonOptions {
  std::string images;  // an images directory (with `current`) or one image
  // incoming/, hold/, control; empty: queue_directory from the image
  // (queue::QueueDirectoryFor).
  std::string queue_directory;
  // "127.0.0.1:2525", "[::1]:25" (for Image::DefaultSmtpdService), or
  // "submission=127.0.0.1:2587" (for that one); empty: every inet smtpd
  // service of master.cf at its own address.
  std::vector<std::string> listen;
  std::string user;            // run as; empty: mail_owner, when started as root
  unsigned threads = 0;        // worker threads; 0: one per CPU
  std::string control_socket;  // empty: QUEUE/control
  std::string users_file;      // passwd(5) text standing in for the system's users
  int64_t shutdown_grace_seconds = 30;
  std::string dns_servers;   // for delivery and the policy's DNS restrictions; empty: the system's
  bool no_delivery = false;  // queue only: no queue manager
  // Overrides maillog_file ("/dev/stderr" in the foreground, for tests).
  std::optional<std::string> maillog_file;
  // PEM public key files: when given, only images one of them signed are
  // served (runtime/image/image_trust.h); a reload to another is refused.
  std::vector<std::string> signature_keys;
};

class Server {
 public:
  explicit Server(DaemonOptions options);
  ~Server();
  // Runs until SIGTERM/SIGINT; the process exit status.
  int Run();

 private:
  // What to listen on: an address and the smtpd service it serves.
  struct ListenPlan {
    std::string address;
    std::string service;
  };
  Result<std::vector<ListenPlan>> PlanListeners(const image::Image& image) const;
  // Every service posternd listens for made ready in `image`; refused when
  // one of them is not an smtpd service of it, or does not build.
  Result<std::shared_ptr<const ServingImage>> Prepare(std::shared_ptr<const image::Image> image);
  Result<std::shared_ptr<const Serving>> PrepareService(const std::shared_ptr<const image::Image>& image,
                                                        const std::string& service, const ServingImage* current);
  // A reload as the service manager sees it (RELOADING=1, then READY=1).
  std::string Reload(const std::string& why);
  std::string LoadNewImage(const std::string& why);
  Status Listen(const std::vector<ListenPlan>& plan);
  Status OpenControlSocket();
  // Started as root: the user posternd runs as (--user, else mail_owner).
  struct RunAs {
    std::string name;
    uid_t uid;
    gid_t gid;
  };
  Result<RunAs> RunAsUser() const;
  // The certificate and key of a service's view of an image
  // (image::Image::ForService), read directly or by the root helper.
  Result<std::optional<tls::ServerTlsFiles>> ReadTlsFiles(const image::Image& view) const;
  Status DropPrivileges(const RunAs& user);
  void WatchImages();
  boost::asio::awaitable<void> Accept(boost::asio::ip::tcp::acceptor& acceptor, std::string service, MailLog log);
  boost::asio::awaitable<void> ReadInotify();
  boost::asio::awaitable<void> ServeControl();
  boost::asio::awaitable<void> HandleControl(boost::asio::local::stream_protocol::socket socket);
  boost::asio::awaitable<void> ShutDown(std::string why);
  void WatchDeliveryProcess();
  // Address verification: the cache opened (after the fork: the delivery
  // process opens its own), probes sent through the writer.
  void StartVerifier(const image::Image& image);
  Status SendProbe(const std::string& sender, const std::string& address);
  boost::asio::awaitable<void> CleanVerifyCache();
  boost::asio::awaitable<void> KeepWatchdogFed();
  std::string StatusJson(const std::string& reload) const;

  DaemonOptions options_;
  MailLog log_{"posternd"};
  ServiceNotifier notifier_ = ServiceNotifier::FromEnvironment();  // systemd's sd_notify
  std::shared_ptr<LogSink> log_sink_ = std::make_shared<LogSink>();
  std::shared_ptr<const mail::LookupTable> users_;
  std::vector<mail::PublicKey> trusted_keys_;  // --signature-keys; empty: any image is served
  // Whether `image` may be served: signed by a trusted key, when keys are given.
  Status CheckSigned(const image::Image& image) const;
  std::shared_ptr<const vm::RateOracle> rates_;  // shared by every image: rates survive reloads
  SharedSlot<const ServingImage> serving_;
  std::vector<std::string> services_;             // the smtpd services listened for, sorted, once each
  std::unique_ptr<queue::QueueLock> queue_lock_;  // held while the daemon runs
  std::unique_ptr<queue::QueueWriter> writer_;
  std::unique_ptr<verify::AddressVerifier> verifier_;                     // null: its cache could not be opened
  std::unique_ptr<local::LocalHelper> local_helper_;                      // when started as root
  std::unique_ptr<DeliveryProcess> delivery_;                             // unless --no-delivery
  std::unique_ptr<boost::asio::posix::stream_descriptor> delivery_exit_;  // its pidfd
  int exit_status_ = 0;
  DaemonShared shared_;

  // The workers outlive main_: an accept pending on main_ holds a socket of
  // a worker's io_context until main_ is destroyed.
  std::vector<std::unique_ptr<boost::asio::io_context>> workers_;
  boost::asio::io_context reloader_;
  std::optional<boost::asio::thread_pool> lookups_;  // made after the last fork
  // Decisions that ask live tables' servers: as many waiting at once as
  // Postfix would have smtpd processes asking.
  std::optional<boost::asio::thread_pool> table_lookups_;
  std::unique_ptr<dns::AsyncResolver> dns_;  // for the policy's DNS restrictions; null: none could be made
  boost::asio::io_context main_;
  std::vector<std::thread> threads_;
  size_t next_worker_ = 0;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::vector<std::string> acceptor_services_;  // per acceptor: the smtpd service it serves
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> control_;
  std::string control_path_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> inotify_;
  boost::asio::signal_set signals_{main_};
  bool stopping_ = false;
};

}  // namespace postern::daemon
