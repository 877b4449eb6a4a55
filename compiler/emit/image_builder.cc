// image_builder.cc: see image_builder.h.
#include "compiler/emit/image_builder.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>

#include "compiler/config/parameter_registry.h"
#include "compiler/config/parameter_value.h"
#include "compiler/lower/codegen.h"
#include "compiler/lower/restriction_lowering.h"
#include "compiler/policy/policy_files.h"
#include "compiler/policy/policy_lowering.h"
#include "compiler/tables/database_rows.h"
#include "compiler/tables/list_items.h"
#include "mail/address.h"
#include "mail/cdb_writer.h"
#include "mail/database_table.h"
#include "mail/image_format.h"
#include "mail/passwd_table.h"
#include "mail/settings_format.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace postern::emit {
namespace {

using config::ParameterType;

// One table the image carries, keyed by the text that names it in a list.
struct TableUse {
  std::string text;  // as written in the expanded list ("proxy:unix:passwd.byname")
  bool aliases = false;
  tables::TableReference reference;
};

class Builder {
 public:
  Builder(const check::Model& model, const ImageBuildOptions& options, DiagnosticSink* diagnostics)
      : model_(model), options_(options), diagnostics_(diagnostics) {}

  BuiltImage Build() {
    AddSource(model_.config_directory + "/main.cf");
    if (model_.has_master_cf) AddSource(model_.config_directory + "/master.cf");
    CollectParameters();
    CollectTables();
    std::vector<policy::AstFile> policy_files = policy::LoadPolicyFiles(model_.config_directory, diagnostics_);
    for (const policy::AstFile& file : policy_files) {
      sources_[DisplayPath(file.source->name())] = Sha256Hex(file.source->text());
    }
    mail::Program program = CompilePolicy(*model_.parameters, parameters_, policy_files, diagnostics_);
    std::vector<std::pair<std::string, mail::Program>> service_programs = CompileServicePolicies(program, policy_files);
    if (options_.policy_only) return BuiltImage{};

    // main.cf's and master.cf's values are as private as those files.
    bool private_config = IsRestricted(model_.config_directory + "/main.cf") ||
                          (model_.has_master_cf && IsRestricted(model_.config_directory + "/master.cf"));
    AddFile(mail::SectionKind::kParameters, "params.cdb", "", parameters_.size(), mail::WriteCdb(parameters_),
            private_config);
    mail::SettingsMap settings = Settings();
    AddFile(mail::SectionKind::kSettings, "settings.bin", "", settings.size(), mail::EncodeSettings(settings),
            private_config);
    AddFile(mail::SectionKind::kServices, "services.bin", "", model_.master_cf.services.size(), Services(),
            private_config);
    AddFile(mail::SectionKind::kPolicy, "policy.bc", "", program.code.size(), mail::EncodeProgram(program));
    for (size_t i = 0; i < service_programs.size(); ++i) {
      char number[32];
      std::snprintf(number, sizeof number, "%03zu", i);
      const auto& [service, service_program] = service_programs[i];
      AddFile(mail::SectionKind::kServicePolicy, std::string("services/") + number + ".bc", service,
              service_program.code.size(), mail::EncodeProgram(service_program));
    }
    int index = 0;
    for (const auto& [text, use] : tables_) EmitTable(use, index++);
    if (!includes_.empty())
      AddFile(mail::SectionKind::kIncludes, "includes.cdb", "", includes_.size(), mail::WriteCdb(includes_),
              restricted_includes_);
    // The manifest describes everything above, and is itself covered by IMAGE.
    std::string manifest = Manifest();
    sections_.insert(sections_.begin(), Section(mail::SectionKind::kManifest, "MANIFEST", "", 0, manifest));
    files_.insert(files_.begin(), ImageFile{"MANIFEST", manifest, nullptr, false});

    mail::ImageHeader header;
    header.compiler_version = options_.compiler_version;
    header.sections = sections_;
    BuiltImage image;
    std::string header_bytes = mail::EncodeImageHeader(header);
    image.id = Sha256Hex(header_bytes);
    image.files.push_back(ImageFile{std::string(mail::kImageHeaderFile), std::move(header_bytes), nullptr, false});
    for (ImageFile& f : files_) image.files.push_back(std::move(f));
    return image;
  }

