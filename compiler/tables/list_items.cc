// list_items.cc: see list_items.h.
#include "compiler/tables/list_items.h"

#include "mail/ip_address.h"
#include "mail/parameter_list.h"
#include "util/strings.h"

namespace postern::tables {
namespace {

bool LooksLikeTable(std::string_view item) {
  size_t colon = item.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (char c : item.substr(0, colon)) {
    if (!IsAlpha(c)) return false;
  }
  return true;
}

}  // namespace

bool ListMayReferenceTables(config::ParameterType type) {
  using config::ParameterType;
  return type == ParameterType::kTableList || type == ParameterType::kMatchList ||
         type == ParameterType::kNetworkList || type == ParameterType::kRestrictionList;
}

std::vector<ListItem> ClassifyListItems(std::string_view name, config::ParameterType type, std::string_view expanded) {
  using config::ParameterType;
  bool aliases = name == "alias_maps" || name == "alias_database";
  std::vector<ListItem> items;
  std::string previous;
  for (std::string text : mail::SplitParameterList(expanded).value_or(std::vector<std::string>{})) {
    ListItem item;
    bool endpoint = previous == "check_policy_service";
    previous = text;
    if (endpoint) {
      item.kind = ListItem::Kind::kEndpoint;
      item.text = std::move(text);
      items.push_back(std::move(item));
      continue;
    }
    if (type == ParameterType::kMatchList || type == ParameterType::kNetworkList) {
      while (!text.empty() && text.front() == '!') {
        item.negate = !item.negate;
        text.erase(0, 1);
      }
    }
    item.text = text;
    bool table_like = LooksLikeTable(text);
    std::string error;
    if (type == ParameterType::kTableList) {
      table_like = true;
    } else if (type != ParameterType::kRestrictionList && !text.empty() && text.front() == '/') {
      item.kind = ListItem::Kind::kFile;
    } else if (type == ParameterType::kNetworkList && mail::ParseCidrBlock(text, &error)) {
      table_like = false;  // an IPv6 address is not a table
    }
    if (item.kind != ListItem::Kind::kFile && table_like && ListMayReferenceTables(type)) {
      item.table = ParseTableReference(text, aliases);
      item.kind = item.table ? ListItem::Kind::kTable : ListItem::Kind::kBadTable;
    }
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace postern::tables
