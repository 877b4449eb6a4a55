// command_runner.h: runs a delivery command, as local(8) and pipe(8) do
// through Postfix's pipe_command: the message on its standard input, its
// standard output and error captured (the start of it, for the log and
// the notice), a time limit after which the command and its process group
// are killed, and what became of it. Then the command's result as a
// delivery status, with Postfix's reading of it: an enhanced status code
// at the start of the output, else a <sysexits.h> exit status, else
// "Command died with status N".
//
// Blocking. Runs with the caller's credentials (the privileged helper has
// already become the delivery's user). A command that exits without
// reading all of its input is judged by its exit status alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/delivery_status.h"

namespace postern::delivery {

struct CommandSpec {
  // The program and its arguments; argv[0] without a slash is looked up
  // in /usr/bin and /bin (the PATH commands get).
  std::vector<std::string> argv;
  std::vector<std::string> environment;  // NAME=value
  std::string_view input;
  int64_t time_limit = 1000;      // seconds
  std::string working_directory;  // "" keeps the caller's
};

struct CommandResult {
  enum class End {
    kExited,
    kSignaled,
    kTimedOut,    // killed after time_limit
    kNotStarted,  // could not be run (start_error says why)
  };
  End end = End::kNotStarted;
  int exit_status = 0;  // kExited
  int signal = 0;       // kSignaled
  std::string start_error;
  // The first kOutputLimit bytes of its output, tabs and line ends as
  // spaces, other unprintable bytes as "_", trailing white space removed.
  std::string output;
  static constexpr size_t kOutputLimit = 4096;
};

CommandResult RunCommand(const CommandSpec& spec);

// The delivery status of a command that did not succeed, as Postfix words
// it (`command` is the name it gives the command: local(8) the whole
// command line, pipe(8) the program); nullopt when it exited with 0.
std::optional<mail::DeliveryStatus> CommandFailure(const CommandResult& result, std::string_view command);

}  // namespace postern::delivery
