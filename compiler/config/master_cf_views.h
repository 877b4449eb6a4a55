// master_cf_views.h: master.cf as `postconf -M`, `-F` and `-P` print it,
// for `postern conf`: one line per service with its fields in postconf's
// columns (-M), one `service/type/field = value` line per field (-F), and
// one `service/type/name = value` line per -o override, sorted by name
// within each service (-P). Selectors filter as postconf's do: "service",
// "service/type" and, for -F and -P, "service/type/name"; any part may be
// "*" or omitted at the end.
#pragma once

#include <string>
#include <vector>

#include "compiler/config/master_cf.h"

namespace postern::config {

enum class MasterView { kEntries, kFields, kParameters };

struct MasterViewResult {
  std::string text;                    // what postconf prints on standard output
  std::vector<std::string> unmatched;  // selectors that matched nothing
};

MasterViewResult RenderMasterView(const MasterCf& master, MasterView view, const std::vector<std::string>& selectors);

}  // namespace postern::config
