// server.cc: see server.h.
#include "runtime/daemon/server.h"

#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "mail/parameter_list.h"
#include "mail/passwd_table.h"
#include "runtime/daemon/connection.h"
#include "runtime/daemon/rate_counter.h"
#include "runtime/daemon/tls_context.h"
#include "runtime/image/image_parameters.h"
#include "runtime/image/image_trust.h"
#include "runtime/qmgr/delivery_config.h"
#include "runtime/queue/queue_directory.h"
#include "util/read_file.h"
#include "util/run_on.h"
#include "util/source_file.h"
#include "util/strings.h"

namespace postern::daemon {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// "host:port", "[v6]:port", "port" (all of `hosts`), "smtp" (a service name).
Result<std::vector<tcp::endpoint>> Endpoints(const std::string& spec, const std::vector<std::string>& hosts) {
  std::string host, port = spec;
  if (!spec.empty() && spec.front() == '[') {
    size_t close = spec.find(']');
    if (close == std::string::npos || close + 1 >= spec.size() || spec[close + 1] != ':') {
      return Status::Permanent("bad listen address \"" + spec + "\"");
    }
    host = spec.substr(1, close - 1);
    port = spec.substr(close + 2);
  } else if (size_t colon = spec.rfind(':'); colon != std::string::npos) {
    host = spec.substr(0, colon);
    port = spec.substr(colon + 1);
  }
  long long number = 0;
  if (!ParseDecimal(port, &number)) {
    const struct servent* service = getservbyname(port.c_str(), "tcp");
    if (service == nullptr) return Status::Permanent("unknown service \"" + port + "\" in \"" + spec + "\"");
    number = ntohs(static_cast<uint16_t>(service->s_port));
  }
  if (number <= 0 || number > 65535) return Status::Permanent("bad port in \"" + spec + "\"");
  std::vector<tcp::endpoint> out;
  for (const std::string& h : host.empty() ? hosts : std::vector<std::string>{host}) {
    boost::system::error_code ec;
    asio::ip::address address = asio::ip::make_address(h, ec);
    if (ec) return Status::Permanent("\"" + h + "\" is not a numeric address (in \"" + spec + "\")");
    out.emplace_back(address, static_cast<uint16_t>(number));
  }
  return out;
}

// inet_interfaces as addresses to bind.
std::vector<std::string> InterfaceAddresses(const image::Image& image) {
  std::string protocols = ToLower(image.Text("inet_protocols"));
  bool v4 = protocols.find("ipv4") != std::string::npos || protocols == "all";
  bool v6 = protocols.find("ipv6") != std::string::npos || protocols == "all";
  std::vector<std::string> out;
  for (const std::string& item :
       mail::SplitParameterList(image.Text("inet_interfaces")).value_or(std::vector<std::string>{})) {
    std::string i = ToLower(item);
    if (i == "all") {
      if (v4) out.push_back("0.0.0.0");
      if (v6) out.push_back("::");
    } else if (i == "loopback-only" || i == "localhost") {
      if (v4) out.push_back("127.0.0.1");
      if (v6) out.push_back("::1");
    } else {
      out.push_back(item.size() > 2 && item.front() == '[' ? item.substr(1, item.size() - 2) : item);
    }
  }
  return out;
}

// Whether inotify events in `data` name "current". Each event is copied
// out: the buffer (in a coroutine frame) has no inotify_event alignment.
bool NamesCurrent(const char* data, size_t size) {
  for (size_t at = 0; at + sizeof(struct inotify_event) <= size;) {
    struct inotify_event event;
    std::memcpy(&event, data + at, sizeof event);
    std::string_view name(data + at + sizeof event, std::min<size_t>(event.len, size - at - sizeof event));
    if (name.substr(0, name.find('\0')) == "current") return true;
    at += sizeof event + event.len;
  }
  return false;
}

}  // namespace

Server::Server(DaemonOptions options) : options_(std::move(options)), rates_(std::make_shared<RateCounter>()) {}

