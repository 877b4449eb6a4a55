// address.h: the pieces of an RFC 5321 address as Postfix's rewriting and
// routing code sees them: local part and domain split at the last '@',
// address extensions split at `recipient_delimiter`, and the address lists
// that alias and virtual tables return.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mail {

struct AddressParts {
  std::string local;
  std::string domain;  // empty when there is no '@'
  bool has_domain = false;
};

// Splits at the last '@'.
AddressParts SplitAddress(std::string_view address);
std::string JoinAddress(std::string_view local, std::string_view domain);

struct Extension {
  std::string base;       // "user"
  std::string extension;  // "+foo", the delimiter included
};

// Splits a local part at the first character of `delimiters` as Postfix's
// split_addr does: never for postmaster, MAILER-DAEMON or double-bounce,
// never owner-x or x-request when '-' is a delimiter, and never when the
// base or the extension would be empty. nullopt when nothing is split.
std::optional<Extension> SplitExtension(std::string_view local, std::string_view delimiters);

// The address with its extension removed, or nullopt when it has none.
std::optional<std::string> StripExtension(std::string_view address, std::string_view delimiters);

// Inserts `extension` (delimiter included) at the end of the local part.
std::string AppendExtension(std::string_view address, std::string_view extension);

// The internal form of an SMTP path's address, as Postfix's smtpd keeps it:
// an RFC 5321 source route (@a,@b:) is dropped and a quoted local part is
// unquoted ("a b"@x -> a b@x, backslash escapes resolved).
std::string InternalForm(std::string_view path);

// Postfix's quote_822_local: the address with its local part quoted when it
// is not an RFC 822 dot-atom ("a b@x" -> "\"a b\"@x"), as Postfix shows
// addresses in logs and gives them to commands; 8-bit text is left alone.
std::string QuoteLocalPart(std::string_view address);

// Splits a table result such as "a@x, b@y <c@z>" into addresses: elements
// are separated by commas (outside quotes), angle brackets are removed.
// Elements written with white space between plain words are split there
// too, as a list of bare words is how people write them.
std::vector<std::string> ParseAddressList(std::string_view text);

}  // namespace postern::mail
