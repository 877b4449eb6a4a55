// diff_report.h: a ConfigDiff for people (text), for pull requests
// (markdown) and for tools (JSON, every change, no limit).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "tools/postern/config_diff.h"

namespace postern::cli {

// `limit`: at most this many items per section (0: all); the rest counted.
std::string RenderDiffText(const ConfigDiff& diff, size_t limit);
std::string RenderDiffMarkdown(const ConfigDiff& diff, size_t limit);
nlohmann::json DiffJson(const ConfigDiff& diff);

}  // namespace postern::cli