Server::~Server() {
  for (auto& w : workers_) w->stop();
  reloader_.stop();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

Result<std::optional<tls::ServerTlsFiles>> Server::ReadTlsFiles(const image::Image& view) const {
  auto files = tls::ReadServerTlsFiles(view, ReadRegularFileFollowingLinks);
  // A key only root may read: the root helper reads what the image names.
  if (!files.ok() && local_helper_) return local_helper_->ReadTlsFiles(view.id(), view.service());
  return files;
}

Result<std::shared_ptr<const Serving>> Server::PrepareService(const std::shared_ptr<const image::Image>& image,
                                                              const std::string& service, const ServingImage* current) {
  std::shared_ptr<const image::Image> view = image->ForService(service);
  auto serving = std::make_shared<Serving>();
  serving->service = service;
  // TLS as the image says, or not this image: a certificate or key that
  // cannot be used never silently turns STARTTLS off.
  auto files = ReadTlsFiles(*view);
  if (!files.ok()) return Status::Permanent("TLS: " + files.status().message());
  serving->tls_key = TlsContextKey(*view, *files);
  std::shared_ptr<const Serving> before = current ? current->Find(service) : nullptr;
  if (before && before->tls && before->tls_key == serving->tls_key) {
    serving->tls = before->tls;  // same settings, same files: the same context
  } else if (*files) {
    auto tls = MakeServerTlsContext(*view, **files);
    if (!tls.ok()) return Status::Permanent("TLS: " + tls.status().message());
    serving->tls = *tls;
  }
  serving->wrapper_mode = image::BoolParameter(*view, "smtpd_tls_wrappermode");
  if (serving->wrapper_mode && !serving->tls) return Status::Permanent("smtpd_tls_wrappermode needs a certificate");
  // With a resolver the sessions fetch the DNS records their policy asks
  // for; without one, every name exists and no list lists anyone.
  std::shared_ptr<const vm::NetworkOracle> dns = dns_ ? nullptr : std::make_shared<vm::OptimisticNetwork>();
  auto context = session::MakeSessionContext(view, serving->tls != nullptr, dns, rates_, users_);
  if (!context.ok()) return context.status();
  serving->session = *context;
  serving->limits.count_limit = image::IntParameter(*view, "smtpd_client_connection_count_limit");
  serving->limits.rate_limit = image::IntParameter(*view, "smtpd_client_connection_rate_limit");
  serving->limits.message_rate_limit = image::IntParameter(*view, "smtpd_client_message_rate_limit");
  serving->limits.recipient_rate_limit = image::IntParameter(*view, "smtpd_client_recipient_rate_limit");
  serving->limits.auth_rate_limit = image::IntParameter(*view, "smtpd_client_auth_rate_limit");
  serving->limits.rate_window_seconds = std::max<int64_t>(image::TimeParameter(*view, "anvil_rate_time_unit"), 1);
  serving->limit_exceptions = image::NetworkListParameter(*view, "smtpd_client_event_limit_exceptions");
  serving->peername_lookup = image::BoolParameter(*view, "smtpd_peername_lookup");
  policy::PolicyClientOptions& policy = serving->policy_client;
  policy.timeout =
      std::chrono::seconds(std::max<int64_t>(1, image::TimeParameter(*view, "smtpd_policy_service_timeout")));
  policy.try_limit = static_cast<int>(image::IntParameter(*view, "smtpd_policy_service_try_limit"));
  policy.retry_delay = std::chrono::seconds(image::TimeParameter(*view, "smtpd_policy_service_retry_delay"));
  policy.max_idle = std::chrono::seconds(image::TimeParameter(*view, "smtpd_policy_service_max_idle"));
  policy.max_ttl = std::chrono::seconds(image::TimeParameter(*view, "smtpd_policy_service_max_ttl"));
  policy.request_limit = image::IntParameter(*view, "smtpd_policy_service_request_limit");
  serving->queue_directory = view->Text("queue_directory");
  uint32_t limit = mail::kDefaultProcessLimit;
  for (const mail::ServiceEntry& s : image->services()) {
    if (s.name == service && s.type == "inet") limit = s.process_limit;
  }
  serving->process_limit = limit == mail::kDefaultProcessLimit
                               ? static_cast<size_t>(image::IntParameter(*view, "default_process_limit"))
                           : limit == 0 ? SIZE_MAX
                                        : limit;
  return std::shared_ptr<const Serving>(std::move(serving));
}

Result<std::shared_ptr<const ServingImage>> Server::Prepare(std::shared_ptr<const image::Image> image) {
  auto serving = std::make_shared<ServingImage>();
  serving->image = image;
  std::shared_ptr<const ServingImage> current = serving_.load();
  for (const std::string& service : services_) {
    if (auto view = image->SmtpdService(service); !view.ok()) {
      return Status::Permanent("posternd listens for service " + service + ": " + view.status().message() +
                               "; restart posternd to change what it listens on");
    }
    auto prepared = PrepareService(image, service, current.get());
    if (!prepared.ok()) {
      return Status::Permanent((services_.size() > 1 ? "service " + service + ": " : std::string()) +
                               prepared.status().message());
    }
    serving->services.emplace(service, *prepared);
  }
  // The delivery process builds its own; an image whose delivery settings
  // do not build is refused here, before anything serves it.
  auto resolver = std::make_shared<const resolve::Resolver>(image, users_);
  if (auto delivery = qmgr::MakeDeliveryContext(image, resolver); !delivery.ok()) return delivery.status();
  return std::shared_ptr<const ServingImage>(std::move(serving));
}

std::string Server::Reload(const std::string& why) {
  notifier_.Reloading();
  std::string result = LoadNewImage(why);
  notifier_.Ready("serving image " + serving_.load()->image->id());
  return result;
}

std::string Server::LoadNewImage(const std::string& why) {
  std::shared_ptr<const ServingImage> current = serving_.load();
  const std::string& old_id = current->image->id();
  auto image = image::Image::Load(options_.images);
  if (image.ok()) {
    if (Status s = CheckSigned(**image); !s.ok()) image = s;
  }
  if (!image.ok()) {
    std::string text = "reload (" + why + ") refused: " + image.status().message() + "; still serving image " + old_id;
    log_.Write("warning: " + text);
    return "refused: " + image.status().message();
  }
  if ((*image)->id() == old_id) {
    // The same configuration; a certificate renewed in place is still news.
    bool same = true;
    for (const auto& [service, serving] : current->services) {
      std::shared_ptr<const image::Image> view = (*image)->ForService(service);
      auto files = ReadTlsFiles(*view);
      same = same && files.ok() && TlsContextKey(*view, *files) == serving->tls_key;
    }
    if (same) return "unchanged";
  }
  auto serving = Prepare(*image);
  if (!serving.ok()) {
    log_.Write("warning: reload (" + why + ") refused: image " + (*image)->id() + ": " + serving.status().message() +
               "; still serving image " + old_id);
    return "refused: " + serving.status().message();
  }
  serving_.store(*serving);
  if ((*image)->id() == old_id) {
    log_.Write("reload (" + why + ") -- image " + old_id + ", TLS certificate or key changed");
  } else {
    log_.Write("reload (" + why + ") -- image " + (*image)->id() + " (was " + old_id + ")");
    std::vector<std::string> before = current->image->SmtpdServices();
    for (const std::string& service : (*image)->SmtpdServices()) {
      if (std::find(before.begin(), before.end(), service) == before.end() &&
          std::find(services_.begin(), services_.end(), service) == services_.end()) {
        log_.Write("warning: service " + service + " is new in image " + (*image)->id() +
                   "; posternd listens for it after a restart");
      }
    }
    if (delivery_) delivery_->Send("reload " + (*image)->id());
    if (verifier_) verifier_->Configure(verify::VerifierSettingsOf(**image));
  }
  return "loaded";
}

Result<std::vector<Server::ListenPlan>> Server::PlanListeners(const image::Image& image) const {
  std::vector<std::string> known = image.SmtpdServices();
  std::vector<ListenPlan> plan;
  for (const std::string& listen : options_.listen) {
    size_t equals = listen.find('=');
    if (equals == std::string::npos) {
      plan.push_back(ListenPlan{listen, image.DefaultSmtpdService()});
      continue;
    }
    ListenPlan p{listen.substr(equals + 1), listen.substr(0, equals)};
    if (std::find(known.begin(), known.end(), p.service) == known.end()) {
      return Status::Permanent("--listen " + listen + ": " + p.service + " is not an inet smtpd service of master.cf");
    }
    plan.push_back(std::move(p));
  }
  if (plan.empty()) {
    for (const std::string& service : known) plan.push_back(ListenPlan{service, service});
  }
  if (plan.empty()) return Status::Permanent("no smtpd service in master.cf and no --listen address");
  return plan;
}

Status Server::Listen(const std::vector<ListenPlan>& plan) {
  const image::Image& image = *serving_.load()->image;
  std::vector<std::string> hosts = InterfaceAddresses(image);
  for (const ListenPlan& p : plan) {
    auto endpoints = Endpoints(p.address, hosts);
    if (!endpoints.ok()) return endpoints.status();
    for (const tcp::endpoint& e : *endpoints) {
      auto acceptor = std::make_unique<tcp::acceptor>(main_);
      boost::system::error_code ec;
      acceptor->open(e.protocol(), ec);
      if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec && e.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
      if (!ec) acceptor->bind(e, ec);
      if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
      std::string where = (e.address().is_v6() ? "[" + e.address().to_string() + "]" : e.address().to_string()) + ":" +
                          std::to_string(e.port());
      if (ec) return Status::Permanent("bind " + where + ": " + ec.message());
      log_.Write("listening on " + where + " for service " + p.service);
      acceptors_.push_back(std::move(acceptor));
      acceptor_services_.push_back(p.service);
    }
  }
  return Status::Ok();
}

Status Server::OpenControlSocket() {
  control_path_ = options_.control_socket;
  unlink(control_path_.c_str());
  control_ = std::make_unique<asio::local::stream_protocol::acceptor>(main_);
  boost::system::error_code ec;
  asio::local::stream_protocol::endpoint endpoint(control_path_);
  control_->open(endpoint.protocol(), ec);
  if (!ec) control_->bind(endpoint, ec);
  if (!ec) control_->listen(16, ec);
  if (ec) return Status::Permanent("control socket " + control_path_ + ": " + ec.message());
  chmod(control_path_.c_str(), 0600);
  return Status::Ok();
}

Result<Server::RunAs> Server::RunAsUser() const {
  std::string user = options_.user;
  if (user.empty()) user = serving_.load()->image->Text("mail_owner");
  errno = 0;
  const struct passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) return Status::Permanent("unknown user \"" + user + "\" (mail_owner or --user)");
  if (pw->pw_uid == 0) return Status::Permanent("refusing to run as \"" + user + "\", which is root");
  return RunAs{user, pw->pw_uid, pw->pw_gid};
}

