// pipe_delivery.cc: see pipe_delivery.h.
#include "runtime/delivery/pipe_delivery.h"

#include <optional>

#include "mail/address.h"
#include "runtime/delivery/command_runner.h"
#include "runtime/delivery/local_delivery.h"
#include "util/strings.h"

namespace postern::delivery {

using mail::DeliveryStatus;

std::string PipeCopy(const PipeRequest& r) {
  const mail::PipeFlags& f = r.settings.flags;
  const std::string& eol = r.settings.eol;
  std::string sender = r.values.sender.empty() ? r.settings.null_sender : r.values.sender;
  std::string quoted_sender = sender.empty() ? "" : mail::QuoteLocalPart(sender);
  std::string out;
  out.reserve(r.content.size() + 256);
  if (f.from_line) {
    out += "From " + (sender.empty() ? std::string("MAILER-DAEMON") : quoted_sender) + "  " +
           FormatTime(r.now, "%a %b %e %H:%M:%S %Y") + eol;
  }
  if (f.return_path) out += "Return-Path: <" + quoted_sender + ">" + eol;
  // O and D are refused for more than one recipient before this is written.
  const mail::PipeRecipient* first = r.values.recipients.empty() ? nullptr : &r.values.recipients.front();
  if (f.original_to && first != nullptr && !first->original.empty()) {
    out += "X-Original-To: " + mail::QuoteLocalPart(first->original) + eol;
  }
  if (f.delivered_to && first != nullptr) out += "Delivered-To: " + mail::QuoteLocalPart(first->address) + eol;
  size_t at = 0;
  while (at < r.content.size()) {
    size_t end = r.content.find('\n', at);
    std::string_view line = r.content.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (f.quote_from && StartsWith(line, "From ")) out += '>';
    if (f.dot_stuff && StartsWith(line, ".")) out += '.';
    out += line;
    out += eol;
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  if (f.blank_line) out += eol;
  return out;
}

DeliveryStatus DeliverToPipe(const PipeRequest& r) {
  const mail::PipeService& s = r.settings;
  const std::vector<mail::PipeRecipient>& recipients = r.values.recipients;
  auto configuration_error = [] { return DeliveryStatus::Local(450, "4.3.5", "mail system configuration error"); };
  if (recipients.empty()) return configuration_error();
  // pipe(8) logs which limit to set; the text the sender sees stays vague.
  if ((s.flags.delivered_to || s.flags.original_to) && recipients.size() > 1) return configuration_error();
  if (s.size_limit != 0 && r.values.size > s.size_limit) {
    return DeliveryStatus::Local(550, "5.2.3", "message too large");
  }
  if (s.flags.delivered_to && AlreadyDelivered(r.content, recipients.front().address)) {
    return DeliveryStatus::Local(550, "5.4.6", "mail forwarding loop for " + recipients.front().address);
  }
  CommandSpec spec;
  spec.argv = mail::ExpandPipeArguments(s, r.values);
  if (spec.argv.empty() || spec.argv.front().empty()) return configuration_error();
  spec.environment = r.environment;
  std::string copy = PipeCopy(r);
  spec.input = copy;
  spec.time_limit = r.time_limit;
  spec.working_directory = r.working_directory;
  CommandResult result = RunCommand(spec);
  if (std::optional<DeliveryStatus> failed = CommandFailure(result, spec.argv.front())) return *failed;
  std::string text = "delivered via " + r.service + " service";
  if (!result.output.empty()) text += " (" + result.output + ")";
  return DeliveryStatus::Local(250, "2.0.0", std::move(text));
}

}  // namespace postern::delivery
