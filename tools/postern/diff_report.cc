// diff_report.cc: see diff_report.h.
#include "tools/postern/diff_report.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "util/strings.h"

namespace postern::cli {
namespace {

std::string LineText(const SourceLine& where) {
  return where.empty() ? "" : where.file + ":" + std::to_string(where.line);
}

// NEW's line, else OLD's marked as such.
std::string Where(const SourceLine& old_where, const SourceLine& new_where) {
  if (!new_where.empty()) return LineText(new_where);
  if (!old_where.empty()) return LineText(old_where) + " (old)";
  return "";
}

std::string Value(const std::optional<std::string>& value) {
  if (!value) return "(not set)";
  return value->empty() ? "\"\"" : *value;
}

std::string ParameterName(const ParameterChange& p) {
  return p.service.empty() ? p.name : "service " + p.service + ": " + p.name;
}

std::string TableTitle(const TableChange& t) {
  std::string title = t.reference;
  if (!t.parameters.empty()) title += " (" + Join(t.parameters, ", ") + ")";
  switch (t.kind) {
    case TableChange::Kind::kAdded:
      return title + ": added, " + std::to_string(t.new_entries) + " entries";
    case TableChange::Kind::kRemoved:
      return title + ": removed, had " + std::to_string(t.old_entries) + " entries";
    case TableChange::Kind::kChanged:
      break;
  }
  title += ": " + std::to_string(t.old_entries) + " -> " + std::to_string(t.new_entries) + " entries";
  if (t.reordered) title += ", the same rules in another order";
  if (t.unlisted) title += ", changed (its entries cannot be listed)";
  return title;
}

std::string EntryText(const EntryChange& e) {
  if (!e.old_value) return "+ " + e.key + " -> " + *e.new_value;
  if (!e.new_value) return "- " + e.key + " -> " + *e.old_value;
  return "~ " + e.key + ": " + *e.old_value + " -> " + *e.new_value;
}

// "smtpd -o name=value ...", as master.cf runs it.
std::string CommandLine(const mail::ServiceEntry& s) {
  std::string line = s.command;
  for (const auto& [name, value] : s.overrides) line += " -o " + name + "=" + value;
  for (const std::string& argument : s.arguments) line += " " + argument;
  return line;
}

std::string ServiceTitle(const ServiceChange& s) {
  std::string title = s.name + " " + s.type;
  if (!s.old_entry) return "+ " + title + ": " + CommandLine(*s.new_entry) + " (added)";
  if (!s.new_entry) return "- " + title + ": " + CommandLine(*s.old_entry) + " (removed)";
  return "~ " + title + ": " + Join(s.differences, "; ");
}

std::string RouteTitle(const RouteChange& r) { return r.address + (r.bounces ? "  BOUNCES" : ""); }

// Policy changes that differ only in the probe: the same origin, the same
// verdicts, on any service. People read one of each; JSON lists them all.
struct PolicyGroup {
  const PolicyChange* first = nullptr;
  size_t count = 0;
  std::vector<std::string> services;
};

std::vector<PolicyGroup> GroupPolicy(const std::vector<PolicyChange>& changes) {
  std::vector<PolicyGroup> groups;
  std::map<std::tuple<bool, std::string, std::string, std::string>, size_t> index;
  for (const PolicyChange& p : changes) {
    auto [it, added] = index.try_emplace({p.opens_relay, p.origin, p.old_verdict, p.new_verdict}, groups.size());
    if (added) groups.push_back({&p, 0, {}});
    PolicyGroup& g = groups[it->second];
    ++g.count;
    if (std::find(g.services.begin(), g.services.end(), p.service) == g.services.end()) g.services.push_back(p.service);
  }
  return groups;
}

std::string GroupNote(const PolicyGroup& g) {
  if (g.count == 1) return "";
  return "(and " + std::to_string(g.count - 1) + " more transaction" + (g.count == 2 ? "" : "s") +
         " with this change, from the same probe; service" + (g.services.size() == 1 ? " " : "s ") +
         Join(g.services, ", ") + ")";
}

std::string Count(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string Summary(const ConfigDiff& diff) {
  std::vector<std::string> parts;
  size_t entries = 0, bounces = 0, relays = diff.open_relay.size();
  for (const TableChange& t : diff.tables) entries += t.entries.size();
  for (const RouteChange& r : diff.routes) bounces += r.bounces ? 1 : 0;
  for (const PolicyChange& p : diff.policy) relays += p.opens_relay ? 1 : 0;
  if (!diff.parameters.empty()) parts.push_back(Count(diff.parameters.size(), "parameter", "parameters"));
  if (!diff.tables.empty()) {
    parts.push_back(Count(diff.tables.size(), "table", "tables") + " (" + Count(entries, "entry", "entries") + ")");
  }
  if (!diff.services.empty()) parts.push_back(Count(diff.services.size(), "service", "services"));
  if (!diff.routes.empty()) {
    parts.push_back(Count(diff.routes.size(), "route", "routes") +
                    (bounces > 0 ? " (" + Count(bounces, "now bounces", "now bounce") + ")" : ""));
  }
  if (!diff.policy.empty()) parts.push_back(Count(diff.policy.size(), "policy verdict", "policy verdicts"));
  if (relays > 0) parts.push_back("OPENS RELAYING (" + std::to_string(relays) + ")");
  std::string compared = Count(diff.addresses_compared, "address", "addresses") + " routed and " +
                         Count(diff.transactions_compared, "transaction", "transactions") + " run on both";
  if (parts.empty()) return "no differences (" + compared + ")";
  return Join(parts, ", ") + " (" + compared + ")";
}

// Shows the first `limit` items of a section (0: all), then how many more.
template <typename T, typename F>
void Section(std::string* out, const std::string& title, const std::vector<T>& items, size_t limit, F item) {
  if (items.empty()) return;
  *out += "\n" + title + "\n";
  size_t shown = 0;
  for (const T& i : items) {
    if (limit != 0 && shown == limit) {
      *out += "  ... and " + std::to_string(items.size() - shown) + " more (--limit 0 or --format json: all)\n";
      break;
    }
    item(i);
    ++shown;
  }
}

std::string MarkdownCell(std::string_view text) {
  std::string out = "`";
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '`') {
      out += "'";
    } else {
      out += c;
    }
  }
  return out + "`";
}

nlohmann::json OptionalJson(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json WhereJson(const SourceLine& where) {
  return where.empty() ? nlohmann::json(nullptr) : nlohmann::json(LineText(where));
}

nlohmann::json ServiceJson(const std::optional<mail::ServiceEntry>& s) {
  if (!s) return nullptr;
  nlohmann::json overrides = nlohmann::json::object();
  for (const auto& [name, value] : s->overrides) overrides[name] = value;
  return {{"command", s->command}, {"arguments", s->arguments}, {"overrides", overrides}};
}

}  // namespace

std::string RenderDiffText(const ConfigDiff& diff, size_t limit) {
  std::string out = "--- " + diff.old_label + "\n+++ " + diff.new_label + "\n";
  Section(&out, "open relay", diff.open_relay, limit, [&](const std::string& r) { out += "  OPEN RELAY " + r + "\n"; });
  Section(&out, "parameters (" + std::to_string(diff.parameters.size()) + ")", diff.parameters, limit,
          [&](const ParameterChange& p) {
            std::string where = Where(p.old_where, p.new_where);
            out += "  " + ParameterName(p) + (where.empty() ? "" : "    " + where) + "\n";
            out += "    - " + Value(p.old_value) + "\n    + " + Value(p.new_value) + "\n";
          });
  Section(&out, "tables (" + std::to_string(diff.tables.size()) + ")", diff.tables, limit, [&](const TableChange& t) {
    out += "  " + TableTitle(t) + "\n";
    size_t shown = 0;
    for (const EntryChange& e : t.entries) {
      if (limit != 0 && shown++ == limit) {
        out += "    ... and " + std::to_string(t.entries.size() - limit) + " more\n";
        break;
      }
      std::string where = Where(e.old_where, e.new_where);
      out += "    " + EntryText(e) + (where.empty() ? "" : "    " + where) + "\n";
    }
  });
  Section(&out, "services (" + std::to_string(diff.services.size()) + ")", diff.services, limit,
          [&](const ServiceChange& s) {
            out += "  " + ServiceTitle(s) + (s.where.empty() ? "" : "    " + LineText(s.where)) + "\n";
          });
  Section(&out,
          "routes (" + std::to_string(diff.routes.size()) + " of " + std::to_string(diff.addresses_compared) +
              " addresses)",
          diff.routes, limit, [&](const RouteChange& r) {
            out += "  " + RouteTitle(r) + "    (" + r.origin + ")\n";
            for (const std::string& line : r.old_results) out += "    - " + line + "\n";
            for (const std::string& line : r.new_results) out += "    + " + line + "\n";
          });
  Section(&out,
          "policy (" + std::to_string(diff.policy.size()) + " of " + std::to_string(diff.transactions_compared) +
              " transactions)",
          GroupPolicy(diff.policy), limit, [&](const PolicyGroup& g) {
            const PolicyChange& p = *g.first;
            out += std::string("  ") + (p.opens_relay ? "OPENS RELAYING " : "") + "service " + p.service + ": " +
                   p.transaction + "    (" + p.origin + ")\n";
            out += "    - " + p.old_verdict + "\n    + " + p.new_verdict + "\n";
            if (g.count > 1) out += "    " + GroupNote(g) + "\n";
          });
  out += "\n" + Summary(diff) + "\n";
  return out;
}

std::string RenderDiffMarkdown(const ConfigDiff& diff, size_t limit) {
  std::string out = "### postern diff: " + MarkdownCell(diff.old_label) + " → " + MarkdownCell(diff.new_label) + "\n\n";
  out += "**" + Summary(diff) + "**\n";
  auto more = [&](size_t total) {
    if (limit != 0 && total > limit) out += "\n… and " + std::to_string(total - limit) + " more\n";
  };
  auto shown = [&](size_t i) { return limit == 0 || i < limit; };
  if (!diff.open_relay.empty()) {
    out += "\n#### Open relay\n\n";
    for (const std::string& r : diff.open_relay) out += "- **" + r + "**\n";
  }
  if (!diff.parameters.empty()) {
    out += "\n#### Parameters\n\n| parameter | old | new | where |\n|---|---|---|---|\n";
    for (size_t i = 0; i < diff.parameters.size() && shown(i); ++i) {
      const ParameterChange& p = diff.parameters[i];
      out += "| " + MarkdownCell(ParameterName(p)) + " | " + MarkdownCell(Value(p.old_value)) + " | " +
             MarkdownCell(Value(p.new_value)) + " | " + Where(p.old_where, p.new_where) + " |\n";
    }
    more(diff.parameters.size());
  }
  if (!diff.tables.empty()) {
    out += "\n#### Tables\n\n";
    for (size_t i = 0; i < diff.tables.size() && shown(i); ++i) {
      const TableChange& t = diff.tables[i];
      out += "- " + MarkdownCell(TableTitle(t)) + "\n";
      for (size_t j = 0; j < t.entries.size() && shown(j); ++j) {
        std::string where = Where(t.entries[j].old_where, t.entries[j].new_where);
        out += "  - " + MarkdownCell(EntryText(t.entries[j])) + (where.empty() ? "" : " " + where) + "\n";
      }
    }
    more(diff.tables.size());
  }
  if (!diff.services.empty()) {
    out += "\n#### Services\n\n";
    for (size_t i = 0; i < diff.services.size() && shown(i); ++i) {
      const ServiceChange& s = diff.services[i];
      out += "- " + MarkdownCell(ServiceTitle(s)) + (s.where.empty() ? "" : " " + LineText(s.where)) + "\n";
    }
    more(diff.services.size());
  }
  if (!diff.routes.empty()) {
    out += "\n#### Routes\n\n| address | old | new |\n|---|---|---|\n";
    for (size_t i = 0; i < diff.routes.size() && shown(i); ++i) {
      const RouteChange& r = diff.routes[i];
      out += "| " + MarkdownCell(r.address) + (r.bounces ? " **bounces**" : "") + " | " +
             MarkdownCell(Join(r.old_results, "; ")) + " | " + MarkdownCell(Join(r.new_results, "; ")) + " |\n";
    }
    more(diff.routes.size());
  }
  if (!diff.policy.empty()) {
    std::vector<PolicyGroup> groups = GroupPolicy(diff.policy);
    out += "\n#### Policy\n\n| service | transaction | old | new |\n|---|---|---|---|\n";
    for (size_t i = 0; i < groups.size() && shown(i); ++i) {
      const PolicyChange& p = *groups[i].first;
      out += "| " + p.service + " | " + MarkdownCell(p.transaction) + (p.opens_relay ? " **opens relaying**" : "") +
             (groups[i].count > 1 ? " " + GroupNote(groups[i]) : "") + " | " + MarkdownCell(p.old_verdict) + " | " +
             MarkdownCell(p.new_verdict) + " |\n";
    }
    more(groups.size());
  }
  return out;
}

nlohmann::json DiffJson(const ConfigDiff& diff) {
  nlohmann::json j = {
      {"old", diff.old_label},
      {"new", diff.new_label},
      {"identical", diff.identical()},
      {"kinds", ChangeKinds(diff)},
      {"compared", {{"addresses", diff.addresses_compared}, {"transactions", diff.transactions_compared}}},
      {"open_relay", diff.open_relay}};
  nlohmann::json& parameters = j["parameters"] = nlohmann::json::array();
  for (const ParameterChange& p : diff.parameters) {
    parameters.push_back({{"service", p.service},
                          {"name", p.name},
                          {"old", OptionalJson(p.old_value)},
                          {"new", OptionalJson(p.new_value)},
                          {"old_where", WhereJson(p.old_where)},
                          {"new_where", WhereJson(p.new_where)}});
  }
  nlohmann::json& tables = j["tables"] = nlohmann::json::array();
  for (const TableChange& t : diff.tables) {
    static const char* const kKinds[] = {"added", "removed", "changed"};
    nlohmann::json entries = nlohmann::json::array();
    for (const EntryChange& e : t.entries) {
      entries.push_back({{"key", e.key},
                         {"old", OptionalJson(e.old_value)},
                         {"new", OptionalJson(e.new_value)},
                         {"old_where", WhereJson(e.old_where)},
                         {"new_where", WhereJson(e.new_where)}});
    }
    tables.push_back({{"table", t.reference},
                      {"change", kKinds[static_cast<int>(t.kind)]},
                      {"parameters", t.parameters},
                      {"old_entries", t.old_entries},
                      {"new_entries", t.new_entries},
                      {"reordered", t.reordered},
                      {"unlisted", t.unlisted},
                      {"entries", entries}});
  }
  nlohmann::json& services = j["services"] = nlohmann::json::array();
  for (const ServiceChange& s : diff.services) {
    services.push_back({{"service", s.name},
                        {"type", s.type},
                        {"old", ServiceJson(s.old_entry)},
                        {"new", ServiceJson(s.new_entry)},
                        {"differences", s.differences},
                        {"where", WhereJson(s.where)}});
  }
  nlohmann::json& routes = j["routes"] = nlohmann::json::array();
  for (const RouteChange& r : diff.routes) {
    routes.push_back({{"address", r.address},
                      {"origin", r.origin},
                      {"old", r.old_results},
                      {"new", r.new_results},
                      {"bounces", r.bounces}});
  }
  nlohmann::json& policy = j["policy"] = nlohmann::json::array();
  for (const PolicyChange& p : diff.policy) {
    policy.push_back({{"service", p.service},
                      {"transaction", p.transaction},
                      {"origin", p.origin},
                      {"old", p.old_verdict},
                      {"new", p.new_verdict},
                      {"opens_relay", p.opens_relay}});
  }
  return j;
}

}  // namespace postern::cli