 private:
  std::string DisplayPath(const std::string& path) const {
    const std::string prefix = model_.config_directory + "/";
    return StartsWith(path, prefix) ? path.substr(prefix.size()) : path;
  }

  tables::TableLoadOptions table_options() const { return check::TableOptions(model_); }

  // `known`: its sha256 when it was read already (a compiled table's).
  void AddSource(const std::string& path, const std::string& known = "") {
    // Read through a buffer: a table's source may be large.
    Result<std::string> sha = known.empty() ? Sha256HexOfPath(path) : Result<std::string>(known);
    if (sha.ok()) sources_[DisplayPath(path)] = *sha;
  }

  std::string Expanded(const std::string& name) const { return Expanded(*model_.parameters, name); }

  static std::string Expanded(const config::ParameterSet& parameters, const std::string& name) {
    if (config::IsRawParameter(name)) return parameters.Raw(name).value_or("");
    config::MacroExpander expander = parameters.Expander();
    return parameters.Expanded(name, &expander);
  }

  // The restriction lists (and policy files) of one parameter set as
  // bytecode; `values` are that set's expanded parameters.
  mail::Program CompilePolicy(const config::ParameterSet& parameters, const std::map<std::string, std::string>& values,
                              const std::vector<policy::AstFile>& policy_files, DiagnosticSink* diagnostics) {
    policy::PolicyIr ir = lower::LowerRestrictions(model_, parameters, diagnostics);
    policy::PolicyLoweringOptions lowering;
    lowering.parameter = [&values](std::string_view name) -> std::optional<std::string> {
      auto it = values.find(std::string(name));
      if (it == values.end()) return std::nullopt;
      return it->second;
    };
    policy::LowerPolicy(policy_files, lowering, &ir, diagnostics);
    for (const auto& [reference, set] : ir.sets) synthetic_[reference] = SetTable(set);
    for (const std::string& reference : ir.tables) AddTableUse(reference);
    lower::CodegenOptions codegen;
    codegen.parameter = [&values](const std::string& name) {
      auto it = values.find(name);
      return it == values.end() ? std::string() : it->second;
    };
    return lower::Codegen(ir, codegen, diagnostics);
  }

  // The policy of each smtpd service whose overrides change it, by service
  // name. What its lists have in common with main.cf's was reported when
  // main.cf's were compiled, and is not reported again per service.
  std::vector<std::pair<std::string, mail::Program>> CompileServicePolicies(
      const mail::Program& main_program, const std::vector<policy::AstFile>& policy_files) {
    std::vector<std::pair<std::string, mail::Program>> out;
    std::string main_code = mail::EncodeProgram(main_program);
    for (const ServiceValues& service : services_) {
      if (service.changed.empty()) continue;
      std::map<std::string, std::string> values = parameters_;
      for (const auto& [name, value] : service.changed) values[name] = value;
      DiagnosticSink sink;
      mail::Program program = CompilePolicy(*service.smtpd->parameters, values, policy_files, &sink);
      std::set<std::string> reported;
      for (const Diagnostic& d : diagnostics_->diagnostics()) reported.insert(RenderDiagnostic(d));
      for (const Diagnostic& d : sink.diagnostics()) {
        if (!reported.count(RenderDiagnostic(d))) diagnostics_->Add(d);
      }
      if (mail::EncodeProgram(program) != main_code) out.emplace_back(service.smtpd->service->name, std::move(program));
    }
    return out;
  }

  // A master.cf -o value as its service sees it: $service_name set, $names
  // expanded (raw parameters stay as written, like main.cf's).
  std::string Expanded(const config::MasterService& service, const config::ServiceOverride& o) const {
    std::string value = config::ServiceOverrideValue(service, o);
    if (config::IsRawParameter(o.name)) return value;
    config::MacroExpander expander = model_.parameters->Expander();
    return expander.Expand(value, o.name);
  }

