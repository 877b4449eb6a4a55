// milter_list.cc: see milter_list.h.
#include "mail/milter_list.h"

#include "mail/parameter_list.h"
#include "util/strings.h"

namespace postern::mail {
namespace {

bool IsEndpoint(std::string_view item) {
  for (std::string_view prefix : {"inet:", "unix:", "local:"}) {
    if (item.starts_with(prefix) && item.size() > prefix.size()) return true;
  }
  return false;
}

Status SetOverride(MilterEntry& entry, std::string_view setting) {
  size_t eq = setting.find('=');
  if (eq == std::string_view::npos) {
    return Status::Permanent("\"" + std::string(setting) + "\" in the settings of milter " + entry.endpoint +
                             " is not name=value");
  }
  std::string name(Trim(setting.substr(0, eq)));
  std::string value(Trim(setting.substr(eq + 1)));
  std::optional<std::string>* slot = name == "command_timeout"   ? &entry.command_timeout
                                     : name == "connect_timeout" ? &entry.connect_timeout
                                     : name == "content_timeout" ? &entry.content_timeout
                                     : name == "default_action"  ? &entry.default_action
                                     : name == "protocol"        ? &entry.protocol
                                                                 : nullptr;
  if (slot == nullptr) {
    return Status::Permanent("unknown setting \"" + name + "\" for milter " + entry.endpoint +
                             " (command_timeout, connect_timeout, content_timeout, default_action, protocol)");
  }
  *slot = value;
  return Status::Ok();
}

}  // namespace

Result<std::vector<MilterEntry>> ParseMilterList(std::string_view value) {
  std::optional<std::vector<std::string>> items = SplitParameterList(value);
  if (!items) return Status::Permanent("unbalanced braces");
  std::vector<MilterEntry> milters;
  for (const std::string& item : *items) {
    // A group: its first word is the endpoint, the others its settings.
    std::optional<std::vector<std::string>> words =
        item.find_first_of(" \t,") == std::string::npos ? std::vector<std::string>{item} : SplitParameterList(item);
    if (!words || words->empty()) return Status::Permanent("empty or unbalanced milter group \"" + item + "\"");
    MilterEntry entry;
    entry.endpoint = words->front();
    if (!IsEndpoint(entry.endpoint)) {
      return Status::Permanent("milter \"" + entry.endpoint +
                               "\" is not inet:host:port, unix:pathname or local:pathname");
    }
    for (size_t i = 1; i < words->size(); ++i) {
      if (Status s = SetOverride(entry, (*words)[i]); !s.ok()) return s;
    }
    milters.push_back(std::move(entry));
  }
  return milters;
}

bool IsMilterDefaultAction(std::string_view value) {
  return EqualsIgnoreCase(value, "accept") || EqualsIgnoreCase(value, "reject") ||
         EqualsIgnoreCase(value, "tempfail") || EqualsIgnoreCase(value, "quarantine");
}

Result<MilterProtocol> ParseMilterProtocol(std::string_view value) {
  MilterProtocol protocol;
  int versions = 0;
  for (std::string_view word : SplitAny(value, " ,\t\r\n")) {
    if (word == "2" || word == "3" || word == "4" || word == "6") {
      protocol.version = word[0] - '0';
      ++versions;
    } else if (word == "no_header_reply") {
      protocol.no_header_reply = true;
    } else {
      return Status::Permanent("bad milter protocol information \"" + std::string(word) + "\" (2, 3, 4 or 6)");
    }
  }
  if (versions != 1) return Status::Permanent("milter protocol \"" + std::string(value) + "\" needs one version");
  return protocol;
}

}  // namespace postern::mail
