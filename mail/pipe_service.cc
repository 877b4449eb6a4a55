// pipe_service.cc: see pipe_service.h.
#include "mail/pipe_service.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include "mail/address.h"
#include "util/strings.h"

namespace postern::mail {
namespace {

// The macros of pipe(8); those of the first group are per recipient.
constexpr std::array<std::string_view, 6> kRecipientMacros = {
    "recipient", "original_recipient", "user", "extension", "mailbox", "domain"};
constexpr std::array<std::string_view, 12> kMessageMacros = {"sender",      "nexthop",        "size",
                                                             "queue_id",    "client_address", "client_hostname",
                                                             "client_helo", "client_port",    "client_protocol",
                                                             "sasl_method", "sasl_username",  "sasl_sender"};

bool IsRecipientMacro(std::string_view name) {
  return std::find(kRecipientMacros.begin(), kRecipientMacros.end(), name) != kRecipientMacros.end();
}

bool IsKnownMacro(std::string_view name) {
  return IsRecipientMacro(name) ||
         std::find(kMessageMacros.begin(), kMessageMacros.end(), name) != kMessageMacros.end();
}

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// One argument as literal text and macro names, in order; an error for a
// lone $, an unclosed ${ or $(, or an unknown name.
struct Piece {
  bool macro = false;
  std::string text;  // the literal, or the macro's name
};
Result<std::vector<Piece>> SplitMacros(std::string_view argument) {
  std::vector<Piece> pieces;
  auto literal = [&pieces](std::string_view text) {
    if (pieces.empty() || pieces.back().macro) pieces.push_back({false, ""});
    pieces.back().text += text;
  };
  size_t i = 0;
  while (i < argument.size()) {
    size_t dollar = argument.find('$', i);
    if (dollar == std::string_view::npos) {
      literal(argument.substr(i));
      break;
    }
    literal(argument.substr(i, dollar - i));
    i = dollar + 1;
    if (i < argument.size() && argument[i] == '$') {
      literal("$");
      ++i;
      continue;
    }
    std::string name;
    if (i < argument.size() && (argument[i] == '{' || argument[i] == '(')) {
      char close = argument[i] == '{' ? '}' : ')';
      size_t end = argument.find(close, i + 1);
      if (end == std::string_view::npos) {
        return Status::Permanent("unbalanced macro \"" + std::string(argument.substr(dollar)) + "\" in \"" +
                                 std::string(argument) + "\"");
      }
      name = std::string(argument.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      size_t end = i;
      while (end < argument.size() && IsNameChar(argument[end])) ++end;
      name = std::string(argument.substr(i, end - i));
      i = end;
    }
    if (name.empty()) return Status::Permanent("empty macro name in \"" + std::string(argument) + "\"");
    if (!IsKnownMacro(name)) {
      return Status::Permanent("unknown macro name \"" + name + "\" in \"" + std::string(argument) + "\"");
    }
    pieces.push_back({true, std::move(name)});
  }
  return pieces;
}

Status ParseFlags(std::string_view letters, PipeFlags* flags) {
  for (char c : letters) {
    switch (c) {
      case 'B':
        flags->blank_line = true;
        break;
      case 'D':
        flags->delivered_to = true;
        break;
      case 'F':
        flags->from_line = true;
        break;
      case 'O':
        flags->original_to = true;
        break;
      case 'R':
        flags->return_path = true;
        break;
      case 'X':
        flags->final_delivery = true;
        break;
      case 'h':
        flags->fold_host = true;
        break;
      case 'q':
        flags->quote_local = true;
        break;
      case 'u':
        flags->fold_user = true;
        break;
      case '.':
        flags->dot_stuff = true;
        break;
      case '>':
        flags->quote_from = true;
        break;
      default:
        return Status::Permanent(std::string("unknown flag \"") + c + "\" in flags=" + std::string(letters));
    }
  }
  return Status::Ok();
}

// The address as pipe(8) morphs it for argv: quoted (q), then with its
// local part (u) or domain (h) in lower case.
std::string Morph(std::string_view address, const PipeFlags& flags, bool quote) {
  std::string out = quote && flags.quote_local ? QuoteLocalPart(address) : std::string(address);
  size_t at = out.rfind('@');
  size_t local_end = at == std::string::npos ? out.size() : at;
  for (size_t i = 0; i < out.size(); ++i) {
    bool local = i < local_end;
    if ((local && flags.fold_user) || (!local && flags.fold_host)) {
      out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
    }
  }
  return out;
}

// Postfix's split_addr: user and extension at the first delimiter, unless
// the address is a special one or the user would be empty.
std::pair<std::string, std::optional<std::string>> SplitUser(const std::string& local, std::string_view delimiters) {
  if (delimiters.empty() || EqualsIgnoreCase(local, "postmaster") || EqualsIgnoreCase(local, "MAILER-DAEMON") ||
      EqualsIgnoreCase(local, "double-bounce")) {
    return {local, std::nullopt};
  }
  if (delimiters.find('-') != std::string_view::npos) {
    if (local.size() >= 6 && EqualsIgnoreCase(std::string_view(local).substr(0, 6), "owner-")) {
      return {local, std::nullopt};
    }
    if (local.size() > 8 && EqualsIgnoreCase(std::string_view(local).substr(local.size() - 8), "-request")) {
      return {local, std::nullopt};
    }
  }
  size_t at = local.find_first_of(delimiters);
  if (at == 0 || at == std::string::npos) return {local, std::nullopt};
  return {local.substr(0, at), local.substr(at + 1)};
}

}  // namespace

Result<PipeService> ParsePipeService(const std::vector<std::string>& arguments, size_t* bad_argument) {
  size_t unused = 0;
  size_t& bad = bad_argument != nullptr ? *bad_argument : unused;
  bad = arguments.size();
  PipeService s;
  bool have_user = false, have_argv = false;
  size_t argv_at = 0;
  for (size_t i = 0; i < arguments.size(); ++i) {
    std::string_view a = arguments[i];
    bad = i;
    size_t equals = a.find('=');
    std::string name = ToLower(a.substr(0, equals));
    std::string_view v = equals == std::string_view::npos ? std::string_view() : a.substr(equals + 1);
    if (equals == std::string_view::npos) {
      return Status::Permanent("unknown attribute \"" + std::string(a) + "\"");
    } else if (name == "flags") {
      if (Status st = ParseFlags(v, &s.flags); !st.ok()) return st;
    } else if (name == "user") {
      size_t colon = v.find(':');
      s.user = std::string(v.substr(0, colon));
      s.group = colon == std::string_view::npos ? "" : std::string(v.substr(colon + 1));
      if (s.user.empty()) return Status::Permanent("user= names no user");
      if (s.user == "root" || s.group == "root") {
        return Status::Permanent("user=" + std::string(v) + " asks for root privileges, which pipe(8) refuses");
      }
      have_user = true;
    } else if (name == "directory") {
      s.directory = std::string(v);
    } else if (name == "chroot") {
      s.chroot = std::string(v);
    } else if (name == "eol") {
      s.eol = UnescapeC(v);
    } else if (name == "null_sender") {
      s.null_sender = std::string(v);
    } else if (name == "size") {
      long long size = 0;
      if (!ParseDecimal(v, &size) || size < 0) return Status::Permanent("bad size= value \"" + std::string(v) + "\"");
      s.size_limit = static_cast<uint64_t>(size);
    } else if (name == "argv") {
      argv_at = i;
      s.argv.emplace_back(v);
      s.argv.insert(s.argv.end(), arguments.begin() + static_cast<std::ptrdiff_t>(i) + 1, arguments.end());
      have_argv = true;
      for (size_t j = 0; j < s.argv.size(); ++j) {
        bad = i + j;
        if (Result<std::vector<Piece>> pieces = SplitMacros(s.argv[j]); !pieces.ok()) return pieces.status();
      }
      break;
    } else {
      return Status::Permanent("unknown attribute \"" + std::string(a) + "\"");
    }
  }
  bad = arguments.size();
  if (!have_user) return Status::Permanent("missing user= attribute");
  if (!have_argv) return Status::Permanent("missing argv= attribute");
  if (s.argv.front().empty()) {
    bad = argv_at;
    return Status::Permanent("argv= names no command");
  }
  return s;
}

std::vector<std::string> ExpandPipeArguments(const PipeService& service, const PipeMacroValues& v) {
  const PipeFlags& f = service.flags;
  std::string sender = v.sender.empty() ? service.null_sender : v.sender;
  if (!sender.empty() && f.quote_local) sender = QuoteLocalPart(sender);
  std::string nexthop = f.fold_host ? ToLower(v.nexthop) : v.nexthop;
  auto message_macro = [&](const std::string& name) -> std::string {
    if (name == "sender") return sender;
    if (name == "nexthop") return nexthop;
    if (name == "size") return std::to_string(v.size);
    if (name == "queue_id") return v.queue_id;
    if (name == "client_address") return v.client_address;
    if (name == "client_hostname") return v.client_hostname;
    if (name == "client_helo") return v.client_helo;
    if (name == "client_port") return v.client_port;
    if (name == "client_protocol") return v.client_protocol;
    if (name == "sasl_method") return v.sasl_method;
    if (name == "sasl_username") return v.sasl_username;
    if (name == "sasl_sender") return v.sasl_sender;
    return "";
  };
  std::vector<std::string> out;
  for (const std::string& argument : service.argv) {
    Result<std::vector<Piece>> parsed = SplitMacros(argument);
    if (!parsed.ok()) continue;  // ParsePipeService refused it
    const std::vector<Piece>& pieces = *parsed;
    bool per_recipient =
        std::any_of(pieces.begin(), pieces.end(), [](const Piece& p) { return p.macro && IsRecipientMacro(p.text); });
    if (!per_recipient) {
      std::string expanded;
      for (const Piece& p : pieces) expanded += p.macro ? message_macro(p.text) : p.text;
      out.push_back(std::move(expanded));
      continue;
    }
    for (const PipeRecipient& r : v.recipients) {
      // The parts of the address as the u and h flags fold it, unquoted.
      std::string folded = Morph(r.address, f, /*quote=*/false);
      size_t at = folded.rfind('@');
      std::string mailbox = folded.substr(0, at);
      std::string domain = at == std::string::npos ? "" : folded.substr(at + 1);
      auto [user, extension] = SplitUser(mailbox, v.recipient_delimiter);
      bool names_user =
          std::any_of(pieces.begin(), pieces.end(), [](const Piece& p) { return p.macro && p.text == "user"; });
      if (names_user && user.empty()) continue;  // as pipe(8): no argument for an empty user
      std::string expanded;
      for (const Piece& p : pieces) {
        if (!p.macro) {
          expanded += p.text;
        } else if (p.text == "recipient") {
          expanded += Morph(r.address, f, /*quote=*/true);
        } else if (p.text == "original_recipient") {
          expanded += Morph(r.original, f, /*quote=*/true);
        } else if (p.text == "user") {
          expanded += user;
        } else if (p.text == "extension") {
          expanded += extension.value_or("");
        } else if (p.text == "mailbox") {
          expanded += mailbox;
        } else if (p.text == "domain") {
          expanded += domain;
        } else {
          expanded += message_macro(p.text);
        }
      }
      out.push_back(std::move(expanded));
    }
  }
  return out;
}

}  // namespace postern::mail
