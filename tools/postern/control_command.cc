// control_command.cc: `postern reload`, `postern status` and `postern queue
// flush`: one line to posternd's control socket and its one-line JSON
// answer back.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tools/postern/commands.h"

namespace postern::cli {

std::optional<std::string> AskDaemon(const std::string& path, const std::string& command, std::string* error) {
  struct sockaddr_un address {};
  if (path.size() >= sizeof address.sun_path) {
    *error = "socket path too long: " + path;
    return std::nullopt;
  }
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<const struct sockaddr*>(&address), sizeof address) != 0) {
    *error = "cannot reach posternd at " + path + ": " + std::strerror(errno);
    if (fd >= 0) close(fd);
    return std::nullopt;
  }
  std::string request = command + "\n";
  std::string answer;
  if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) answer.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}

namespace {

// posternd's answer for people: one "name value" line each.
void PrintStatus(const nlohmann::json& json) {
  std::cout << "image " << json["image"].get<std::string>() << "\n";
  if (json.contains("connections")) std::cout << "connections " << json["connections"] << "\n";
  if (json.contains("stored")) std::cout << "stored " << json["stored"] << "\n";
  if (json.contains("delivery")) {
    for (const auto& [key, value] : json["delivery"].items()) std::cout << key << " " << value << "\n";
  }
  if (json.contains("reload")) std::cout << "reload " << json["reload"].get<std::string>() << "\n";
}

}  // namespace

int RunControl(const ControlOptions& options) {
  std::string path = options.socket.empty() ? options.queue_directory + "/control" : options.socket;
  std::string name = options.command == "flush" ? "postern queue flush" : "postern " + options.command;
  std::string error;
  std::optional<std::string> reply = AskDaemon(path, options.command, &error);
  if (!reply) {
    std::cerr << name << ": " << error << "\n";
    return 2;
  }
  const std::string& answer = *reply;
  auto json = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.contains("image")) {
    std::cerr << name << ": unexpected answer from posternd: " << answer << "\n";
    return 2;
  }
  if (options.json) {
    std::cout << json.dump() << "\n";
  } else {
    PrintStatus(json);
  }
  if (json.contains("reload") && json["reload"].get<std::string>().rfind("refused", 0) == 0) return 1;
  return 0;
}

}  // namespace postern::cli
