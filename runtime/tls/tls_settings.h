// tls_settings.h: Postfix's TLS protocol and cipher settings applied to an
// OpenSSL context, one implementation for the server (smtpd_tls_*) and the
// client (smtp_tls_*): protocol lists as Postfix writes them (">=TLSv1.2",
// "!SSLv2, !SSLv3, !TLSv1"), cipher grades (tls_*_cipherlist) minus
// exclusions.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>
#include <vector>

#include "runtime/image/image.h"
#include "util/status.h"

namespace postern::tls {

// The OpenSSL error queue's first entry, cleared.
std::string OpenSslError();

// A list parameter of the image, split as Postfix splits lists.
std::vector<std::string> ListSetting(const image::Image& image, std::string_view name);

// `items`: the protocol list. Permanent error for an unknown protocol or
// a set OpenSSL cannot express (an exclusion inside the range).
Status ApplyProtocols(SSL_CTX* ctx, const std::vector<std::string>& items);

// The cipher grade (`grade`: export, low, medium, high, null) from the
// image's tls_*_cipherlist, minus `excluded`, set on `ctx`.
Status ApplyCipherGrade(SSL_CTX* ctx, const image::Image& image, std::string_view grade,
                        const std::vector<std::string>& excluded);

}  // namespace postern::tls
