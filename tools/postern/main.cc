// main.cc: `postern`, the command-line front end: argument parsing and
// dispatch to the subcommands in commands.h.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "compiler/check/configuration.h"
#include "runtime/queue/queue_directory.h"
#include "tools/postern/commands.h"
#include "util/strings.h"

namespace postern::cli {

std::string DefaultConfigDirectory() {
  const char* env = std::getenv("MAIL_CONFIG");
  return env != nullptr && *env != '\0' ? env : "/etc/postfix";
}

std::string DefaultQueueDirectory() {
  std::string directory = DefaultConfigDirectory();
  std::string configured;
  if (PathExists(directory + "/main.cf")) {
    DiagnosticSink ignored;  // `postern check` reports on main.cf
    check::LoadOptions load;
    load.config_directory = directory;
    load.machine = config::MachineFacts::Probe();
    load.load_tables = false;
    check::Model model = check::LoadConfiguration(load, &ignored);
    config::MacroExpander expander = model.parameters->Expander();
    configured = std::string(Trim(model.parameters->Expanded("queue_directory", &expander)));
  }
  return queue::QueueDirectoryFor(configured);
}

}  // namespace postern::cli

int main(int argc, char** argv) {
  using namespace postern::cli;
  CLI::App app{"postern: compile, check and query Postfix-style mail configuration"};
  app.set_version_flag("-V,--version", std::string("postern ") + POSTERN_VERSION);
  app.require_subcommand(1);

  ConfOptions conf;
  auto* conf_cmd = app.add_subcommand("conf", "print main.cf parameters, like postconf");
  conf_cmd->add_option("-c,--config", conf.config_directory, "configuration directory");
  conf_cmd->add_flag("-n", conf.non_default, "only parameters set in main.cf");
  conf_cmd->add_flag("-d", conf.defaults, "default values");
  conf_cmd->add_flag("-x", conf.expand, "expand $name references");
  // -h is postconf's "value only", which scripts rely on; help is --help.
  conf_cmd->set_help_flag("--help", "print this help and exit");
  conf_cmd->add_flag("-h", conf.value_only, "print the values only, without the names");
  conf_cmd->add_flag("-M", conf.master_entries, "master.cf services, one line each (selectors: service[/type])");
  conf_cmd->add_flag("-F", conf.master_fields, "master.cf fields (selectors: service/type/field)");
  conf_cmd->add_flag("-P", conf.master_parameters, "master.cf -o overrides (selectors: service/type/name)");
  conf_cmd->add_option("names", conf.names, "parameter names, or with -M, -F, -P service selectors");

  QueryOptions query;
  auto* query_cmd = app.add_subcommand("query", "look a key up in tables, like postmap -q");
  query_cmd->add_option("-c,--config", query.config_directory, "configuration directory");
  query_cmd->add_flag("-a,--aliases", query.aliases, "read the tables in aliases(5) format, like postalias -q");
  query_cmd->add_flag("--offline", query.offline,
                      "do not ask the servers of live SQL and LDAP tables: a lookup in one is an error");
  query_cmd->add_option("key", query.key, "the key, or - to read keys from standard input")->required();
  query_cmd->add_option("tables", query.tables, "type:name tables, searched in order")->required();

  CheckOptions check;
  auto* check_cmd = app.add_subcommand("check", "validate a configuration and report every problem");
  check_cmd->add_option("-c,--config", check.config_directory, "configuration directory");
  check_cmd->add_option("-D,--define", check.defines,
                        "name=value: set a main.cf parameter for this run, after main.cf's own lines");
  check_cmd->add_option("--format", check.format, "text, json or sarif")
      ->check(CLI::IsMember({"text", "json", "sarif"}));
  check_cmd->add_flag("--werror", check.werror, "treat warnings as errors");
  check_cmd->add_flag("--hermetic", check.hermetic,
                      "warn of what an image compiled here would take from this machine (PC0170)");

  CompileOptions compile;
  auto* compile_cmd = app.add_subcommand("compile", "compile a configuration into an image and publish it");
  compile_cmd->add_option("-c,--config", compile.config_directory, "configuration directory");
  compile_cmd->add_option("-D,--define", compile.defines,
                          "name=value: set a main.cf parameter for this run, after main.cf's own lines");
  compile_cmd->add_option("-o,--output", compile.output_directory, "images directory (gets <id>/ and current)")
      ->required();
  compile_cmd->add_option("--keep", compile.keep, "previous images to keep")->check(CLI::NonNegativeNumber);
  compile_cmd
      ->add_option("--sign", compile.signing_key,
                   "sign the image with this Ed25519 private key (PEM: openssl genpkey -algorithm ed25519)")
      ->check(CLI::ExistingFile);

  VerifyOptions verify;
  auto* verify_cmd =
      app.add_subcommand("verify", "check that a trusted key signed an image (posternd --signature-keys)");
  verify_cmd->add_option("image", verify.image, "image, or images directory (its current image)")->required();
  verify_cmd->add_option("-k,--key", verify.key_files, "PEM public key file(s) to trust")
      ->required()
      ->check(CLI::ExistingFile);

  TraceOptions trace;
  auto* trace_cmd = app.add_subcommand("trace", "show how addresses are rewritten and routed, like sendmail -bv");
  auto* trace_config = trace_cmd->add_option("-c,--config", trace.config_directory, "configuration directory");
  trace_cmd->add_option("-D,--define", trace.defines, "name=value: set a main.cf parameter for the compile")
      ->allow_extra_args(false);  // the addresses follow
  trace_cmd->add_option("-i,--image", trace.image, "image or images directory")->excludes(trace_config);
  trace_cmd->add_option("-s,--sender", trace.sender, "envelope sender, rewritten as Postfix would");
  trace_cmd
      ->add_option("--users", trace.users_file,
                   "passwd(5) file of the local users to assume (default: this machine's users)")
      ->check(CLI::ExistingFile);
  trace_cmd->add_flag("--json", trace.json, "JSON output");
  trace_cmd->add_flag("--no-smtpd-checks", trace.no_smtpd_checks,
                      "skip the RCPT TO check for unknown users (trace as if the mail was already queued)");
  trace_cmd->add_option("--service", trace.service,
                        "the master.cf smtpd service whose recipient checks apply (default: smtp, else the first)");
  trace_cmd->add_flag("--offline", trace.offline,
                      "do not ask the servers of live SQL and LDAP tables: a lookup in one fails (deferred)");
  trace_cmd->add_option("addresses", trace.addresses, "recipient addresses")->required();

  DiffOptions diff;
  auto* diff_cmd = app.add_subcommand(
      "diff", "what behaves differently between two configurations: parameters, tables, services, routes, policy");
  diff_cmd->add_option("-c,--config", diff.git_directory,
                       "a configuration directory in git: OLD and NEW are revisions of it (NEW default: as it is now)");
  diff_cmd->add_option("old", diff.old_side, "configuration directory, image or images directory; with -c a revision")
      ->required();
  diff_cmd->add_option("new", diff.new_side, "likewise");
  // One value per occurrence: OLD and NEW follow the options.
  diff_cmd->add_option("-D,--define", diff.defines, "name=value: set a main.cf parameter for both compiles")
      ->allow_extra_args(false);
  diff_cmd
      ->add_option("--users", diff.users_file,
                   "passwd(5) file of the local users to assume (default: each configuration's tests/users or "
                   "trace/users, else this machine's users)")
      ->check(CLI::ExistingFile);
  diff_cmd->add_option("--format", diff.format, "text, markdown (a pull-request comment) or json")
      ->check(CLI::IsMember({"text", "markdown", "json"}));
  diff_cmd
      ->add_option("--fail-on", diff.fail_on,
                   "exit 1 only for these kinds of change: parameter, table, service, route, bounce, policy, relay")
      ->delimiter(',')
      ->allow_extra_args(false);
  diff_cmd->add_option("--limit", diff.limit, "items shown per section in text and markdown (0: all)");
  diff_cmd->add_flag("--offline", diff.offline,
                     "do not ask the servers of live SQL and LDAP tables: a lookup in one fails");

  DisasmOptions disasm;
  auto* disasm_cmd = app.add_subcommand("disasm", "print the policy bytecode of an image");
  auto* disasm_config = disasm_cmd->add_option("-c,--config", disasm.config_directory, "configuration directory");
  disasm_cmd->add_option("-i,--image", disasm.image, "image or images directory")->excludes(disasm_config);

  TestOptions test;
  auto* test_cmd = app.add_subcommand("test", "run policy and routing test cases on the compiled configuration");
  test_cmd->add_option("-c,--config", test.config_directory, "configuration directory");
  test_cmd
      ->add_option("-D,--define", test.defines,
                   "name=value: set a main.cf parameter for this run, after main.cf's own lines")
      ->allow_extra_args(false);  // the files follow
  test_cmd
      ->add_option("--users", test.users_file,
                   "passwd(5) file of the local users to assume (default: the configuration's tests/users or "
                   "trace/users, else this machine's users)")
      ->check(CLI::ExistingFile);
  test_cmd->add_option("--format", test.format, "text or junit")->check(CLI::IsMember({"text", "junit"}));
  test_cmd->add_flag("--print", test.print, "print every reply as JSON");
  test_cmd->add_option("--service", test.service,
                       "the master.cf smtpd service cases connect to, unless they say (default: smtp, else the first)");
  test_cmd->add_flag("--offline", test.offline,
                     "do not ask the servers of live SQL and LDAP tables: a lookup in one fails (451)");
  test_cmd->add_option("files", test.files, "test files (default: DIR/tests/*.test)");

  ControlOptions reload, status;
  reload.command = "reload";
  status.command = "status";
  auto* reload_cmd =
      app.add_subcommand("reload", "make a running posternd load IMAGES/current now; print the active image");
  auto* status_cmd = app.add_subcommand("status", "print the active image and counters of a running posternd");
  for (auto [cmd, options] : {std::pair{reload_cmd, &reload}, std::pair{status_cmd, &status}}) {
    cmd->add_option("-q,--queue", options->queue_directory,
                    "posternd's queue directory (default: as posternd picks it from main.cf)");
    cmd->add_option("--control", options->socket, "control socket (default: QUEUE/control)");
    cmd->add_flag("-j,--json", options->json, "posternd's answer as one JSON object");
  }

  QueueOptions queue;
  auto* queue_cmd =
      app.add_subcommand("queue", "look into posternd's queue and move its messages (mailq, postcat, postsuper)");
  queue_cmd->add_option("-q,--queue", queue.queue_directory,
                        "queue directory (default: as posternd picks it from main.cf)");
  queue_cmd->require_subcommand(1);
  auto* list_cmd = queue_cmd->add_subcommand("list", "every message, as mailq shows them");
  list_cmd->add_flag("-j,--json", queue.json, "one JSON object per message, as postqueue -j");
  auto* show_cmd = queue_cmd->add_subcommand("show", "a message's envelope and content, as postcat -q");
  show_cmd->add_option("ids", queue.ids, "queue ids")->required();
  for (auto [name, help] :
       {std::pair{"delete", "delete messages (postsuper -d)"}, std::pair{"hold", "put messages on hold (postsuper -h)"},
        std::pair{"release", "release messages from hold (postsuper -H)"},
        std::pair{"requeue", "deferred messages back to incoming, tried now with the current image (postsuper -r)"}}) {
    queue_cmd->add_subcommand(name, help)
        ->add_option("ids", queue.ids, "queue ids, or ALL [incoming|deferred|hold|corrupt]")
        ->required();
  }
  queue_cmd->add_subcommand("flush", "make a running posternd try its deferred mail now (postqueue -f)");
  QueueImpactOptions impact;
  auto* impact_cmd = queue_cmd->add_subcommand(
      "impact", "which queued recipients would route, expand or bounce differently under a new configuration");
  impact_cmd->add_option("new", impact.new_side, "configuration directory, image or images directory")->required();
  impact_cmd->add_option("--old", impact.old_side,
                         "the image (or configuration) to compare with (default: the one the running posternd serves)");
  impact_cmd->add_option("-D,--define", impact.defines, "name=value: set a main.cf parameter for the compiles")
      ->allow_extra_args(false);
  impact_cmd
      ->add_option("--users", impact.users_file,
                   "passwd(5) file of the local users to assume (default: this machine's users, as posternd)")
      ->check(CLI::ExistingFile);
  impact_cmd->add_flag("-j,--json", impact.json, "one JSON object with every change");

  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) known = known || sub->get_name() == argv[1];
    if (!known) {
      std::cerr << "postern: unknown command \"" << argv[1] << "\"\nRun with --help for the commands.\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (*conf_cmd) {
    conf.explicit_directory = !conf.config_directory.empty();
    if (!conf.explicit_directory) conf.config_directory = DefaultConfigDirectory();
    return RunConf(conf);
  }
  if (*query_cmd) {
    query.explicit_directory = !query.config_directory.empty();
    return RunQuery(query);
  }
  if (*compile_cmd) {
    if (compile.config_directory.empty()) compile.config_directory = DefaultConfigDirectory();
    return RunCompile(compile);
  }
  if (*verify_cmd) return RunVerify(verify);
  if (*trace_cmd) {
    if (trace.config_directory.empty()) trace.config_directory = DefaultConfigDirectory();
    return RunTrace(trace);
  }
  if (*test_cmd) {
    if (test.config_directory.empty()) test.config_directory = DefaultConfigDirectory();
    return RunTest(test);
  }
  if (*queue_cmd) {
    if (queue.queue_directory.empty()) queue.queue_directory = DefaultQueueDirectory();
    queue.action = queue_cmd->get_subcommands().front()->get_name();
    if (queue.action == "impact") {
      impact.queue_directory = queue.queue_directory;
      return RunQueueImpact(impact);
    }
    if (queue.action == "flush") {
      ControlOptions flush;
      flush.queue_directory = queue.queue_directory;
      flush.command = "flush";
      return RunControl(flush);
    }
    return RunQueue(queue);
  }
  if (*reload_cmd || *status_cmd) {
    ControlOptions& control = *reload_cmd ? reload : status;
    if (control.queue_directory.empty()) control.queue_directory = DefaultQueueDirectory();
    return RunControl(control);
  }
  if (*diff_cmd) {
    if (diff.git_directory.empty() && diff.new_side.empty()) {
      std::cerr << "postern diff: NEW is required unless -c names a git directory (then NEW is it as it is now)\n";
      return 2;
    }
    return RunDiff(diff);
  }
  if (*disasm_cmd) {
    if (disasm.config_directory.empty()) disasm.config_directory = DefaultConfigDirectory();
    return RunDisasm(disasm);
  }
  if (check.config_directory.empty()) check.config_directory = DefaultConfigDirectory();
  return RunCheck(check);
}
