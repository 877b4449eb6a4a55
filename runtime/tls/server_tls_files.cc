// server_tls_files.cc: see server_tls_files.h.
#include "runtime/tls/server_tls_files.h"

#include "runtime/image/image_parameters.h"
#include "runtime/tls/tls_settings.h"
#include "util/strings.h"

namespace postern::tls {

std::string ServerTlsLevel(const image::Image& image) {
  // Wrapper mode is TLS or nothing, whatever the level says (postconf(5)).
  if (image::BoolParameter(image, "smtpd_tls_wrappermode")) return "encrypt";
  std::string level = ToLower(image.Text("smtpd_tls_security_level"));
  if (level.empty()) {
    if (image::BoolParameter(image, "smtpd_enforce_tls")) return "encrypt";
    if (image::BoolParameter(image, "smtpd_use_tls")) return "may";
  }
  return level;
}

bool RequiresClientCertificate(const image::Image& image) {
  return ServerTlsLevel(image) == "encrypt" && image::BoolParameter(image, "smtpd_tls_req_ccert");
}

bool AsksClientCertificate(const image::Image& image) {
  return image::BoolParameter(image, "smtpd_tls_ask_ccert") || RequiresClientCertificate(image);
}

Result<std::optional<ServerTlsFiles>> ReadServerTlsFiles(const image::Image& image, const FileReader& read) {
  std::string level = ServerTlsLevel(image);
  if (level != "may" && level != "encrypt") return std::optional<ServerTlsFiles>();
  ServerTlsFiles files;
  std::vector<std::string> chain = ListSetting(image, "smtpd_tls_chain_files");
  files.cert_path = image.Text("smtpd_tls_cert_file");
  files.key_path = image.Text("smtpd_tls_key_file");
  if (files.key_path.empty()) files.key_path = files.cert_path;
  if (!chain.empty()) {
    // Postfix: key first, then its certificate chain, in PEM files.
    files.key_path = chain.front();
    files.cert_path = chain.size() > 1 ? chain[1] : chain.front();
  }
  if (files.cert_path.empty()) {
    return Status::Permanent("smtpd_tls_security_level = " + level +
                             " needs smtpd_tls_cert_file (or smtpd_tls_chain_files)");
  }
  Result<std::string> cert = read(files.cert_path);
  if (!cert.ok()) return Status::Permanent("certificate " + cert.status().message());
  Result<std::string> key = read(files.key_path);
  if (!key.ok()) return Status::Permanent("private key " + key.status().message());
  files.cert_pem = std::move(cert).value();
  files.key_pem = std::move(key).value();
  files.ca_path = image.Text("smtpd_tls_CAfile");
  if (!files.ca_path.empty()) {
    Result<std::string> ca = read(files.ca_path);
    if (!ca.ok()) return Status::Permanent("smtpd_tls_CAfile " + ca.status().message());
    files.ca_pem = std::move(ca).value();
  }
  files.ca_directory = image.Text("smtpd_tls_CApath");
  return std::optional<ServerTlsFiles>(std::move(files));
}

}  // namespace postern::tls