Status Server::DropPrivileges(const RunAs& user) {
  if (setgroups(0, nullptr) != 0 || setgid(user.gid) != 0 || setuid(user.uid) != 0) {
    return Status::Permanent("cannot become " + user.name + ": " + std::strerror(errno));
  }
  if (setuid(0) == 0) return Status::Permanent("could regain root after dropping privileges");
  log_.Write("running as " + user.name);
  return Status::Ok();
}

void Server::WatchDeliveryProcess() {
  if (!delivery_) return;
  // Mail accepted with nothing to deliver it helps no one: stop, with an
  // exit status a supervisor restarts on, rather than accept in vain.
  delivery_exit_ = std::make_unique<asio::posix::stream_descriptor>(main_, dup(delivery_->pidfd()));
  delivery_exit_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    log_.Write("fatal: the delivery process ended");
    exit_status_ = 1;
    asio::co_spawn(main_, ShutDown("because the delivery process ended"), asio::detached);
  });
}

void Server::WatchImages() {
  std::error_code ec;
  std::string directory = options_.images;
  if (!std::filesystem::is_symlink(directory + "/current", ec)) return;  // one fixed image
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0 || inotify_add_watch(fd, directory.c_str(), IN_MOVED_TO | IN_CREATE) < 0) {
    log_.Write(std::string("warning: inotify on ") + directory + ": " + std::strerror(errno) +
               "; reload with SIGHUP or postern reload");
    if (fd >= 0) close(fd);
    return;
  }
  inotify_ = std::make_unique<asio::posix::stream_descriptor>(main_, fd);
  asio::co_spawn(main_, ReadInotify(), asio::detached);
}

