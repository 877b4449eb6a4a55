// configuration.h: loads a Postfix configuration directory (main.cf,
// master.cf and every table they reference) into the Model, and runs the
// checks that need all of it. The entry point of `postern check`.
//
// Codes: PC0001 main.cf unreadable, PC0103 parameter defined twice,
// PC0104 unknown parameter, PC0105 Postfix parameter Postern does not
// support, PC0106 undefined $name, PC0107 $name loop, PC0108 $name syntax,
// PC0110 value of the wrong type, PC0111 bad network list element,
// PC0112 bad table reference, PC0113 missing file in a list, PT0337 a table
// that can fail to answer in a list posternd matches where it cannot defer.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "compiler/config/machine_facts.h"
#include "compiler/config/main_cf.h"
#include "compiler/config/master_cf.h"
#include "compiler/config/parameter_set.h"
#include "compiler/tables/table_loader.h"
#include "util/diagnostic.h"

namespace postern::check {

// An inet smtpd service of master.cf, which posternd serves: main.cf's
// parameters with the service's -o overrides applied.
struct SmtpdService {
  const config::MasterService* service = nullptr;  // in Model::master_cf
  std::unique_ptr<config::ParameterSet> parameters;
};

struct Model {
  std::string config_directory;
  config::MainCf main_cf;
  config::MasterCf master_cf;
  bool has_master_cf = false;
  std::unique_ptr<config::ParameterSet> parameters;
  // Each inet smtpd service, in master.cf order.
  std::vector<SmtpdService> smtpd_services;
  // Every table referenced by an explicitly set parameter, in the order of
  // the parameters' names, each once.
  std::vector<tables::LoadedTable> tables;
  // Names set in main.cf that neither Postfix nor the configuration itself
  // uses (no $reference, not a restriction class or per-transport name):
  // postconf reports them as unused and leaves them out of `postconf -n`.
  std::set<std::string, std::less<>> unused_parameters;
  // Where text tables were compiled to (LoadOptions::scratch_directory).
  std::string scratch_directory;
};

struct LoadOptions {
  std::string config_directory;  // holds main.cf and master.cf
  bool config_directory_explicit = true;
  // When set, the value config_directory has where the configuration is
  // installed (e.g. /etc/postfix), as opposed to where it is read from now.
  // Images use it, so their bytes do not depend on the checkout's path.
  std::string installed_directory;
  config::MachineFacts machine;  // for computed defaults
  bool load_tables = true;
  // `--define name=value`: main.cf definitions after main.cf's own (so they
  // win), as if main.cf ended with them; diagnostics name them --define:N.
  std::vector<std::string> defines;
  // Where text and aliases tables are compiled to (tables/compiled_table.h):
  // the images directory an image goes to, so that it links them; empty:
  // $TMPDIR.
  std::string scratch_directory;
};

// The parameters `service` runs with: its own for an smtpd service, else
// main.cf's.
const config::ParameterSet& ServiceParameters(const Model& model, const config::MasterService& service);

// Never fails as a whole: problems go to `diagnostics`, and the Model holds
// whatever could be read.
Model LoadConfiguration(const LoadOptions& options, DiagnosticSink* diagnostics);

// How the configuration's tables are read: paths under /etc/postfix from
// its directory, keys folded by its smtputf8_enable.
tables::TableLoadOptions TableOptions(const Model& model);

}  // namespace postern::check
