// commands.h: the subcommands of `postern`, each a plain options struct and
// a Run function that returns the process exit code.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace postern::cli {

// The configuration directory: -c, else $MAIL_CONFIG, else /etc/postfix.
std::string DefaultConfigDirectory();
// posternd's queue for the configuration in DefaultConfigDirectory(), as the
// daemon picks it (queue::QueueDirectoryFor of its queue_directory).
std::string DefaultQueueDirectory();

struct ConfOptions {
  std::string config_directory;
  bool explicit_directory = false;
  bool non_default = false;        // -n
  bool defaults = false;           // -d
  bool expand = false;             // -x
  bool value_only = false;         // -h
  bool master_entries = false;     // -M: master.cf services
  bool master_fields = false;      // -F: their fields
  bool master_parameters = false;  // -P: their -o overrides
  std::vector<std::string> names;  // parameter names, or -M/-F/-P selectors
};
int RunConf(const ConfOptions& options);

struct QueryOptions {
  std::string config_directory;
  bool explicit_directory = false;
  bool aliases = false;  // aliases(5) source format, as postalias -q
  std::string key;       // "-" reads keys from standard input
  std::vector<std::string> tables;
  bool offline = false;  // refuse to ask live tables' servers
};
int RunQuery(const QueryOptions& options);

struct CheckOptions {
  std::string config_directory;
  std::vector<std::string> defines;  // --define name=value
  bool hermetic = false;             // --hermetic: what an image would take from this machine
  std::string format = "text";       // text, json or sarif
  bool werror = false;
};
int RunCheck(const CheckOptions& options);

struct CompileOptions {
  std::string config_directory;
  std::vector<std::string> defines;  // --define name=value
  std::string output_directory;      // the images directory
  int keep = 5;                      // previous images kept
  std::string signing_key;           // --sign: a PEM Ed25519 private key file
};
int RunCompile(const CompileOptions& options);

// `postern verify IMAGE --key FILE...`: whether one of the public keys
// signed the image (an image directory, or an images directory: its current).
struct VerifyOptions {
  std::string image;
  std::vector<std::string> key_files;
};
int RunVerify(const VerifyOptions& options);

struct TraceOptions {
  std::string config_directory;      // compile this first, unless `image` is set
  std::string image;                 // an image, or an images directory (its current image)
  std::vector<std::string> defines;  // --define name=value, for the compile
  std::string sender;
  std::string users_file;  // passwd(5) text standing in for the system's users
  bool json = false;
  bool no_smtpd_checks = false;
  std::string service;  // whose smtpd recipient checks apply; empty: the default
  std::vector<std::string> addresses;
  bool offline = false;  // live tables are not asked: lookups in them fail
};
int RunTrace(const TraceOptions& options);

// `postern diff OLD NEW` (config_diff.h): configuration directories or
// images; with `git_directory` (-c DIR), revisions of DIR, NEW defaulting
// to DIR as it is.
struct DiffOptions {
  std::string git_directory;
  std::string old_side;
  std::string new_side;
  std::vector<std::string> defines;  // --define name=value, for both compiles
  std::string users_file;            // passwd(5) text standing in for the system's users
  std::string format = "text";       // text, markdown or json
  std::vector<std::string> fail_on;  // kinds of change that exit 1 (default: any)
  size_t limit = 50;                 // items shown per section (0: all); json shows all
  bool offline = false;              // live tables are not asked
};
int RunDiff(const DiffOptions& options);

struct DisasmOptions {
  std::string config_directory;  // compile this first, unless `image` is set
  std::string image;
};
int RunDisasm(const DisasmOptions& options);

struct TestOptions {
  std::string config_directory;
  std::vector<std::string> defines;  // --define name=value, for the compile
  std::vector<std::string> files;    // default: DIR/tests/*.test
  std::string users_file;            // passwd(5) text standing in for the system's users
  std::string format = "text";       // text or junit
  bool print = false;                // print every reply as JSON instead
  std::string service;               // the smtpd service cases connect to, unless they say; empty: the default
  bool offline = false;              // live tables are not asked: lookups in them fail
};
int RunTest(const TestOptions& options);

struct ControlOptions {
  std::string queue_directory;  // empty: DefaultQueueDirectory()
  std::string socket;           // default: QUEUE/control
  std::string command;          // "reload", "status" or "flush"
  bool json = false;            // print posternd's answer as it is, one JSON object
};
// Talks to a running posternd over its control socket and prints its
// answer (the active image, and for reload whether the new one was taken).
// Exits 2 when posternd does not answer (a health check), 1 when it
// refused the image a reload asked for, 0 otherwise.
int RunControl(const ControlOptions& options);
// Sends `command` to posternd's control socket at `path`; its one-line
// answer, or nullopt (with `error` set) when the daemon cannot be reached.
std::optional<std::string> AskDaemon(const std::string& path, const std::string& command, std::string* error);

struct QueueOptions {
  std::string queue_directory;   // empty: DefaultQueueDirectory()
  std::string action;            // list, show, delete, hold, release, requeue, flush
  bool json = false;             // list -j
  std::vector<std::string> ids;  // or "ALL" for delete/hold/release
};
// `postern queue`: mailq/postqueue -j (list), postcat (show) and postsuper
// (-d delete, -h hold, -H release, -r requeue) on posternd's queue
// directory, whether posternd runs or not; after a change a running
// posternd is asked to look at its queue now. flush (postqueue -f) asks the
// running posternd to try deferred mail now.
int RunQueue(const QueueOptions& options);

// `postern queue impact NEW`: what NEW would do to the routes of the mail
// already queued, against the image posternd serves (or `old_side`).
struct QueueImpactOptions {
  std::string queue_directory;
  std::string old_side;  // empty: the image the running posternd serves
  std::string new_side;  // configuration directory or image
  std::vector<std::string> defines;
  std::string users_file;  // passwd(5) text standing in for the system's users
  bool json = false;
};
int RunQueueImpact(const QueueImpactOptions& options);

}  // namespace postern::cli