asio::awaitable<void> Server::ReadInotify() {
  std::array<char, 4096> buffer;
  while (!stopping_) {
    boost::system::error_code ec;
    size_t n = co_await inotify_->async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (NamesCurrent(buffer.data(), n)) asio::post(reloader_, [this] { Reload("inotify"); });
  }
}

Status Server::CheckSigned(const image::Image& image) const {
  if (trusted_keys_.empty()) return Status::Ok();
  Result<std::string> signer = image::SignerOf(image, trusted_keys_);
  return signer.ok() ? Status::Ok() : signer.status();
}

// WATCHDOG=1 from the main loop, half the watchdog interval apart: a loop
// that stops turning stops them, and the service manager restarts posternd.
asio::awaitable<void> Server::KeepWatchdogFed() {
  asio::steady_timer timer(main_);
  while (!stopping_) {
    notifier_.Watchdog();
    timer.expires_after(*notifier_.watchdog_period());
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void Server::StartVerifier(const image::Image& image) {
  auto cache = verify::VerifyCache::Open(verify::VerifyCachePath(options_.queue_directory));
  if (!cache.ok()) {
    log_.Write("warning: " + cache.status().message() + "; reject_unverified_* will defer mail");
    return;
  }
  verifier_ = std::make_unique<verify::AddressVerifier>(
      std::move(cache).value(),
      [this](const std::string& sender, const std::string& address) { return SendProbe(sender, address); },
      []() -> int64_t { return time(nullptr); });
  verifier_->Configure(verify::VerifierSettingsOf(image));
  shared_.verifier = verifier_.get();
}

// A probe is a message without content that the queue manager runs up to
// the point of delivery (queue_file.h: verify_probe).
Status Server::SendProbe(const std::string& sender, const std::string& address) {
  if (!delivery_) return Status::Temporary("delivery is off (--no-delivery)");
  queue::QueuedMessage probe;
  probe.id = shared_.ids.Next();
  probe.arrival_time = time(nullptr);
  probe.sender = sender;
  probe.image_id = serving_.load()->image->id();
  probe.verify_probe = true;
  queue::QueuedRecipient recipient;
  recipient.address = address;
  recipient.original = address;
  probe.recipients.push_back(std::move(recipient));
  MailLog log = log_;
  std::string id = probe.id;
  writer_->Submit(probe.id, false, queue::EncodeQueueFile(probe),
                  [log, id](queue::StoreOutcome outcome, const std::string& error) {
                    if (outcome != queue::StoreOutcome::kStored) {
                      log.Write("warning: " + id + ": cannot queue an address verification probe: " + error);
                    }
                  });
  return Status::Ok();
}

// address_verify_cache_cleanup_interval: expired entries go (0: never).
asio::awaitable<void> Server::CleanVerifyCache() {
  asio::steady_timer timer(main_);
  while (!stopping_) {
    int64_t interval = image::TimeParameter(*serving_.load()->image, "address_verify_cache_cleanup_interval");
    timer.expires_after(std::chrono::seconds(interval > 0 ? interval : 3600));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_ || interval <= 0) continue;
    // Off the main thread: a transaction over the whole cache.
    Result<int64_t> removed = co_await RunOn(*lookups_, [this] { return verifier_->Clean(); });
    if (!removed.ok()) {
      log_.Write("warning: address verification cache cleanup: " + removed.status().message());
    } else if (*removed > 0) {
      log_.Write("address verification cache cleanup: " + std::to_string(*removed) + " expired entries removed");
    }
  }
}

std::string Server::StatusJson(const std::string& reload) const {
  std::shared_ptr<const ServingImage> serving = serving_.load();
  nlohmann::json j;
  j["image"] = serving->image->id();
  j["image_path"] = serving->image->path();
  j["connections"] = shared_.registry.size();
  j["stored"] = shared_.stored.load();
  if (delivery_) {
    Result<std::string> stats = delivery_->Stats();
    j["delivery"] =
        stats.ok() ? nlohmann::json::parse(*stats, nullptr, false) : nlohmann::json(stats.status().message());
  }
  if (!reload.empty()) j["reload"] = reload;
  return j.dump() + "\n";
}

asio::awaitable<void> Server::HandleControl(asio::local::stream_protocol::socket socket) {
  std::string line;
  boost::system::error_code ec;
  co_await asio::async_read_until(socket, asio::dynamic_buffer(line, 256), '\n',
                                  asio::redirect_error(asio::use_awaitable, ec));
  std::string command(Trim(line.substr(0, line.find('\n'))));
  std::string reply;
  if (command == "reload") {
    // On the reloader thread, like every reload; then answer from here.
    std::string result = co_await RunOn(reloader_, [this] { return Reload("control"); });
    reply = StatusJson(result);
  } else if (command == "status") {
    reply = StatusJson("");
  } else if (command == "flush" || command == "scan") {
    if (delivery_) delivery_->Send(command);
    reply = delivery_ ? StatusJson("") : "{\"error\":\"delivery is off (--no-delivery)\"}\n";
  } else {
    reply = "{\"error\":\"unknown command; use status, reload, flush or scan\"}\n";
  }
  co_await asio::async_write(socket, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> Server::ServeControl() {
  while (!stopping_) {
    boost::system::error_code ec;
    asio::local::stream_protocol::socket socket =
        co_await control_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_) co_return;
      continue;
    }
    asio::co_spawn(main_, HandleControl(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> Server::Accept(tcp::acceptor& acceptor, std::string service, MailLog log) {
  asio::steady_timer pause(main_);
  while (!stopping_) {
    // The service's process limit (master.cf maxproc, else
    // default_process_limit: Postfix's smtpd process count): beyond it,
    // clients wait in the listen queue, as with Postfix.
    if (shared_.registry.Count(service) >= serving_.load()->Find(service)->process_limit) {
      boost::system::error_code ignored;
      pause.expires_after(std::chrono::milliseconds(20));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      continue;
    }
    asio::io_context& worker = *workers_[next_worker_++ % workers_.size()];
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(worker, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_) co_return;
      log_.Write("warning: accept: " + ec.message());
      pause.expires_after(std::chrono::milliseconds(100));  // EMFILE and friends: do not spin
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<Connection>(std::move(socket), serving_.load()->Find(service), &shared_, log)->Start();
  }
}

asio::awaitable<void> Server::ShutDown(std::string why) {
  stopping_ = true;
  notifier_.Stopping("terminating " + why);
  log_.Write("terminating " + why);
  boost::system::error_code ec;
  for (auto& a : acceptors_) a->close(ec);
  if (control_) control_->close(ec);
  if (inotify_) inotify_->close(ec);
  if (delivery_exit_) delivery_exit_->close(ec);
  shared_.registry.ForEach([](Connection& c) { c.RequestShutdown(); });
  // Sessions finish their transaction within the grace period; then the
  // rest are closed. The registry wakes this wait when the last one goes.
  asio::steady_timer wait(main_,
                          std::chrono::steady_clock::now() + std::chrono::seconds(options_.shutdown_grace_seconds));
  auto wake = [this, &wait] { asio::post(main_, [&wait] { wait.cancel(); }); };
  shared_.registry.OnEmpty(wake);
  co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (shared_.registry.size() > 0) {
    log_.Write("warning: closing " + std::to_string(shared_.registry.size()) + " sessions after the grace period");
    wait.expires_at(asio::steady_timer::time_point::max());
    shared_.registry.OnEmpty(wake);
    shared_.registry.ForEach([](Connection& c) { c.Abort(); });
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (delivery_) delivery_->Stop(std::chrono::seconds(std::min<int64_t>(options_.shutdown_grace_seconds, 10)));
  writer_->Stop();  // everything acknowledged is on disk already; this ends the thread
  unlink(control_path_.c_str());
  main_.stop();
}

int Server::Run() {
  auto fail = [this](const std::string& what) {
    log_.Write("fatal: " + what);
    return 1;
  };
  if (!options_.users_file.empty()) {
    auto file = SourceFile::Read(options_.users_file);
    if (!file.ok()) return fail(file.status().message());
    users_ = mail::ParsePasswdText(file.value()->text());
  }
  if (!options_.signature_keys.empty()) {
    // Read once, at start (as root, for keys only root may read).
    auto keys = image::LoadTrustedKeys(options_.signature_keys);
    if (!keys.ok()) return fail(keys.status().message());
    trusted_keys_ = std::move(keys).value();
  }
  auto image = image::Image::Load(options_.images);
  if (!image.ok()) return fail(image.status().message());
  if (Status s = CheckSigned(**image); !s.ok()) return fail(s.message());
  // The log as main.cf says (maillog_file, or syslog with syslog_facility),
  // opened while still root; programs named $syslog_name/...
  auto sink = std::make_shared<LogSink>();
  std::string maillog_file = options_.maillog_file.value_or((*image)->Text("maillog_file"));
  Status log_opened = sink->Open(maillog_file, (*image)->Text("syslog_facility"));
  log_ = MailLog(sink, (*image)->Text("myhostname"), (*image)->Text("syslog_name"), "posternd");
  if (!log_opened.ok()) {
    if (log_opened.temporary()) {
      log_.Write("warning: " + log_opened.message());
    } else {
      return fail(log_opened.message());
    }
  }
  log_sink_ = sink;
  // queue_directory, unless -q says otherwise; never Postfix's own queue,
  // whose layout posternd's would collide with.
  if (options_.queue_directory.empty()) {
    options_.queue_directory = queue::QueueDirectoryFor((*image)->Text("queue_directory"));
  }
  if (options_.control_socket.empty()) options_.control_socket = options_.queue_directory + "/control";
  auto plan = PlanListeners(**image);
  if (!plan.ok()) return fail(plan.status().message());
  for (const ListenPlan& p : *plan) services_.push_back(p.service);
  std::sort(services_.begin(), services_.end());
  services_.erase(std::unique(services_.begin(), services_.end()), services_.end());
  // DNS for the policy's restrictions (the delivery process has its own).
  dns::ResolverOptions dns_options;
  dns_options.servers = options_.dns_servers;
  if (auto dns = dns::AsyncResolver::Create(dns_options); dns.ok()) {
    dns_ = std::move(dns).value();
    shared_.dns = dns_.get();
  } else {
    log_.Write("warning: DNS: " + dns.status().message() + "; DNS restrictions will never reject");
  }
  auto serving = Prepare(*image);
  if (!serving.ok()) return fail("image " + (*image)->id() + ": " + serving.status().message());
  serving_.store(*serving);
  // As root: the queue directories for the user posternd becomes (no link
  // followed, no file touched), the ports, the local delivery helper; then
  // the privileges go, before the queue is locked, read or written.
  bool root = getuid() == 0 || geteuid() == 0;
  std::optional<RunAs> run_as;
  if (root) {
    auto user = RunAsUser();
    if (!user.ok()) return fail(user.status().message());
    run_as = *user;
  }
  std::optional<queue::QueueOwner> owner;
  if (run_as) owner = queue::QueueOwner{run_as->uid, run_as->gid};
  if (Status s = queue::PrepareQueueDirectories(options_.queue_directory, owner); !s.ok()) {
    return fail("queue: " + s.message());
  }
  if (Status s = Listen(*plan); !s.ok()) return fail(s.message());
  if (root) {
    // Local deliveries need the recipients' privileges, and a reload may
    // need a TLS key only root can read.
    auto helper = local::LocalHelper::Start(options_.images, users_, local::Identity{run_as->uid, run_as->gid, "/"});
    if (!helper.ok()) return fail("local delivery helper: " + helper.status().message());
    local_helper_ = std::move(helper).value();
    // The helper trusts only images root owns and nobody else can write:
    // say now, not at the first local delivery, when these are not.
    if (auto trusted = local::LoadTrustedImage(options_.images, (*image)->id()); !trusted.ok()) {
      log_.Write("warning: the root helper will refuse local deliveries and TLS key reads for this image: " +
                 trusted.status().message());
    }
  }
  if (run_as) {
    if (Status s = DropPrivileges(*run_as); !s.ok()) return fail(s.message());
  }
  // Before anything reads or writes the queue or its control socket.
  auto lock = queue::QueueLock::Acquire(options_.queue_directory);
  if (!lock.ok()) return fail(lock.status().message());
  queue_lock_ = std::move(lock).value();
  // Before the delivery process and this one's sessions write the queue.
  queue::RemoveTemporaryFiles(options_.queue_directory);
  // address_verify_map empty: what verification learned is forgotten at
  // each start (Postfix keeps it in the verify daemon's memory).
  if (Trim((*image)->Text("address_verify_map")).empty()) {
    std::string cache = verify::VerifyCachePath(options_.queue_directory);
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((cache + suffix).c_str());
  }
  // Delivery in a process of its own, forked before this one starts its
  // worker, writer and reloader threads (delivery_process.h). It keeps the
  // helper's delivery channels; this process, which parses SMTP, keeps
  // only the TLS one.
  if (!options_.no_delivery) {
    DeliveryProcessOptions d{options_.images,
                             (*image)->id(),
                             options_.queue_directory,
                             options_.dns_servers,
                             users_,
                             local_helper_.get(),
                             log_,
                             log_sink_};
    auto delivery = DeliveryProcess::Start(d, [this] {
      for (auto& a : acceptors_) close(a->native_handle());  // not through Asio: its reactor is this process's
      if (local_helper_) local_helper_->KeepOnly(local::LocalHelper::Task::kDeliver);
    });
    if (!delivery.ok()) return fail("delivery process: " + delivery.status().message());
    delivery_ = std::move(delivery).value();
  }
  if (local_helper_) local_helper_->KeepOnly(local::LocalHelper::Task::kTlsFiles);
  auto writer = queue::QueueWriter::Open(options_.queue_directory);
  if (!writer.ok()) return fail("queue: " + writer.status().message());
  writer_ = std::move(writer).value();
  if (delivery_) writer_->OnStored([this](std::vector<std::string> ids) { delivery_->Arrived(ids); });
  shared_.writer = writer_.get();
  StartVerifier(**image);
  lookups_.emplace(4);
  shared_.lookups = &*lookups_;
  table_lookups_.emplace(16);
  shared_.table_lookups = &*table_lookups_;
  if (Status s = OpenControlSocket(); !s.ok()) return fail(s.message());
  unsigned threads = options_.threads != 0 ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) workers_.push_back(std::make_unique<asio::io_context>(1));
  for (auto& w : workers_) {
    threads_.emplace_back([ctx = w.get()] {
      auto guard = asio::make_work_guard(*ctx);
      ctx->run();
    });
  }
  threads_.emplace_back([this] {
    auto guard = asio::make_work_guard(reloader_);
    reloader_.run();
  });

  signals_.add(SIGHUP);
  signals_.add(SIGUSR1);
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  std::signal(SIGPIPE, SIG_IGN);
  std::function<void()> wait_signal = [this, &wait_signal] {
    signals_.async_wait([this, &wait_signal](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP || signal == SIGUSR1) {
        // For logrotate: the log file is opened again (SIGUSR1 does only that).
        if (Status s = log_sink_->Reopen(); !s.ok()) log_.Write("warning: " + s.message());
        if (delivery_) delivery_->Send("reopen");
        if (signal == SIGHUP) asio::post(reloader_, [this] { Reload("SIGHUP"); });
        wait_signal();
      } else if (!stopping_) {
        asio::co_spawn(main_, ShutDown("on signal " + std::to_string(signal)), asio::detached);
      }
    });
  };
  wait_signal();
  WatchDeliveryProcess();
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    // smtpd's log under the service's syslog_name (-o syslog_name=postfix/submission).
    const std::string& service = acceptor_services_[i];
    std::string syslog_name = serving_.load()->Find(service)->session->image->Text("syslog_name");
    asio::co_spawn(main_, Accept(*acceptors_[i], service, log_.As(syslog_name, "smtpd")), asio::detached);
  }
  asio::co_spawn(main_, ServeControl(), asio::detached);
  if (verifier_) asio::co_spawn(main_, CleanVerifyCache(), asio::detached);
  WatchImages();
  log_.Write("daemon started -- version " POSTERN_VERSION ", image " + (*image)->id() + ", queue " +
             options_.queue_directory + ", " + std::to_string(threads) + " worker threads, log to " +
             log_sink_->Describe());
  notifier_.Ready("serving image " + (*image)->id());
  if (notifier_.watchdog_period()) asio::co_spawn(main_, KeepWatchdogFed(), asio::detached);
  main_.run();
  for (auto& w : workers_) w->stop();
  reloader_.stop();
  lookups_->join();
  table_lookups_->join();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  log_.Write("stopped; " + std::to_string(shared_.stored.load()) + " messages stored");
  return exit_status_;
}

}  // namespace postern::daemon
