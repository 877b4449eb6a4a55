// tls_context.h: the server TLS context of an image, from Postfix's
// smtpd_tls_* parameters: certificate and key (smtpd_tls_chain_files, or
// smtpd_tls_cert_file + smtpd_tls_key_file), protocols (">=TLSv1.2" or
// "!SSLv2, !SSLv3" as Postfix writes them), cipher grade (tls_*_cipherlist
// minus smtpd_tls_exclude_ciphers) and tls_preempt_cipherlist. The
// mandatory_* variants apply at security level "encrypt".
#pragma once

#include <memory>
#include <string>

#include "runtime/image/image.h"
#include "util/asio.h"
#include "util/status.h"

namespace postern::daemon {

// The files and settings a context is made of; equal keys give equal
// contexts, so a reload can keep a context whose key file it can no longer
// read after dropping privileges.
std::string TlsContextKey(const image::Image& image);

// nullptr when the image's security level is none (or unset). A permanent
// error names the file or setting that is wrong.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const image::Image& image);

}  // namespace postern::daemon
