// image_parameters.cc: see image_parameters.h.
#include "runtime/image/image_parameters.h"

#include "mail/parameter_list.h"
#include "util/strings.h"

namespace postern::image {

bool BoolParameter(const Image& image, std::string_view name, bool fallback) {
  std::optional<std::string_view> value = image.Parameter(name);
  if (!value) return fallback;
  std::string v = ToLower(Trim(*value));
  if (v == "yes") return true;
  if (v == "no") return false;
  return fallback;
}

int64_t IntParameter(const Image& image, std::string_view name, int64_t fallback) {
  std::optional<std::string_view> value = image.Parameter(name);
  long long n = 0;
  if (!value || !ParseDecimal(Trim(*value), &n)) return fallback;
  return n;
}

int64_t TimeParameter(const Image& image, std::string_view name, char default_unit, int64_t fallback) {
  std::optional<std::string_view> value = image.Parameter(name);
  if (!value) return fallback;
  return ParseTime(Trim(*value), default_unit).value_or(fallback);
}

mail::NetworkList NetworkListParameter(const Image& image, std::string_view name) {
  std::vector<mail::NetworkList::Element> elements;
  for (std::string item : mail::SplitParameterList(image.ParameterOr(name, "")).value_or(std::vector<std::string>{})) {
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

}  // namespace postern::image