  // Every supported parameter, plus the explicit names Postfix derives from
  // master.cf services (per-transport settings), with $names expanded and
  // /file elements of match lists replaced by the file's contents.
  void CollectParameters() {
    for (const config::ParameterSpec& spec : config::SupportedParameters()) {
      std::string name(spec.name);
      std::string value = Expanded(name);
      if (spec.type == ParameterType::kMatchList || spec.type == ParameterType::kNetworkList) {
        value = InlineListFiles(name, spec.type, value);
      }
      parameters_[name] = value;
      if (tables::ListMayReferenceTables(spec.type)) lists_.emplace_back(name, spec.type);
    }
    for (const std::string& name : model_.parameters->ExplicitNames()) {
      if (!parameters_.count(name) && !model_.unused_parameters.count(name)) parameters_[name] = Expanded(name);
    }
    for (const check::SmtpdService& smtpd : model_.smtpd_services) {
      ServiceValues service{&smtpd, {}};
      for (const config::ParameterSpec& spec : config::SupportedParameters()) {
        if (!(spec.per_service & config::kPerSmtpd)) continue;  // smtpd does not read it: main.cf's (PC0161)
        std::string name(spec.name);
        std::string value = Expanded(*smtpd.parameters, name);
        if (value == Expanded(name)) continue;
        if (spec.type == ParameterType::kMatchList || spec.type == ParameterType::kNetworkList) {
          value = InlineListFiles(name, spec.type, value);
        }
        if (value != parameters_[name]) service.changed[name] = value;
      }
      services_.push_back(std::move(service));
    }
  }

  // `value` in the type of `spec` (nullopt when it does not parse: the check
  // reported that, PC0110, and no image is made then).
  static std::optional<mail::SettingValue> Typed(const config::ParameterSpec& spec, const std::string& text) {
    mail::SettingValue v;
    v.text = text;
    std::string_view value = Trim(text);
    switch (spec.type) {
      case ParameterType::kBoolean: {
        std::optional<bool> b = config::ParseBoolean(value);
        if (!b) return std::nullopt;
        v.kind = mail::SettingKind::kBoolean;
        v.number = *b ? 1 : 0;
        return v;
      }
      case ParameterType::kInteger: {
        long long n = 0;
        if (!ParseDecimal(value, &n)) return std::nullopt;
        v.kind = mail::SettingKind::kInteger;
        v.number = n;
        return v;
      }
      case ParameterType::kTime: {
        std::optional<long long> seconds = ParseTime(value, spec.extra.empty() ? 's' : spec.extra.front());
        if (!seconds) return std::nullopt;
        v.kind = mail::SettingKind::kSeconds;
        v.number = *seconds;
        return v;
      }
      default:
        v.kind = mail::SettingKind::kText;
        return v;
    }
  }

  // Every described parameter in its type, as the check validated it; for
  // an smtpd service, each value its overrides change as "<service>/<name>",
  // and for other services each -o override of one the same way; and the
  // per-transport parameters posternd applies (config::TransportParameterSpec).
  mail::SettingsMap Settings() const {
    mail::SettingsMap out;
    for (const config::ParameterSpec& spec : config::SupportedParameters()) {
      auto it = parameters_.find(std::string(spec.name));
      if (it == parameters_.end()) continue;
      if (auto typed = Typed(spec, it->second)) out.emplace(std::string(spec.name), std::move(*typed));
    }
    for (const std::string& name : model_.parameters->ExplicitNames()) {
      if (auto spec = config::TransportParameterSpec(name)) {
        if (auto typed = Typed(*spec, Expanded(name))) out.emplace(name, std::move(*typed));
      }
    }
    for (const ServiceValues& service : services_) {
      for (const auto& [name, value] : service.changed) {
        if (auto typed = Typed(*config::FindParameter(name), value)) {
          out[service.smtpd->service->name + "/" + name] = std::move(*typed);
        }
      }
    }
    for (const config::MasterService& s : model_.master_cf.services) {
      if (&check::ServiceParameters(model_, s) != model_.parameters.get()) continue;  // an smtpd service: above
      for (const config::ServiceOverride& o : s.overrides) {
        std::optional<config::ParameterSpec> limit = config::TransportParameterSpec(o.name);
        const config::ParameterSpec* spec = limit ? &*limit : config::FindParameter(o.name);
        if (spec == nullptr) continue;
        if (auto typed = Typed(*spec, Expanded(s, o))) out[s.name + "/" + o.name] = std::move(*typed);
      }
    }
    return out;
  }

