// config_diff.h: what behaves differently between two compiled
// configurations, found by the engine posternd runs (the resolver and the
// policy VM on each image), not by comparing text:
//
//   parameters  effective (expanded) values that differ, main.cf's and each
//               master.cf service's -o overrides
//   tables      entries added, removed or changed, per table
//   services    master.cf services added, removed or changed
//   routes      the final recipients, transports and nexthops of every
//               address the configurations name (diff_probes.h)
//   policy      the replies to generated SMTP transactions (each client
//               network, sender, recipient and login class the policies
//               distinguish) and to the configurations' test cases
//
// Plain data; rendering is diff_report.h's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mail/image_format.h"
#include "tools/postern/diff_side.h"

namespace postern::cli {

// A line of a configuration: "main.cf", 12. Empty file: none (a default,
// or an image without its sources).
struct SourceLine {
  std::string file;
  int line = 0;
  bool empty() const { return file.empty(); }
};

struct ParameterChange {
  std::string service;  // "": main.cf; else the master.cf service whose view changed
  std::string name;
  std::optional<std::string> old_value, new_value;
  SourceLine old_where, new_where;
};

struct EntryChange {
  std::string key;  // pattern tables: the rule's pattern
  std::optional<std::string> old_value, new_value;
  SourceLine old_where, new_where;
};

struct TableChange {
  enum class Kind { kAdded, kRemoved, kChanged };
  Kind kind = Kind::kChanged;
  std::string reference;                // type:name
  std::vector<std::string> parameters;  // the parameters naming it
  uint64_t old_entries = 0, new_entries = 0;
  std::vector<EntryChange> entries;  // kChanged: each entry that differs
  bool reordered = false;            // pattern tables: the same rules in another order
  bool unlisted = false;             // kChanged, but its entries cannot be listed (a live table's definition)
};

struct ServiceChange {
  std::string name, type;
  std::optional<mail::ServiceEntry> old_entry, new_entry;
  std::vector<std::string> differences;  // for a changed service: "command smtpd -> pipe", "-o x=y added"
  SourceLine where;                      // NEW's master.cf line, else OLD's
};

struct RouteChange {
  std::string address;
  std::string origin;                                 // what named the address
  std::vector<std::string> old_results, new_results;  // one line per final recipient
  bool bounces = false;                               // delivered in OLD; bounced or refused in NEW
};

struct PolicyChange {
  std::string service;
  std::string transaction;  // "client 192.0.2.10 [unknown], mail from <a@b>, rcpt to <c@d>"
  std::string origin;       // what named the probe that differs, or the test case's file:line
  std::string old_verdict, new_verdict;
  bool opens_relay = false;  // NEW accepts, for a client that is not authenticated, a recipient outside its domains
};

struct ConfigDiff {
  std::string old_label, new_label;
  std::vector<ParameterChange> parameters;
  std::vector<TableChange> tables;
  std::vector<ServiceChange> services;
  std::vector<RouteChange> routes;
  std::vector<PolicyChange> policy;
  // NEW's policy is an open relay and OLD's was not (vm/relay_analysis.h):
  // the service and the path that lets mail through.
  std::vector<std::string> open_relay;
  size_t addresses_compared = 0;
  size_t transactions_compared = 0;

  bool identical() const {
    return parameters.empty() && tables.empty() && services.empty() && routes.empty() && policy.empty() &&
           open_relay.empty();
  }
};

// The kinds of change `--fail-on` selects: parameter, table, service,
// route, bounce (a route change that bounces), policy, relay (a policy
// change that opens relaying).
std::vector<std::string> ChangeKinds(const ConfigDiff& diff);
inline constexpr const char* kChangeKindNames[] = {"parameter", "table",  "service", "route",
                                                   "bounce",    "policy", "relay"};

// The whole comparison.
ConfigDiff DiffConfigurations(const DiffSide& old_side, const DiffSide& new_side);

// The parts of it, each alone (config_diff.cc, table_diff.cc, behaviour_diff.cc).
std::vector<ParameterChange> DiffParameters(const DiffSide& old_side, const DiffSide& new_side);
std::vector<ServiceChange> DiffServices(const DiffSide& old_side, const DiffSide& new_side);
std::vector<TableChange> DiffTables(const DiffSide& old_side, const DiffSide& new_side);
// Routes and policy.
void DiffBehaviour(const DiffSide& old_side, const DiffSide& new_side, ConfigDiff* diff);

// Where `location` is, relative to the side's configuration directory.
SourceLine LineOf(const DiffSide& side, const SourceLocation& location);

}  // namespace postern::cli
