// secret_files.cc: see secret_files.h.
#include "compiler/check/secret_files.h"

#include <sys/stat.h>

#include <set>

#include "compiler/config/parameter_value.h"
#include "compiler/tables/list_items.h"
#include "util/strings.h"

namespace postern::check {
namespace {

// Settings that name files holding secrets: tables of passwords, and
// private keys (a chain file holds its keys too).
constexpr std::string_view kPasswordTables[] = {"smtp_sasl_password_maps"};
constexpr std::string_view kKeyFiles[] = {"smtpd_tls_key_file", "smtpd_tls_eckey_file", "smtpd_tls_dkey_file",
                                          "smtpd_tls_chain_files"};

class SecretFileChecker {
 public:
  SecretFileChecker(const Model& model, DiagnosticSink* diagnostics)
      : model_(model), options_(TableOptions(model)), diagnostics_(diagnostics) {}

  void Run() {
    Check(*model_.parameters, nullptr);
    for (const SmtpdService& s : model_.smtpd_services) Check(*s.parameters, s.service);
    // SQL and LDAP table definitions with a password or bind_pw.
    for (const tables::LoadedTable& table : model_.tables) {
      if (!table.holds_secret || !WorldReadable(table.source_path) || !reported_.insert(table.source_path).second) {
        continue;
      }
      diagnostics_->FileWarning(
          "PC0151", table.source_path,
          "the definition of " + table.reference.ToString() + " holds a password that every local user can read",
          "chmod o-r " + table.source_path + " (0600, or 0640 with the group Postern runs as)");
    }
  }

 private:
  void Check(const config::ParameterSet& parameters, const config::MasterService* service) {
    config::MacroExpander expander = parameters.Expander();
    for (std::string_view name : kPasswordTables) {
      std::string value = parameters.Expanded(name, &expander);
      for (const tables::ListItem& item : tables::ClassifyListItems(name, config::ParameterType::kTableList, value)) {
        if (item.kind != tables::ListItem::Kind::kTable || item.table->inline_text) continue;
        if (item.table->name.empty() || item.table->name.front() != '/') continue;  // not a file
        CheckFile(item.table->name, parameters, name, service, "a table of passwords");
      }
    }
    for (std::string_view name : kKeyFiles) {
      for (const std::string& path :
           config::SplitParameterList(parameters.Expanded(name, &expander)).value_or(std::vector<std::string>{})) {
        CheckFile(path, parameters, name, service, "a private key");
      }
    }
  }

  void CheckFile(const std::string& path, const config::ParameterSet& parameters, std::string_view name,
                 const config::MasterService* service, const std::string& what) {
    std::string local = tables::ResolveTablePath(path, options_);
    if (!WorldReadable(local) || !reported_.insert(local).second) return;
    SourceLocation where = Where(parameters, name, service);
    diagnostics_->Warning("PC0151", where,
                          std::string(name) + " names " + path + ", " + what + " that every local user can read",
                          "chmod o-r " + path +
                              " (0600, or 0640 with the group posternd runs as); the image keeps "
                              "its copy as private as the file");
  }

  static bool WorldReadable(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0;
  }

  SourceLocation Where(const config::ParameterSet& parameters, std::string_view name,
                       const config::MasterService* service) const {
    if (service != nullptr) {
      for (const config::ServiceOverride& o : service->overrides) {
        if (o.name == name) return o.location;
      }
    }
    const config::ParameterDefinition* def = parameters.Definition(name);
    return def != nullptr ? def->value_location : SourceLocation{model_.main_cf.file, 0, 0};
  }

  const Model& model_;
  tables::TableLoadOptions options_;
  DiagnosticSink* diagnostics_;
  std::set<std::string> reported_;
};

}  // namespace

void CheckSecretFiles(const Model& model, DiagnosticSink* diagnostics) { SecretFileChecker(model, diagnostics).Run(); }

}  // namespace postern::check
