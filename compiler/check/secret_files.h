// secret_files.h: secrets kept in files, SASL password tables
// (smtp_sasl_password_maps), TLS private keys and the definitions of SQL
// and LDAP tables that hold a password, must not be readable by every
// local user, as SASL_README and TLS_README advise (chmod 600, or 640
// for a group the server runs as). Postern warns where Postfix is silent:
// PC0151 names each such file with the setting that uses it.
//
// The image keeps what it copies of a secret as private as its source
// (emit/image_publisher.h), so a world-readable source would also make a
// world-readable image.
#pragma once

#include "compiler/check/configuration.h"
#include "util/diagnostic.h"

namespace postern::check {

void CheckSecretFiles(const Model& model, DiagnosticSink* diagnostics);

}  // namespace postern::check
