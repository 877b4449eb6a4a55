// tls_context.h: the server TLS context of an image, from Postfix's
// smtpd_tls_* parameters: certificate and key (smtpd_tls_chain_files, or
// smtpd_tls_cert_file + smtpd_tls_key_file), protocols (">=TLSv1.2" or
// "!SSLv2, !SSLv3" as Postfix writes them), cipher grade (tls_*_cipherlist
// minus smtpd_tls_exclude_ciphers) and tls_preempt_cipherlist. The
// mandatory_* variants apply at security level "encrypt".
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "runtime/image/image.h"
#include "runtime/tls/server_tls_files.h"
#include "util/asio.h"
#include "util/status.h"

namespace postern::daemon {

// The settings and the certificate and key contents a context is made of
// (a digest: no secret in it); equal keys give equal contexts, so a reload
// keeps the context unless a setting or a file's content changed. "" when
// `files` is nullopt (no TLS).
std::string TlsContextKey(const image::Image& image, const std::optional<tls::ServerTlsFiles>& files);

// From the files' contents (tls::ReadServerTlsFiles). A permanent error
// names the file or setting that is wrong.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const image::Image& image,
                                                                        const tls::ServerTlsFiles& files);

}  // namespace postern::daemon
