// server_tls_files.h: the certificate and private key an image's smtpd
// serves STARTTLS with (smtpd_tls_chain_files, or smtpd_tls_cert_file and
// smtpd_tls_key_file), read whole. posternd reads them itself when it can;
// a key only root may read comes from the root helper, which reads the
// files the trusted image names and nothing else (runtime/local). Both
// use this one description of which files those are.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "runtime/image/image.h"
#include "util/status.h"

namespace postern::tls {

// smtpd_tls_security_level, or what the obsolete smtpd_use_tls and
// smtpd_enforce_tls make of it: "none", "may", "encrypt" or ""; "encrypt"
// with smtpd_tls_wrappermode, which ignores the level.
std::string ServerTlsLevel(const image::Image& image);

// smtpd_tls_req_ccert: a trusted client certificate is required; it
// applies only where TLS is mandatory (level encrypt).
bool RequiresClientCertificate(const image::Image& image);
// smtpd_tls_ask_ccert, or a required certificate: clients are asked for one.
bool AsksClientCertificate(const image::Image& image);

struct ServerTlsFiles {
  std::string cert_path;
  std::string key_path;
  std::string cert_pem;  // the certificate, then its chain
  std::string key_pem;   // a secret: never logged, never in an error
  // smtpd_tls_CAfile: the authorities client certificates are verified
  // against (and named to clients that are asked for one); "" for none.
  std::string ca_path;
  std::string ca_pem;
  // smtpd_tls_CApath: a directory of hashed CA certificates (openssl
  // rehash), which OpenSSL reads as it verifies; "" for none.
  std::string ca_directory;
};

using FileReader = std::function<Result<std::string>(const std::string& path)>;

// The files, read with `read`; nullopt when the image offers no TLS. A
// missing setting or an unreadable file is an error naming the file.
Result<std::optional<ServerTlsFiles>> ReadServerTlsFiles(const image::Image& image, const FileReader& read);

}  // namespace postern::tls