  std::string InlineListFiles(const std::string& name, ParameterType type, const std::string& value) {
    auto items = tables::ClassifyListItems(name, type, value);
    bool has_file = std::any_of(items.begin(), items.end(),
                                [](const tables::ListItem& i) { return i.kind == tables::ListItem::Kind::kFile; });
    if (!has_file) return value;
    std::vector<std::string> out;
    for (const tables::ListItem& item : items) {
      std::string prefix = item.negate ? "!" : "";
      if (item.kind != tables::ListItem::Kind::kFile) {
        bool needs_braces =
            item.text.find_first_of(" \t,") != std::string::npos && item.text.find('{') == std::string::npos;
        out.push_back(prefix + (needs_braces ? "{" + item.text + "}" : item.text));
        continue;
      }
      std::string path = tables::ResolveTablePath(item.text, table_options());
      auto file = SourceFile::Read(path);
      if (!file.ok()) {
        diagnostics_->FileWarning("PE0403", path,
                                  "file listed in " + name + " cannot be read: " + file.status().message());
        continue;
      }
      sources_[DisplayPath(path)] = Sha256Hex(file.value()->text());
      for (std::string_view line : SplitAny(file.value()->text(), "\n")) {
        size_t hash = line.find('#');
        if (hash != std::string_view::npos) line = line.substr(0, hash);
        for (std::string& word : SplitAny(line, " \t\r,")) out.push_back(prefix + word);
      }
    }
    return Join(out, ", ");
  }

  void CollectTables() {
    // A file listed in alias_maps is an aliases(5) file wherever else it is
    // named (local_recipient_maps = $alias_maps reads the same database).
    std::set<std::string> alias_files;
    for (const char* name : {"alias_maps", "alias_database"}) {
      for (const auto& item : tables::ClassifyListItems(name, ParameterType::kTableList, parameters_[name])) {
        if (item.table) alias_files.insert(item.table->ToString());
      }
    }
    alias_files_ = std::move(alias_files);
    for (const auto& [name, type] : lists_) {
      for (const auto& item : tables::ClassifyListItems(name, type, parameters_[name])) {
        if (item.kind == tables::ListItem::Kind::kTable) AddTableUse(item.text);
      }
      for (const ServiceValues& service : services_) {
        auto changed = service.changed.find(name);
        if (changed == service.changed.end()) continue;
        for (const auto& item : tables::ClassifyListItems(name, type, changed->second)) {
          if (item.kind == tables::ListItem::Kind::kTable) AddTableUse(item.text);
        }
      }
    }
  }

  // Whether a parameter set in main.cf names the table (as opposed to only
  // a default).
  bool IsConfigured(const std::string& text) const {
    for (const std::string& name : model_.parameters->ExplicitNames()) {
      config::MacroExpander expander = model_.parameters->Expander();
      if (model_.parameters->Expanded(name, &expander).find(text) != std::string::npos) return true;
    }
    return false;
  }

  // The lookup table a policy language set becomes in the image.
  static std::shared_ptr<const mail::LookupTable> SetTable(const policy::PolicyIr::Set& set) {
    if (set.kind == policy::PolicyIr::Set::Kind::kCidr) {
      std::vector<mail::PatternRule> rules;
      for (const std::string& item : set.items) {
        std::string error;
        mail::PatternRule rule;
        rule.cidr = mail::ParseCidrBlock(item, &error);
        if (!rule.cidr) continue;  // reported by the lowering
        rule.replacement = "1";
        rules.push_back(std::move(rule));
      }
      return std::make_shared<mail::PatternTable>(std::move(rules));
    }
    auto table = std::make_shared<mail::ExactTable>();
    for (const std::string& item : set.items) table->Insert(item, "1");
    return table;
  }

