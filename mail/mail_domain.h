// mail_domain.h: whether the domain of an envelope address is one Postfix's
// smtpd accepts (MAIL FROM: 501 5.1.7, RCPT TO: 501 5.1.3 otherwise), as
// measured against Postfix 3.7: host names of labels of letters, digits,
// '-' and '_' (1 to 63 bytes, no '-' at either end, 255 in all, one
// trailing dot allowed, not all-numeric) or address literals ([192.0.2.1],
// [IPv6:2001:db8::1]). With SMTPUTF8, labels may hold UTF-8.
#pragma once

#include <string_view>

namespace postern::mail {

bool ValidMailDomain(std::string_view domain, bool utf8);

}  // namespace postern::mail
