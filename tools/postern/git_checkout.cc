// git_checkout.cc: see git_checkout.h.
#include "tools/postern/git_checkout.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "util/strings.h"

extern char** environ;

namespace postern::cli {
namespace {

// Runs `argv` (found on PATH) with standard output and error into *output;
// whether it exited 0.
bool RunProgram(const std::vector<std::string>& argv, std::string* output) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    *output = "cannot create a pipe";
    return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    *output = argv[0] + ": cannot run it (is it installed?)";
    return false;
  }
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) output->append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

Status CheckoutRevision(const std::string& directory, const std::string& revision, const std::string& destination) {
  std::string said;
  if (!RunProgram({"git", "-C", directory, "rev-parse", "--show-toplevel", "--show-prefix"}, &said)) {
    return Status::Permanent(directory + ": not in a git work tree: " + std::string(Trim(said)));
  }
  // Two lines: the work tree's top, and the directory's path in it.
  size_t newline = said.find('\n');
  std::string top(Trim(said.substr(0, newline)));
  std::string prefix(newline == std::string::npos ? "" : Trim(said.substr(newline + 1)));
  // REV:PATH names the tree of the directory at that revision; archive
  // (run at the top: in a subdirectory it limits itself to that path)
  // writes its files without the leading path.
  std::string tree = revision + ":" + prefix;
  std::string archive = destination + "/.revision.tar";
  said.clear();
  if (!RunProgram({"git", "-C", top, "archive", "--format=tar", "-o", archive, tree}, &said)) {
    return Status::Permanent("git revision " + revision + " of " + directory + ": " + std::string(Trim(said)));
  }
  said.clear();
  bool extracted = RunProgram({"tar", "-x", "-f", archive, "-C", destination}, &said);
  unlink(archive.c_str());
  if (!extracted) return Status::Permanent("cannot unpack revision " + revision + ": " + std::string(Trim(said)));
  return Status::Ok();
}

}  // namespace postern::cli