  // A table named in a list (or by the policy), once, with its format.
  void AddTableUse(const std::string& text) {
    if (tables_.count(text)) return;
    if (synthetic_.count(text)) {
      tables_.emplace(text,
                      TableUse{text, false, tables::TableReference{"set", text, tables::TableFormat::kText, false}});
      return;
    }
    auto reference = tables::ParseTableReference(text);
    if (!reference) return;
    TableUse use{text, false, *reference};
    if (alias_files_.count(use.reference.ToString()) && use.reference.format == tables::TableFormat::kText &&
        use.reference.type != "texthash") {
      use.reference.format = tables::TableFormat::kAliases;
    }
    use.aliases = use.reference.format == tables::TableFormat::kAliases;
    tables_.emplace(text, std::move(use));
  }

  tables::LoadedTable Load(const TableUse& use) {
    for (const tables::LoadedTable& loaded : model_.tables) {
      if (loaded.table && loaded.reference.ToString() == use.reference.ToString() &&
          loaded.reference.format == use.reference.format) {
        return loaded;
      }
    }
    // Tables only defaults refer to (alias_maps = hash:/etc/aliases) were not
    // loaded by the checker; their problems are reported here.
    SourceLocation where{model_.main_cf.file, 0, 0};
    return tables::LoadTable(use.reference, table_options(), where, diagnostics_);
  }

  void EmitTable(const TableUse& use, int index) {
    char number[16];
    std::snprintf(number, sizeof number, "%03d", index);
    std::string base = std::string("tables/") + number;
    if (use.reference.format == tables::TableFormat::kUnsupported && !IsConfigured(use.text)) {
      // Postfix's defaults name tables of live services (alias_maps has
      // nis:mail.aliases); without such a service Postfix finds nothing in
      // them, and so does the image.
      diagnostics_->FileWarning("PE0404", model_.config_directory + "/main.cf",
                                "default table " + use.text + " is not supported; the image holds it as empty",
                                "set the parameter explicitly to silence this");
      AddFile(mail::SectionKind::kExactTable, base + ".cdb", use.text, 0,
              mail::WriteCdb(std::map<std::string, std::string>{}));
      return;
    }
    tables::LoadedTable loaded;
    if (auto it = synthetic_.find(use.text); it != synthetic_.end()) {
      loaded.table = it->second;
    } else {
      loaded = Load(use);
    }
    if (!loaded.table) {
      diagnostics_->FileError("PE0401", model_.config_directory + "/main.cf",
                              "table " + use.text + " cannot be put in the image");
      return;
    }
    if (!loaded.source_path.empty()) AddSource(loaded.source_path, loaded.source_sha256);
    bool restricted = !loaded.source_path.empty() && IsRestricted(loaded.source_path);
    const mail::LookupTable* table = loaded.table.get();
    if (loaded.live) {
      AddFile(mail::SectionKind::kLiveTable, base + ".live", use.text, 0, servers::EncodeLiveTable(*loaded.live),
              restricted);
    } else if (loaded.compiled) {
      if (use.aliases) CollectIncludes(*table);
      AddCompiledFile(base + ".cdb", use.text, loaded.entry_count, loaded.compiled, restricted);
    } else if (auto* exact = dynamic_cast<const mail::ExactTable*>(table)) {
      if (use.aliases) CollectIncludes(*table);
      AddFile(mail::SectionKind::kExactTable, base + ".cdb", use.text, exact->size(), mail::WriteCdb(exact->entries()),
              restricted);
    } else if (auto* pattern = dynamic_cast<const mail::PatternTable*>(table)) {
      AddFile(mail::SectionKind::kPatternTable, base + ".pat", use.text, pattern->rules().size(),
              mail::EncodePatternRules(pattern->rules()), restricted);
    } else if (auto* database = dynamic_cast<const mail::DatabaseTable*>(table)) {
      // No database key is empty (Postfix never queries an empty key), so
      // the empty key holds the rules.
      auto* rows = dynamic_cast<const tables::DatabaseRows*>(&database->rows());
      mail::CdbWriter cdb;
      Status written = cdb.Add("", mail::EncodeDatabaseRules(database->rules())).status();
      rows->ForEach([&](std::string_view key, const std::string& values) {
        if (written.ok()) written = cdb.Add(key, values).status();
      });
      Result<uint64_t> finished = written.ok() ? cdb.Finish() : Result<uint64_t>(written);
      AddFile(mail::SectionKind::kDatabaseTable, base + ".db.cdb", use.text, rows->key_count(),
              finished.ok() ? Result<std::string>(std::move(cdb.bytes())) : Result<std::string>(finished.status()),
              restricted);
    } else if (auto* fixed = dynamic_cast<const mail::StaticTable*>(table)) {
      AddFile(mail::SectionKind::kStaticTable, base + ".static", use.text, 1, fixed->value(), restricted);
    } else if (dynamic_cast<const mail::PasswdTable*>(table) != nullptr) {
      sections_.push_back(Section(mail::SectionKind::kPasswdTable, "", use.text, 0, ""));
    } else if (dynamic_cast<const mail::FailTable*>(table) != nullptr) {
      sections_.push_back(Section(mail::SectionKind::kFailTable, "", use.text, 0, ""));
    }
  }

