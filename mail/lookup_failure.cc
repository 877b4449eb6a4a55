// lookup_failure.cc: see lookup_failure.h.
#include "mail/lookup_failure.h"

#include <cstdio>

namespace postern::mail {
namespace {

thread_local LookupFailureScope* innermost = nullptr;

}  // namespace

LookupFailureScope::LookupFailureScope() : outer_(innermost) { innermost = this; }

LookupFailureScope::~LookupFailureScope() {
  innermost = outer_;
  if (failed_ && outer_ != nullptr && !outer_->failed_) {
    outer_->failed_ = true;
    outer_->reason_ = reason_;
  }
}

void LookupFailureScope::Record(std::string reason) {
  if (innermost == nullptr) {
    std::fprintf(stderr, "postern: warning: %s, where no question can be deferred: taken as not found\n",
                 reason.c_str());
    return;
  }
  if (innermost->failed_) return;
  innermost->failed_ = true;
  innermost->reason_ = std::move(reason);
}

void LookupFailureScope::RecordLookupError(std::string_view table, std::string_view key, std::string_view why) {
  std::string reason = std::string(table) + " lookup error for \"" + std::string(key) + "\"";
  if (!why.empty()) reason += ": " + std::string(why);
  Record(std::move(reason));
}

bool LookupFailureScope::CurrentFailed() { return innermost != nullptr && innermost->failed_; }

}  // namespace postern::mail
