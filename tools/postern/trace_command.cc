// trace_command.cc: `postern trace`, what happens to mail for an address,
// step by step, computed by the runtime resolver on a compiled image (like
// `sendmail -bv`, without sending anything). With -c the configuration is
// compiled first, into a temporary images directory.
#include <iostream>
#include <nlohmann/json.hpp>

#include "mail/lookup_failure.h"
#include "mail/passwd_table.h"
#include "runtime/image/image.h"
#include "runtime/resolve/resolver.h"
#include "tools/postern/commands.h"
#include "tools/postern/image_compiler.h"
#include "util/strings.h"

namespace postern::cli {
namespace {

using resolve::Delivery;

nlohmann::json ResultJson(const Delivery& d) {
  if (d.status == Delivery::Status::kDeliver) {
    nlohmann::json j = {
        {"address", d.address}, {"transport", d.transport}, {"nexthop", d.nexthop}, {"class", d.address_class}};
    if (!d.detail.empty()) j["delivery"] = d.detail;
    return j;
  }
  return {
      {"address", d.address}, {"status", resolve::DeliveryStatusName(d.status)}, {"code", d.code}, {"text", d.text}};
}

nlohmann::json ResolutionJson(const resolve::Resolution& r) {
  nlohmann::json steps = nlohmann::json::array();
  for (const resolve::TraceStep& s : r.steps) {
    steps.push_back({{"stage", s.stage}, {"table", s.table}, {"key", s.key}, {"result", s.result}});
  }
  nlohmann::json results = nlohmann::json::array();
  for (const Delivery& d : r.results) results.push_back(ResultJson(d));
  nlohmann::json j = {{"input", r.input}, {"steps", steps}, {"results", results}};
  if (!r.sender.empty()) j["sender"] = r.sender;
  if (!r.lookup_failure.empty()) j["lookup_failure"] = r.lookup_failure;
  return j;
}

void PrintText(const resolve::Resolution& r) {
  std::cout << r.input << "\n";
  if (!r.sender.empty()) std::cout << "  sender     " << r.sender << "\n";
  for (const resolve::TraceStep& s : r.steps) {
    std::cout << "  " << s.stage << std::string(s.stage.size() < 10 ? 10 - s.stage.size() : 0, ' ') << " ";
    if (!s.table.empty()) std::cout << s.table << ": ";
    if (!s.key.empty()) std::cout << "\"" << s.key << "\" -> ";
    std::cout << s.result << "\n";
  }
  for (const Delivery& d : r.results) {
    if (d.status == Delivery::Status::kDeliver) {
      std::cout << "  => " << d.address << " via " << d.transport << ":" << d.nexthop << " (" << d.address_class
                << (d.detail.empty() ? "" : ", " + d.detail) << ")\n";
    } else {
      std::cout << "  => " << d.address << " " << resolve::DeliveryStatusName(d.status) << " " << d.code << " "
                << d.text << "\n";
    }
  }
}

}  // namespace

int RunTrace(const TraceOptions& options) {
  TemporaryImages temporary;
  int exit_code = 0;
  std::optional<std::string> image_path =
      ImageToUse("trace", options.image, options.config_directory, &temporary, &exit_code, options.defines);
  if (!image_path) return exit_code;
  auto image = image::Image::Load(
      *image_path, ToolLoadOptions(options.image.empty() ? options.config_directory : "", options.offline));
  if (!image.ok()) {
    std::cerr << "postern trace: " << image.status().message() << "\n";
    return 2;
  }
  std::shared_ptr<const mail::LookupTable> users;
  if (!options.users_file.empty()) {
    auto file = SourceFile::Read(options.users_file);
    if (!file.ok()) {
      std::cerr << "postern trace: " << file.status().message() << "\n";
      return 2;
    }
    users = mail::ParsePasswdText(file.value()->text());
  }
  // The service's view: smtpd's recipient checks read its -o overrides
  // (local_recipient_maps, ...); routing is main.cf's in every view.
  std::string service = options.service.empty() ? (*image)->DefaultSmtpdService() : options.service;
  auto view = (*image)->SmtpdService(service);
  if (!view.ok()) {
    std::cerr << "postern trace: --service " << service << ": " << view.status().message() << "\n";
    return 2;
  }
  resolve::Resolver resolver(*view, users);
  for (const std::string& missing : resolver.config().missing_tables) {
    std::cerr << "postern trace: warning: " << missing << " is not in the image; lookups in it defer\n";
  }
  resolve::ResolveOptions resolve_options;
  resolve_options.smtpd_checks = !options.no_smtpd_checks;
  // content_filter: what the service accepts goes to the filter first,
  // whatever the recipient (posternd freezes that route when it stores
  // the message); the routes below are those of what the filter re-injects.
  std::string filter(Trim((*view)->Text("content_filter")));
  nlohmann::json all = nlohmann::json::array();
  for (const std::string& address : options.addresses) {
    resolve::Resolution r = resolver.Resolve(address, resolve_options);
    if (!options.sender.empty()) {
      resolve::Resolution sender_trace;
      mail::LookupFailureScope lookups;
      r.sender = resolver.RewriteSender(options.sender, &sender_trace);
      if (lookups.failed()) {
        // cleanup(8) does not accept the message: the client is told to try again.
        sender_trace.steps.push_back({"lookup", "", "", lookups.reason()});
        r.lookup_failure = lookups.reason();
        r.results = {resolve::Deferred(r.input, 451, "4.3.0 Error: queue file write error")};
      }
      r.steps.insert(r.steps.begin(), sender_trace.steps.begin(), sender_trace.steps.end());
      for (auto it = r.steps.begin(); it != r.steps.begin() + static_cast<long>(sender_trace.steps.size()); ++it) {
        it->stage = "sender " + it->stage;
      }
    }
    if (options.json) {
      all.push_back(ResolutionJson(r));
      if (!filter.empty()) all.back()["content_filter"] = filter;
    } else {
      PrintText(r);
      if (!filter.empty()) {
        std::cout << "  (service " << service << " hands every message to its content_filter " << filter
                  << " first; the route above is taken when the filter re-injects it)\n";
      }
    }
  }
  if (options.json) std::cout << all.dump(2) << "\n";
  return 0;
}

}  // namespace postern::cli
