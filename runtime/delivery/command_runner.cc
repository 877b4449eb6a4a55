// command_runner.cc: see command_runner.h.
#include "runtime/delivery/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "mail/enhanced_status.h"
#include "util/strings.h"

namespace postern::delivery {
namespace {

using mail::DeliveryStatus;

// <sysexits.h> as Postfix's sys_exits.c reads it: EX_USAGE (64) to
// EX_CONFIG (78).
struct SysExit {
  const char* status;
  const char* text;
};
constexpr int kSysExitsBase = 64;
constexpr SysExit kSysExits[] = {
    {"5.3.0", "command line usage error"},       // EX_USAGE
    {"5.6.0", "data format error"},              // EX_DATAERR
    {"5.3.0", "cannot open input"},              // EX_NOINPUT
    {"5.1.1", "user unknown"},                   // EX_NOUSER
    {"5.1.2", "host name unknown"},              // EX_NOHOST
    {"5.3.0", "service unavailable"},            // EX_UNAVAILABLE
    {"5.3.0", "internal software error"},        // EX_SOFTWARE
    {"4.3.0", "system resource problem"},        // EX_OSERR
    {"5.3.0", "critical OS file missing"},       // EX_OSFILE
    {"5.2.0", "can't create user output file"},  // EX_CANTCREAT
    {"5.3.0", "input/output error"},             // EX_IOERR
    {"4.3.0", "temporary failure"},              // EX_TEMPFAIL
    {"5.5.0", "remote error in protocol"},       // EX_PROTOCOL
    {"5.7.0", "permission denied"},              // EX_NOPERM
    {"5.3.5", "local configuration error"},      // EX_CONFIG
};

const SysExit* SysExitOf(int status) {
  int i = status - kSysExitsBase;
  return i >= 0 && i < static_cast<int>(std::size(kSysExits)) ? &kSysExits[i] : nullptr;
}

DeliveryStatus Failed(const char* status, std::string reason) {
  return DeliveryStatus::Local(status[0] == '4' ? 450 : 550, status, std::move(reason));
}

// The program to run: argv[0] as given with a slash, otherwise the first
// executable of that name in /usr/bin or /bin.
std::string ProgramPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  for (const char* dir : {"/usr/bin/", "/bin/"}) {
    std::string path = dir + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return name;  // posix_spawn then says ENOENT
}

std::string Printable(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\t' || c == '\n' || c == '\r') {
      out += ' ';
    } else if (u < 32 || u == 127) {
      out += '_';
    } else {
      out += c;
    }
  }
  return std::string(Trim(out));
}

}  // namespace

CommandResult RunCommand(const CommandSpec& spec) {
  CommandResult result;
  if (spec.argv.empty()) {
    result.start_error = "no command";
    return result;
  }
  int input[2], output[2];
  if (pipe2(input, O_CLOEXEC) != 0) {
    result.start_error = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  if (pipe2(output, O_CLOEXEC) != 0) {
    result.start_error = std::string("pipe: ") + std::strerror(errno);
    close(input[0]);
    close(input[1]);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, input[0], 0);
  posix_spawn_file_actions_adddup2(&actions, output[1], 1);
  posix_spawn_file_actions_adddup2(&actions, output[1], 2);
  if (!spec.working_directory.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, spec.working_directory.c_str());
  }
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  // Its own process group, so that a time limit kills what it started too.
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);

  std::vector<std::string> args = spec.argv;
  std::string program = ProgramPath(args.front());
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment = spec.environment;
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(input[0]);
  close(output[1]);
  if (spawned != 0) {
    close(input[1]);
    close(output[0]);
    result.start_error = "cannot run " + program + ": " + std::strerror(spawned);
    return result;
  }

  std::string_view pending = spec.input;
  std::string said;
  fcntl(input[1], F_SETFL, O_NONBLOCK);
  // A command that exits without reading all of its input must not kill
  // the daemon with SIGPIPE: it is blocked in this thread while writing,
  // and one raised is taken back before the mask is restored.
  sigset_t pipe_signal, saved_mask;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &saved_mask);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::max<int64_t>(spec.time_limit, 1));
  bool timed_out = false;
  int in_fd = input[1], out_fd = output[0];
  if (pending.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  while (in_fd >= 0 || out_fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd fds[2];
    int n = 0;
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::min<int64_t>(left.count(), 1000))) < 0 &&
        errno != EINTR) {
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        ssize_t w = write(in_fd, pending.data(), std::min<size_t>(pending.size(), 65536));
        if (w > 0) pending.remove_prefix(static_cast<size_t>(w));
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || pending.empty()) {
          close(in_fd);  // done, or the command stopped reading (EPIPE): its exit status decides
          in_fd = -1;
        }
      } else {
        char buffer[4096];
        ssize_t got = read(out_fd, buffer, sizeof buffer);
        if (got > 0) {
          size_t room = CommandResult::kOutputLimit - std::min(said.size(), CommandResult::kOutputLimit);
          said.append(buffer, std::min(static_cast<size_t>(got), room));
        } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
          close(out_fd);
          out_fd = -1;
        }
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  if (out_fd >= 0) close(out_fd);
  struct timespec no_wait {};
  while (sigtimedwait(&pipe_signal, nullptr, &no_wait) == SIGPIPE) {
  }
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  if (timed_out) kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.output = Printable(said);
  if (timed_out) {
    result.end = CommandResult::End::kTimedOut;
  } else if (WIFEXITED(status)) {
    result.end = CommandResult::End::kExited;
    result.exit_status = WEXITSTATUS(status);
  } else {
    result.end = CommandResult::End::kSignaled;
    result.signal = WTERMSIG(status);
  }
  return result;
}

std::optional<DeliveryStatus> CommandFailure(const CommandResult& r, std::string_view command) {
  std::string quoted = "\"" + std::string(command) + "\"";
  std::string said = r.output.empty() ? "" : ". Command output: " + r.output;
  switch (r.end) {
    case CommandResult::End::kNotStarted:
      // Postfix's child exits with EX_TEMPFAIL when it cannot exec.
      return Failed("4.3.0", "temporary failure. Command output: " + r.start_error);
    case CommandResult::End::kTimedOut:
      return Failed("5.3.0", "Command time limit exceeded: " + quoted + said);
    case CommandResult::End::kSignaled:
      return Failed("4.3.0", "Command died with signal " + std::to_string(r.signal) + ": " + quoted + said);
    case CommandResult::End::kExited:
      break;
  }
  if (r.exit_status == 0) return std::nullopt;
  // "4.x.x text" or "5.x.x text" at the start of the output decides.
  mail::StatusAndText split = mail::SplitEnhancedStatus(r.output);
  if (!split.status.empty() && split.status[0] != '2') {
    return Failed(std::string(split.status).c_str(), std::string(split.text));
  }
  if (const SysExit* e = SysExitOf(r.exit_status)) return Failed(e->status, e->text + said);
  return Failed("5.3.0", "Command died with status " + std::to_string(r.exit_status) + ": " + quoted + said);
}

}  // namespace postern::delivery