  // :include:/path destinations in aliases: the file's addresses go into the
  // image, so delivery never reads configuration text.
  void CollectIncludes(const mail::LookupTable& aliases) {
    aliases.ForEachEntry([&](std::string_view key, std::string_view value) { CollectIncludes(key, value); });
  }

  void CollectIncludes(std::string_view key, std::string_view value) {
    {
      for (const std::string& destination : mail::ParseAddressList(value)) {
        if (!StartsWith(ToLower(destination), ":include:")) continue;
        std::string path = destination.substr(9);
        if (includes_.count(path)) continue;
        auto file = SourceFile::Read(tables::ResolveTablePath(path, table_options()));
        if (!file.ok()) {
          diagnostics_->FileWarning(
              "PE0402", path,
              "include file for alias \"" + std::string(key) + "\" cannot be read: " + file.status().message(),
              "delivery to this alias would be deferred");
          continue;
        }
        sources_[DisplayPath(file.value()->name())] = Sha256Hex(file.value()->text());
        restricted_includes_ = restricted_includes_ || IsRestricted(file.value()->name());
        std::vector<std::string> addresses;
        for (std::string_view line : SplitAny(file.value()->text(), "\n")) {
          std::string_view trimmed = Trim(line);
          if (trimmed.empty() || trimmed.front() == '#') continue;
          for (std::string& a : mail::ParseAddressList(trimmed)) addresses.push_back(std::move(a));
        }
        includes_[path] = Join(addresses, ", ");
      }
    }
  }

  std::string Services() const {
    std::vector<mail::ServiceEntry> services;
    for (const config::MasterService& s : model_.master_cf.services) {
      long long limit = 0;
      uint32_t process_limit = mail::kDefaultProcessLimit;
      if (s.max_process != "-" && ParseDecimal(s.max_process, &limit)) {  // the parser checked it
        process_limit = static_cast<uint32_t>(std::min<long long>(limit, mail::kDefaultProcessLimit - 1));
      }
      mail::ServiceEntry e{s.name, s.type, s.command, process_limit, s.arguments, {}};
      // Expanded here, as main.cf's values are: the runtime reads values.
      for (const config::ServiceOverride& o : s.overrides) e.overrides.emplace_back(o.name, Expanded(s, o));
      services.push_back(std::move(e));
    }
    return mail::EncodeServices(services);
  }

