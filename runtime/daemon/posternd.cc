// posternd.cc: the daemon's command line. Everything else is in Server.
#include <CLI/CLI.hpp>
#include <iostream>

#include "runtime/daemon/server.h"

int main(int argc, char** argv) {
  postern::daemon::DaemonOptions options;
  CLI::App app{"posternd: the Postern ESMTP server; serves a compiled image, reloads it when it changes"};
  app.set_version_flag("-V,--version", std::string("posternd ") + POSTERN_VERSION);
  app.add_option("-i,--images", options.images,
                 "images directory (postern compile -o); its `current` image is served and watched")
      ->required();
  app.add_option("-q,--queue", options.queue_directory,
                 "queue directory (default: queue_directory of main.cf, or /var/spool/postern when that is "
                 "Postfix's /var/spool/postfix)");
  app.add_option("-l,--listen", options.listen,
                 "[service=]address:port to listen on for an smtpd service of master.cf (default: its first) "
                 "(repeatable); default: every smtpd service of master.cf at its address on inet_interfaces");
  app.add_option("-u,--user", options.user, "user to run as after binding (default: mail_owner, when root)");
  app.add_option("-t,--threads", options.threads, "worker threads (default: one per CPU)");
  app.add_option("--control", options.control_socket, "control socket (default: QUEUE/control)");
  app.add_option("--users", options.users_file,
                 "passwd(5) file of the local users to assume (for tests; default: this machine's users)");
  app.add_option("--shutdown-grace", options.shutdown_grace_seconds,
                 "seconds that transactions in progress get to finish on SIGTERM")
      ->capture_default_str();
  app.add_option("--dns", options.dns_servers,
                 "DNS servers for delivery, \"127.0.0.1:5353,[::1]:53\" (default: /etc/resolv.conf)");
  app.add_option("--maillog-file", options.maillog_file,
                 "log here instead of where maillog_file says (/dev/stderr: standard error)");
  app.add_option("--signature-keys", options.signature_keys,
                 "PEM public key file(s): serve only images one of them signed (postern compile --sign)")
      ->check(CLI::ExistingFile);
  app.add_flag("--no-delivery", options.no_delivery,
               "accept and queue mail, deliver nothing (the queue manager does not run)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors exit 2, as postern's do (CLI11's own codes are > 100).
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  postern::daemon::Server server(std::move(options));
  return server.Run();
}
