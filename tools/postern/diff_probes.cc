// diff_probes.cc: see diff_probes.h.
#include "tools/postern/diff_probes.h"

#include <algorithm>
#include <functional>

#include "mail/database_table.h"
#include "mail/ip_address.h"
#include "mail/parameter_list.h"
#include "runtime/image/image_parameters.h"
#include "util/strings.h"

namespace postern::cli {
namespace {

using mail::AccessKey;
using mail::Field;

// The keys of a table whose keys can be listed (exact, database); none for
// pattern tables, live tables and the system's users (which differ by
// machine).
std::vector<std::string> TableKeys(const mail::LookupTable* table) {
  std::vector<std::string> keys;
  if (const auto* database = dynamic_cast<const mail::DatabaseTable*>(table)) return TableKeys(&database->rows());
  if (table != nullptr) {
    table->ForEachEntry([&](std::string_view key, std::string_view) {
      if (!key.empty()) keys.emplace_back(key);
    });
  }
  return keys;
}

// An address inside a CIDR block: its first host (the block itself for a
// single address).
std::string HostIn(const mail::CidrBlock& block) {
  mail::IpAddress host = block.network;
  if (block.prefix_length < block.network.bits()) ++host.bytes[host.size() - 1];
  return host.ToString();
}

std::vector<mail::CidrBlock> TableBlocks(const mail::LookupTable* table) {
  std::vector<mail::CidrBlock> blocks;
  if (const auto* pattern = dynamic_cast<const mail::PatternTable*>(table)) {
    for (const mail::PatternRule& rule : pattern->rules()) {
      if (rule.cidr && !rule.negate) blocks.push_back(*rule.cidr);
    }
  }
  return blocks;
}

bool IsDigitsAndDots(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

bool Plausible(std::string_view key) {
  return !key.empty() && key.find_first_of(" \t\r\n<>\"") == std::string_view::npos;
}

// An address in `domain` (".domain": in a subdomain of it).
std::string PostmasterOf(std::string_view domain) {
  return (domain.front() == '.' ? "postmaster@host" : "postmaster@") + std::string(domain);
}

// An address a table key stands for, as the table matches addresses.
std::string AddressOfKey(std::string_view key, const std::string& local_domain, bool local_names) {
  size_t at = key.find('@');
  if (at == std::string_view::npos) {
    if (local_names) return std::string(key) + "@" + local_domain;  // an alias name
    return PostmasterOf(key);
  }
  if (at == 0) return "no-such-user" + std::string(key);               // @domain: catch-all
  if (at + 1 == key.size()) return std::string(key) + kOutsideDomain;  // user@: any domain
  return std::string(key);
}

// A client an access key stands for: an address (a network: its first
// host) or a name.
ClientProbe ClientOfKey(std::string_view key, const std::string& origin) {
  if (mail::IpAddress::Parse(key)) return {std::string(key), "unknown", origin};
  if (IsDigitsAndDots(key) && key.back() != '.') {
    std::string address(key);
    size_t dots = static_cast<size_t>(std::count(address.begin(), address.end(), '.'));
    for (size_t i = dots; i < 2; ++i) address += ".0";
    if (dots < 3) address += ".1";
    if (mail::IpAddress::Parse(address)) return {address, "unknown", origin};
  }
  std::string name = key.front() == '.' ? "host" + std::string(key) : std::string(key);
  return {kOutsideClient, name, origin};
}

class Collector {
 public:
  Collector(const image::Image& image, Probes* probes) : image_(image), probes_(probes) {
    for (const std::string& item : Items("mydestination")) {
      if (!image::IsTableReference(item) && !item.empty()) {
        local_domain_ = item;
        break;
      }
    }
    if (local_domain_.empty()) local_domain_ = image.Text("myhostname");
  }

  void Run() {
    for (const char* list : {"mydestination", "virtual_alias_domains", "virtual_mailbox_domains", "relay_domains"}) {
      Domains(list);
    }
    for (const char* maps : {"virtual_alias_maps", "virtual_mailbox_maps", "relay_recipient_maps", "transport_maps",
                             "relocated_maps", "canonical_maps", "recipient_canonical_maps", "recipient_bcc_maps"}) {
      Addresses(maps, false);
    }
    Addresses("alias_maps", true);
    Addresses("local_recipient_maps", true);
    for (const std::string& item : Items("mynetworks")) Networks(item, "mynetworks");
    Logins();
    std::set<const mail::Program*> seen;
    for (const std::string& service : image_.SmtpdServices()) {
      auto view = image_.ForService(service);
      if (seen.insert(view->program()).second) Program(*view);
    }
    if (seen.insert(image_.program()).second) Program(image_);
  }

 private:
  std::vector<std::string> Items(std::string_view parameter) const {
    std::vector<std::string> items =
        mail::SplitParameterList(image_.Text(parameter)).value_or(std::vector<std::string>{});
    for (std::string& item : items) {
      if (!item.empty() && item.front() == '!') item.erase(0, 1);
    }
    return items;
  }

  void Domain(const std::string& domain, const std::string& origin) {
    if (!Plausible(domain) || domain.find('@') != std::string::npos) return;
    std::string host = domain.front() == '.' ? "host" + domain : domain;
    for (const char* user : {"postmaster@", "no-such-user@"}) {
      probes_->recipients.Add(user + host, origin);
      probes_->policy_recipients.Add(user + host, origin);
    }
  }

  void Domains(const char* list) {
    for (const std::string& item : Items(list)) {
      if (!image::IsTableReference(item)) {
        Domain(item, list);
        continue;
      }
      for (const std::string& key : TableKeys(image_.Table(item))) {
        size_t at = key.find('@');
        Domain(at == std::string::npos ? key : key.substr(at + 1), std::string(list) + " " + item);
      }
    }
  }

  void Addresses(const char* maps, bool local_names) {
    for (const std::string& item : Items(maps)) {
      if (!image::IsTableReference(item)) continue;
      std::string origin = std::string(maps) + " " + item;
      for (const std::string& key : TableKeys(image_.Table(item))) {
        if (!Plausible(key) || key == "*") continue;
        probes_->recipients.Add(AddressOfKey(key, local_domain_, local_names), origin);
      }
    }
  }

  void Networks(const std::string& item, const std::string& origin) {
    std::string error;
    if (image::IsTableReference(item)) {
      for (const mail::CidrBlock& block : TableBlocks(image_.Table(item))) {
        probes_->clients.Add({HostIn(block), "unknown", origin + " " + item});
      }
      for (const std::string& key : TableKeys(image_.Table(item))) {
        probes_->clients.Add(ClientOfKey(key, origin + " " + item));
      }
    } else if (auto block = mail::ParseCidrBlock(item, &error)) {
      probes_->clients.Add({HostIn(*block), "unknown", origin});
    }
  }

  // smtpd_sender_login_maps: the senders it owns and their owners' logins.
  void Logins() {
    for (const std::string& item : Items("smtpd_sender_login_maps")) {
      const mail::LookupTable* table = image_.Table(item);
      if (table == nullptr) continue;
      std::string origin = "smtpd_sender_login_maps " + item;
      for (const std::string& key : TableKeys(table)) {
        if (!Plausible(key)) continue;
        probes_->senders.Add(AddressOfKey(key, local_domain_, false), origin);
        for (const std::string& login :
             mail::SplitParameterList(table->Lookup(key).value_or("")).value_or(std::vector<std::string>{})) {
          if (Plausible(login)) probes_->logins.Add(login, origin);
        }
      }
    }
  }

  void Keys(AccessKey kind, const mail::LookupTable* table, const std::string& origin) {
    for (const mail::CidrBlock& block : TableBlocks(table)) {
      if (kind == AccessKey::kClient || kind == AccessKey::kReverseClient) {
        probes_->clients.Add({HostIn(block), "unknown", origin});
      }
    }
    for (const std::string& key : TableKeys(table)) {
      if (!Plausible(key)) continue;
      switch (kind) {
        case AccessKey::kClient:
        case AccessKey::kReverseClient:
          probes_->clients.Add(ClientOfKey(key, origin));
          break;
        case AccessKey::kHelo:
          probes_->helos.Add(key.front() == '.' ? "host" + key : key, origin);
          break;
        case AccessKey::kSender:
          probes_->senders.Add(AddressOfKey(key, local_domain_, false), origin);
          break;
        case AccessKey::kRecipient:
          probes_->recipients.Add(AddressOfKey(key, local_domain_, false), origin);
          probes_->policy_recipients.Add(AddressOfKey(key, local_domain_, false), origin);
          break;
        case AccessKey::kSasl:
          probes_->logins.Add(key, origin);
          break;
        case AccessKey::kCcert:
          break;
      }
    }
  }

  // A policy language condition's constant or table, as the probe of its field.
  void Value(Field field, const std::string& value, const std::string& origin) {
    if (!Plausible(value)) return;
    switch (field) {
      case Field::kClientAddress:
        probes_->clients.Add(ClientOfKey(value, origin));
        break;
      case Field::kClientName:
      case Field::kReverseClientName:
        probes_->clients.Add({kOutsideClient, value, origin});
        break;
      case Field::kHelo:
        probes_->helos.Add(value, origin);
        break;
      case Field::kSender:
        probes_->senders.Add(value, origin);
        break;
      case Field::kSenderDomain:
        probes_->senders.Add(PostmasterOf(value), origin);
        break;
      case Field::kRecipient:
        probes_->policy_recipients.Add(value, origin);
        break;
      case Field::kRecipientDomain:
        probes_->policy_recipients.Add(PostmasterOf(value), origin);
        break;
      case Field::kSaslUsername:
        probes_->logins.Add(value, origin);
        break;
      default:
        break;
    }
  }

  void Program(const image::Image& view) {
    const mail::Program& p = *view.program();
    std::string where = view.service().empty() ? "" : ", service " + view.service();
    for (const mail::AccessSpec& spec : p.access) {
      const std::string& reference = p.tables[spec.table];
      Keys(spec.key, view.Table(reference), reference + " (" + mail::AccessKeyName(spec.key) + " access" + where + ")");
    }
    for (const mail::TestSpec& test : p.tests) {
      std::string origin = std::string("policy condition on ") + mail::FieldName(test.field) +
                           (where.empty() ? "" : " (" + where.substr(2) + ")");
      if (test.op == mail::TestOp::kEq && test.value < p.constants.size()) {
        Value(test.field, p.constants[test.value], origin);
      } else if (test.op == mail::TestOp::kIn && test.table < p.tables.size()) {
        const mail::LookupTable* table = view.Table(p.tables[test.table]);
        for (const mail::CidrBlock& block : TableBlocks(table)) Value(test.field, HostIn(block), origin);
        for (const std::string& key : TableKeys(table)) Value(test.field, key, origin);
      }
    }
  }

  const image::Image& image_;
  Probes* probes_;
  std::string local_domain_;
};

}  // namespace

void ProbeList::Add(std::string value, std::string origin) {
  if (!seen_.insert(value).second) return;
  items_.push_back({std::move(value), std::move(origin)});
}

void ClientList::Add(ClientProbe client) {
  if (!seen_.insert({client.address, client.name}).second) return;
  items_.push_back(std::move(client));
}

Probes BaseProbes() {
  Probes probes;
  std::string outside = std::string("someone@") + kOutsideDomain;
  probes.recipients.Add(outside, "a recipient outside every domain");
  probes.policy_recipients.Add(outside, "a recipient outside every domain");
  probes.clients.Add({kOutsideClient, "unknown", "a client outside every network"});
  probes.clients.Add({"127.0.0.1", "localhost", "the loopback client"});
  probes.senders.Add(outside, "a sender outside every domain");
  probes.senders.Add("", "the null sender");
  probes.helos.Add(std::string("mail.") + kOutsideDomain, "a client's HELO name");
  probes.helos.Add("elsewhere", "a HELO name that is not fully qualified");
  probes.logins.Add("probe-user", "an authenticated client");
  return probes;
}

void CollectProbes(const image::Image& image, Probes* probes) { Collector(image, probes).Run(); }

void CollectProbes(const std::string& file, const std::vector<TestCase>& cases, Probes* probes) {
  for (const TestCase& c : cases) {
    std::string origin = file + ":" + std::to_string(c.location.line);
    std::string client_address, client_name = "unknown";
    for (const TestStep& step : c.steps) {
      switch (step.kind) {
        case TestStep::Kind::kClient:
          probes->clients.Add({step.argument, step.name.empty() ? "unknown" : step.name, origin});
          break;
        case TestStep::Kind::kHelo:
          probes->helos.Add(step.argument, origin);
          break;
        case TestStep::Kind::kMail:
          probes->senders.Add(step.argument, origin);
          break;
        case TestStep::Kind::kRcpt:
          probes->recipients.Add(step.argument, origin);
          probes->policy_recipients.Add(step.argument, origin);
          break;
        case TestStep::Kind::kData:
          break;
      }
    }
    if (!c.sasl_username.empty()) probes->logins.Add(c.sasl_username, origin);
  }
}

}  // namespace postern::cli