  static mail::ImageSection Section(mail::SectionKind kind, std::string path, std::string reference, uint64_t entries,
                                    const std::string& bytes) {
    mail::ImageSection s;
    s.kind = kind;
    s.path = std::move(path);
    s.reference = std::move(reference);
    s.size = bytes.size();
    s.entries = entries;
    s.sha256 = s.path.empty() ? "" : Sha256Hex(bytes);
    return s;
  }

  // Whether others may not read `path` (it has no read bit for them).
  static bool IsRestricted(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) == 0;
  }

  void AddFile(mail::SectionKind kind, const std::string& path, const std::string& reference, uint64_t entries,
               Result<std::string> bytes, bool restricted = false) {
    if (!bytes.ok()) {
      diagnostics_->FileError("PE0401", path, bytes.status().message());
      return;
    }
    sections_.push_back(Section(kind, path, reference, entries, *bytes));
    files_.push_back(ImageFile{path, std::move(bytes).value(), nullptr, restricted});
  }

  // A table compiled to a file: hashed through a buffer, never read whole.
  void AddCompiledFile(const std::string& path, const std::string& reference, uint64_t entries,
                       std::shared_ptr<const tables::CompiledFile> file, bool restricted) {
    Result<std::string> sha = Sha256HexOfDescriptor(file->fd(), file->size());
    if (!sha.ok()) {
      diagnostics_->FileError("PE0401", path, sha.status().message());
      return;
    }
    mail::ImageSection s;
    s.kind = mail::SectionKind::kExactTable;
    s.path = path;
    s.reference = reference;
    s.size = file->size();
    s.entries = entries;
    s.sha256 = *sha;
    sections_.push_back(std::move(s));
    files_.push_back(ImageFile{path, "", std::move(file), restricted});
  }

  std::string Manifest() const {
    std::string m = "# Postern image manifest\n";
    m += "format-version: " + std::to_string(mail::kImageFormatVersion) + "\n";
    m += "compiler-version: " + options_.compiler_version + "\n";
    m += "parameters: " + std::to_string(parameters_.size()) + "\n";
    m += "\n[sources]  sha256  path\n";
    for (const auto& [path, sha] : sources_) m += sha + "  " + path + "\n";
    m += "\n[tables]  file  entries  reference\n";
    for (const mail::ImageSection& s : sections_) {
      if (s.reference.empty()) continue;
      m += (s.path.empty() ? "(system)" : s.path) + "  " + std::to_string(s.entries) + "  " + s.reference + "\n";
    }
    m += "\n[files]  sha256  bytes  path\n";
    for (const mail::ImageSection& s : sections_) {
      if (!s.path.empty()) m += s.sha256 + "  " + std::to_string(s.size) + "  " + s.path + "\n";
    }
    return m;
  }

  // An smtpd service's parameters that its overrides change (expanded,
  // as parameters_ holds main.cf's).
  struct ServiceValues {
    const check::SmtpdService* smtpd;
    std::map<std::string, std::string> changed;
  };

  const check::Model& model_;
  const ImageBuildOptions& options_;
  DiagnosticSink* diagnostics_;
  std::map<std::string, std::string> parameters_;
  std::vector<ServiceValues> services_;
  std::vector<std::pair<std::string, ParameterType>> lists_;
  std::map<std::string, TableUse> tables_;
  std::set<std::string> alias_files_;
  std::map<std::string, std::shared_ptr<const mail::LookupTable>> synthetic_;  // policy sets
  std::map<std::string, std::string> includes_;
  bool restricted_includes_ = false;            // an :include: file others may not read
  std::map<std::string, std::string> sources_;  // display path -> sha256
  std::vector<mail::ImageSection> sections_;
  std::vector<ImageFile> files_;
};

}  // namespace

size_t BuiltImage::total_bytes() const {
  size_t n = 0;
  for (const ImageFile& f : files) n += f.size();
  return n;
}

BuiltImage BuildImage(const check::Model& model, const ImageBuildOptions& options, DiagnosticSink* diagnostics) {
  return Builder(model, options, diagnostics).Build();
}

}  // namespace postern::emit
