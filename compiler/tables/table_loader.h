// table_loader.h: opens a `type:name` reference as a queryable table from
// its source text (never from a .db/.cdb file: the source is the truth).
//
// sqlite:, pgsql:, mysql: and ldap: tables are read from their server now
// (database_materialiser.h, ldap_materialiser.h), or, with postern_live,
// asked at run time (mail/servers/live_table.h).
//
// Codes: PT0320 table type Postern cannot compile, PT0321 unknown table type,
// PT0322 table source cannot be read, PT0323 bad inline table syntax, PT0324
// nis:mail.aliases (Postfix's default) finds nothing, PT0336 an SQL table
// whose settings are in main.cf.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/tables/compiled_table.h"
#include "compiler/tables/table_reference.h"
#include "compiler/tables/table_source.h"
#include "mail/case_fold.h"
#include "mail/lookup_table.h"
#include "mail/servers/live_table.h"
#include "util/diagnostic.h"

namespace postern::tables {

struct TableLoadOptions {
  // Relative table paths are resolved against this directory.
  std::string base_directory = ".";
  // Absolute paths under `installed_config_directory` are looked up under
  // `base_directory` first, so a configuration kept in a repository can say
  // hash:/etc/postfix/virtual and still be checked from its checkout.
  std::string installed_config_directory;
  // How exact-match keys are folded (by smtputf8_enable, as Postfix).
  mail::CaseFold fold = mail::CaseFold::kAscii;
  // Where text and aliases tables are compiled to (compiled_table.h):
  // the images directory when compiling, so the image links the files;
  // empty: $TMPDIR.
  std::string scratch_directory;
};

struct LoadedTable {
  TableReference reference;
  std::shared_ptr<const mail::LookupTable> table;  // null when it could not be opened
  // A text or aliases file compiled to CDB (`table` answers from it): the
  // image takes the file as it is.
  std::shared_ptr<const CompiledFile> compiled;
  std::string source_path;    // the file read, if any
  std::string source_sha256;  // its sha256 when it was compiled (else: ask the file)
  size_t entry_count = 0;     // entries or rules
  bool holds_secret = false;  // a definition file with a password (SQL, LDAP)
  // postern_live: what the image carries for posternd to ask the server
  // (`table` then asks it too, for the compiler's own checks).
  std::optional<servers::LiveTableSpec> live;
};

// `location` is where the reference was written, for diagnostics.
LoadedTable LoadTable(const TableReference& reference, const TableLoadOptions& options, const SourceLocation& location,
                      DiagnosticSink* diagnostics);

// Where a table path is read from, after the mapping described above.
std::string ResolveTablePath(const std::string& path, const TableLoadOptions& options);

}  // namespace postern::tables
