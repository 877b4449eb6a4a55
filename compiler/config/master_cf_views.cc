// master_cf_views.cc: see master_cf_views.h.
#include "compiler/config/master_cf_views.h"

#include <algorithm>

#include "util/strings.h"

namespace postern::config {
namespace {

// A word as postconf writes it back: in braces when it holds white space.
std::string Word(const std::string& text) {
  return text.find_first_of(" \t") == std::string::npos ? text : "{" + text + "}";
}

// The command field as postconf shows it: the command, its -o overrides
// (`-o name=value`, braced when the value has white space), its arguments.
std::string CommandField(const MasterService& s) {
  std::string out = s.command;
  for (const ServiceOverride& o : s.overrides) out += " -o " + Word(o.name + "=" + o.value);
  for (const std::string& a : s.arguments) out += " " + Word(a);
  return out;
}

// postconf's columns: each field starts at its column, or one space after
// the previous field when that one ran past it.
std::string EntryLine(const MasterService& s) {
  static constexpr size_t kColumns[] = {0, 11, 17, 25, 33, 41, 49, 57};
  const std::string fields[] = {s.name,   s.type,   s.private_flag, s.unprivileged,
                                s.chroot, s.wakeup, s.max_process,  CommandField(s)};
  std::string line;
  for (size_t i = 0; i < std::size(fields); ++i) {
    if (i > 0) line += ' ';
    if (line.size() < kColumns[i]) line.append(kColumns[i] - line.size(), ' ');
    line += fields[i];
  }
  return line;
}

struct Selector {
  std::string text;
  std::vector<std::string> parts;  // up to three; "*" or missing matches anything
  bool matched = false;
};

bool PartMatches(const Selector& s, size_t i, std::string_view value) {
  return i >= s.parts.size() || s.parts[i] == "*" || s.parts[i] == value;
}

std::vector<Selector> ParseSelectors(const std::vector<std::string>& texts) {
  std::vector<Selector> out;
  for (const std::string& t : texts) {
    Selector s{t, {}, false};
    size_t start = 0;
    for (size_t slash = t.find('/'); s.parts.size() < 2 && slash != std::string::npos; slash = t.find('/', start)) {
      s.parts.push_back(t.substr(start, slash - start));
      start = slash + 1;
    }
    s.parts.push_back(t.substr(start));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

MasterViewResult RenderMasterView(const MasterCf& master, MasterView view, const std::vector<std::string>& selectors) {
  std::vector<Selector> wanted = ParseSelectors(selectors);
  MasterViewResult result;
  auto prefix = [](const MasterService& s) { return s.name + "/" + s.type + "/"; };
  for (const MasterService& s : master.services) {
    // The names a selector may pick in this service, in their order.
    std::vector<std::pair<std::string, std::string>> items;
    if (view == MasterView::kFields) {
      items = {{"service", s.name},
               {"type", s.type},
               {"private", s.private_flag},
               {"unprivileged", s.unprivileged},
               {"chroot", s.chroot},
               {"wakeup", s.wakeup},
               {"process_limit", s.max_process},
               {"command", CommandField(s)}};
    } else if (view == MasterView::kParameters) {
      for (const ServiceOverride& o : s.overrides) items.emplace_back(o.name, o.value);
      // The last -o of a name wins, as in Postfix; listed by name.
      std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<std::pair<std::string, std::string>> last;
      for (auto& item : items) {
        if (!last.empty() && last.back().first == item.first) {
          last.back() = std::move(item);
        } else {
          last.push_back(std::move(item));
        }
      }
      items = std::move(last);
    }
    if (view == MasterView::kEntries) {
      // Once per selector that picks it, as postconf does.
      if (wanted.empty()) result.text += EntryLine(s) + "\n";
      for (Selector& w : wanted) {
        if (PartMatches(w, 0, s.name) && PartMatches(w, 1, s.type)) {
          w.matched = true;
          result.text += EntryLine(s) + "\n";
        }
      }
      continue;
    }
    auto line = [&](const std::pair<std::string, std::string>& item) {
      result.text += prefix(s) + item.first + " =" + (item.second.empty() ? "" : " ") + item.second + "\n";
    };
    if (wanted.empty()) {
      for (const auto& item : items) line(item);
      continue;
    }
    // postconf answers per service in the order of the selectors.
    for (Selector& w : wanted) {
      if (!PartMatches(w, 0, s.name) || !PartMatches(w, 1, s.type)) continue;
      for (const auto& item : items) {
        if (!PartMatches(w, 2, item.first)) continue;
        w.matched = true;
        line(item);
      }
    }
  }
  for (const Selector& w : wanted) {
    if (!w.matched) result.unmatched.push_back(w.text);
  }
  return result;
}

}  // namespace postern::config
