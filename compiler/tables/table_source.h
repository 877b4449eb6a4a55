// table_source.h: parsers for lookup-table source files, from text to
// plain entries or rules. Bad lines are reported and skipped, so one run
// reports every mistake and a dry-run lookup still answers as Postfix would.
//
// Codes: PT0301 key without value, PT0302 duplicate key, PT0303 alias
// without ':', PT0310 bad address pattern, PT0311 bad regular expression,
// PT0312 IF without ENDIF, PT0313 ENDIF without IF, PT0314 replacement
// index out of range, PT0315 unknown flag, PT0316 empty result, PT0317 $n
// in a negative match, PT0318 extra text after IF/ENDIF.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/tables/table_reference.h"
#include "mail/lookup_table.h"
#include "util/diagnostic.h"
#include "util/logical_lines.h"
#include "util/source_file.h"

namespace postern::tables {

struct TableEntry {
  std::string key;
  std::string value;
  SourceLocation location;  // of the key
};

// One postmap(1) text line: its key (as written, not folded) and value,
// views into `line.text`; false, with PT0301 reported, for a line without
// a value.
bool ParseTextEntry(const LogicalLine& line, const SourceFileRef& file, DiagnosticSink* diagnostics,
                    std::string_view* key, std::string_view* value);
// One aliases(5) line: the name (unquoted) and its values as postalias
// stores them; *name_end is where the name ends in the line. False, with
// PT0303 reported, for a line that is not an entry.
bool ParseAliasEntry(const LogicalLine& line, const SourceFileRef& file, DiagnosticSink* diagnostics, std::string* name,
                     std::string* value, size_t* name_end);

// postmap(1) text: `key whitespace value`, key may be "double quoted".
std::vector<TableEntry> ParseTextTable(const std::shared_ptr<const SourceFile>& file, DiagnosticSink* diagnostics);

// aliases(5): `name: value, value, ...`; values normalised as postalias
// stores them (list elements trimmed, joined with ", ").
std::vector<TableEntry> ParseAliasTable(const std::shared_ptr<const SourceFile>& file, DiagnosticSink* diagnostics);

// cidr_table(5), regexp_table(5) or pcre_table(5) rules.
// REQUIRES: format is kCidr, kRegexp or kPcre.
std::vector<mail::PatternRule> ParsePatternTable(const std::shared_ptr<const SourceFile>& file, TableFormat format,
                                                 DiagnosticSink* diagnostics);

}  // namespace postern::tables
