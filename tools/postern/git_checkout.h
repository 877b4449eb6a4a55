// git_checkout.h: a configuration directory as a git revision had it, for
// `postern diff -c DIR OLD NEW`: the files of DIR's part of the repository
// at that revision, written to a directory of their own (git archive), so
// the revision compiles exactly as a checkout of it would.
#pragma once

#include <string>

#include "util/status.h"

namespace postern::cli {

// Writes the files `directory` (inside a git work tree) had at `revision`
// into `destination`, which exists and is empty. A permanent error says
// what git or tar said (no such revision, not a repository, ...).
Status CheckoutRevision(const std::string& directory, const std::string& revision, const std::string& destination);

}  // namespace postern::cli
