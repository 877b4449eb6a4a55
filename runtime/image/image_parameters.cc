// image_parameters.cc: see image_parameters.h.
#include "runtime/image/image_parameters.h"

#include "mail/parameter_list.h"
#include "util/strings.h"

namespace postern::image {

bool BoolParameter(const Image& image, std::string_view name) { return image.settings().Boolean(name); }

int64_t IntParameter(const Image& image, std::string_view name) { return image.settings().Integer(name); }

int64_t TimeParameter(const Image& image, std::string_view name) { return image.settings().Seconds(name); }

mail::NetworkList NetworkListParameter(const Image& image, std::string_view name) {
  std::vector<mail::NetworkList::Element> elements;
  for (std::string item : mail::SplitParameterList(image.Text(name)).value_or(std::vector<std::string>{})) {
    mail::NetworkList::Element e;
    while (!item.empty() && item.front() == '!') {
      e.negate = !e.negate;
      item.erase(0, 1);
    }
    std::string error;
    if (auto block = mail::ParseCidrBlock(item, &error)) {
      e.block = *block;
    } else if (const mail::LookupTable* table = image.Table(item)) {
      e.table = table;
    } else {
      continue;
    }
    elements.push_back(e);
  }
  return mail::NetworkList(std::move(elements));
}

bool IsTableReference(std::string_view item) {
  size_t colon = item.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (char c : item.substr(0, colon)) {
    if (!IsAlpha(c)) return false;
  }
  return true;
}

mail::DomainList MatchListParameter(const Image& image, std::string_view name, std::vector<std::string>* missing,
                                    bool parent_style,
                                    const std::function<const mail::LookupTable*(const mail::LookupTable*)>& bind) {
  std::vector<mail::DomainList::Element> elements;
  for (std::string item : mail::SplitParameterList(image.Text(name)).value_or(std::vector<std::string>{})) {
    mail::DomainList::Element e;
    while (!item.empty() && item.front() == '!') {
      e.negate = !e.negate;
      item.erase(0, 1);
    }
    e.pattern = item;
    if (IsTableReference(item)) {
      e.table = bind ? bind(image.Table(item)) : image.Table(item);
      if (e.table == nullptr) {
        if (missing != nullptr) missing->push_back(std::string(name) + ": " + item);
        continue;
      }
      e.table_matches_partial = e.table->AcceptsPartialKeys();
    }
    elements.push_back(std::move(e));
  }
  return mail::DomainList(std::move(elements), parent_style);
}

std::string ServiceSettingName(const Image& image, std::string_view service, const std::string& name) {
  std::string own = std::string(service) + "/" + name;
  return image.settings().Has(own) ? own : name;
}

const mail::ServiceEntry* TransportService(const Image& image, std::string_view name) {
  const mail::ServiceEntry* found = nullptr;
  for (const mail::ServiceEntry& s : image.services()) {
    if (s.name == name && (s.type == "unix" || s.type == "fifo")) found = &s;
  }
  return found;
}

}  // namespace postern::image
