// control_command.cc: `postern reload` and `postern status`, one line to
// posternd's control socket and its one-line JSON answer back.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "tools/postern/commands.h"

namespace postern::cli {

int RunControl(const ControlOptions& options) {
  std::string path = options.socket.empty() ? options.queue_directory + "/control" : options.socket;
  const char* name = options.command == "reload" ? "postern reload" : "postern status";
  struct sockaddr_un address {};
  if (path.size() >= sizeof address.sun_path) {
    std::cerr << name << ": socket path too long: " << path << "\n";
    return 2;
  }
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<const struct sockaddr*>(&address), sizeof address) != 0) {
    std::cerr << name << ": cannot reach posternd at " << path << ": " << std::strerror(errno) << "\n";
    if (fd >= 0) close(fd);
    return 2;
  }
  std::string request = options.command + "\n";
  std::string answer;
  if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) answer.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  auto json = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.contains("image")) {
    std::cerr << name << ": unexpected answer from posternd: " << answer << "\n";
    return 2;
  }
  std::cout << "image " << json["image"].get<std::string>() << "\n";
  if (json.contains("connections")) std::cout << "connections " << json["connections"] << "\n";
  if (json.contains("stored")) std::cout << "stored " << json["stored"] << "\n";
  if (json.contains("reload")) {
    std::string result = json["reload"].get<std::string>();
    std::cout << "reload " << result << "\n";
    if (result.rfind("refused", 0) == 0) return 1;
  }
  return 0;
}

}  // namespace postern::cli
