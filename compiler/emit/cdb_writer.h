// cdb_writer.h: builds a CDB file image in memory with tinycdb, from
// key/value pairs in the order given (callers sort them, for determinism).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "util/status.h"

namespace postern::emit {

// Keys must be unique.
Result<std::string> WriteCdb(const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace postern::emit
