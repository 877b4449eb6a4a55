// address.cc: see address.h.
#include "mail/address.h"

#include "util/strings.h"

namespace postern::mail {
namespace {

bool IsDotAtom(std::string_view local) {
  if (local.empty() || local.front() == '.' || local.back() == '.') return false;
  for (size_t i = 0; i < local.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(local[i]);
    if (c == '.' && i + 1 < local.size() && local[i + 1] == '.') return false;
    if (c == ' ' || c < 32 || c == 127) return false;
    if (std::string_view("()<>@,;:\\\"[]").find(static_cast<char>(c)) != std::string_view::npos) return false;
  }
  return true;
}

}  // namespace

AddressParts SplitAddress(std::string_view address) {
  AddressParts parts;
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) {
    parts.local = std::string(address);
    return parts;
  }
  parts.local = std::string(address.substr(0, at));
  parts.domain = std::string(address.substr(at + 1));
  parts.has_domain = true;
  return parts;
}

std::string JoinAddress(std::string_view local, std::string_view domain) {
  std::string out(local);
  out += '@';
  out += domain;
  return out;
}

std::optional<Extension> SplitExtension(std::string_view local, std::string_view delimiters) {
  if (delimiters.empty() || local.empty()) return std::nullopt;
  if (EqualsIgnoreCase(local, "postmaster") || EqualsIgnoreCase(local, "MAILER-DAEMON") ||
      EqualsIgnoreCase(local, "double-bounce")) {
    return std::nullopt;
  }
  if (delimiters.find('-') != std::string_view::npos) {
    if (local.size() >= 6 && EqualsIgnoreCase(local.substr(0, 6), "owner-")) return std::nullopt;
    if (local.size() > 8 && EqualsIgnoreCase(local.substr(local.size() - 8), "-request")) return std::nullopt;
  }
  size_t pos = local.find_first_of(delimiters);
  if (pos == 0 || pos == std::string_view::npos || pos + 1 == local.size()) return std::nullopt;
  return Extension{std::string(local.substr(0, pos)), std::string(local.substr(pos))};
}

std::optional<std::string> StripExtension(std::string_view address, std::string_view delimiters) {
  AddressParts parts = SplitAddress(address);
  auto ext = SplitExtension(parts.local, delimiters);
  if (!ext) return std::nullopt;
  return parts.has_domain ? JoinAddress(ext->base, parts.domain) : ext->base;
}

std::string AppendExtension(std::string_view address, std::string_view extension) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return std::string(address) + std::string(extension);
  std::string out(address.substr(0, at));
  out += extension;
  out += address.substr(at);
  return out;
}

std::string InternalForm(std::string_view path) {
  if (!path.empty() && path.front() == '@') {
    size_t colon = path.find(':');
    if (colon != std::string_view::npos) path = path.substr(colon + 1);
  }
  if (path.empty() || path.front() != '"') return std::string(path);
  std::string out;
  size_t i = 1;
  for (; i < path.size(); ++i) {
    char c = path[i];
    if (c == '\\' && i + 1 < path.size()) {
      out += path[++i];
    } else if (c == '"') {
      ++i;
      break;
    } else {
      out += c;
    }
  }
  out += path.substr(i);
  return out;
}

std::string QuoteLocalPart(std::string_view address) {
  size_t at = address.rfind('@');
  std::string_view local = address.substr(0, at);
  if (IsDotAtom(local)) return std::string(address);
  std::string out = "\"";
  for (char c : local) {
    if (c == '"' || c == '\\' || c == '\r') out += '\\';
    out += c;
  }
  out += '"';
  if (at != std::string_view::npos) out += address.substr(at);
  return out;
}

std::vector<std::string> ParseAddressList(std::string_view text) {
  std::vector<std::string> elements;
  std::string current;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') quoted = !quoted;
    if (c == '\\' && quoted && i + 1 < text.size()) {
      current += c;
      current += text[++i];
      continue;
    }
    if (c == ',' && !quoted) {
      elements.push_back(current);
      current.clear();
      continue;
    }
    current += c;
  }
  elements.push_back(current);

  std::vector<std::string> addresses;
  for (const std::string& element : elements) {
    std::string_view e = Trim(element);
    size_t open = e.find('<');
    size_t close = e.rfind('>');
    if (open != std::string_view::npos && close != std::string_view::npos && open < close) {
      addresses.emplace_back(Trim(e.substr(open + 1, close - open - 1)));
      continue;
    }
    if (e.find('"') != std::string_view::npos) {
      if (!e.empty()) addresses.emplace_back(e);
      continue;
    }
    for (std::string& word : SplitAny(e, " \t\r\n")) addresses.push_back(std::move(word));
  }
  return addresses;
}

}  // namespace postern::mail
