// master_cf.h: parsing master.cf (master(5)) into plain service entries.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "util/diagnostic.h"
#include "util/source_file.h"

namespace postern::config {

struct ServiceOverride {  // -o name=value
  std::string name;
  std::string value;
  SourceLocation location;
};

struct MasterService {
  std::string name;  // for inet: [host:]port
  std::string type;  // inet, unix, unix-dgram, fifo, pass
  // The five flag fields as written; "-" means Postfix's default.
  std::string private_flag;
  std::string unprivileged;
  std::string chroot;
  std::string wakeup;
  std::string max_process;
  std::string command;
  std::vector<std::string> arguments;              // after the command, -o pairs removed
  std::vector<SourceLocation> argument_locations;  // one per argument
  std::vector<ServiceOverride> overrides;
  SourceLocation location;
};

struct MasterCf {
  std::shared_ptr<const SourceFile> file;
  std::vector<MasterService> services;  // file order
};

// The value of `o` as the service sees it: $service_name (which master(8)
// sets for each service) replaced by the service's name. $names of main.cf
// are left for the caller's expander.
std::string ServiceOverrideValue(const MasterService& service, const ServiceOverride& o);

// Diagnostics: PC0201 (too few fields), PC0202 (bad service type),
// PC0203 (bad flag field), PC0204 (bad -o), PC0205 (duplicate service).
MasterCf ParseMasterCf(std::shared_ptr<const SourceFile> file, DiagnosticSink* diagnostics);

}  // namespace postern::config
