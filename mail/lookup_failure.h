// lookup_failure.h: how a table that can fail to answer (fail:, a live SQL
// or LDAP table whose server is down) says so. A failed lookup is a
// temporary error, never "not found": Postfix's smtpd answers 451 4.3.0,
// its queue manager defers.
//
// The table answers "not found" and records the failure in the innermost
// LookupFailureScope of the thread. Whoever asks a whole question (the
// policy VM for one SMTP command, the resolver for one address, `postern
// query` for one key) opens a scope and turns a recorded failure into a
// temporary error, as Postfix's callers test dict->error after a lookup. No
// code between them needs a third answer, and none can lose the failure: it
// taints every answer given under the scope.
//
// A scope belongs to one thread; scopes nest, and a failure recorded in an
// inner scope is also a failure of the scopes around it.
#pragma once

#include <string>
#include <string_view>

namespace postern::mail {

class LookupFailureScope {
 public:
  LookupFailureScope();
  ~LookupFailureScope();
  LookupFailureScope(const LookupFailureScope&) = delete;
  LookupFailureScope& operator=(const LookupFailureScope&) = delete;

  bool failed() const { return failed_; }
  // The first failure: which table, for which key, and why (never a secret).
  const std::string& reason() const { return reason_; }

  // Records a failure in the thread's innermost scope. Outside every scope
  // nobody can defer: the failure is written to stderr as a warning and the
  // lookup counts as "not found" (the lists posternd matches outside a
  // question, e.g. smtpd_sasl_exceptions_networks).
  static void Record(std::string reason);
  // Record() in the words Postfix logs: `table lookup error for "key"`,
  // then ": why" when given.
  static void RecordLookupError(std::string_view table, std::string_view key, std::string_view why = "");
  // Whether the innermost scope has failed already (a table that would
  // wait for a server can then give up at once: the answer is a temporary
  // error whatever it finds).
  static bool CurrentFailed();

 private:
  LookupFailureScope* outer_;
  bool failed_ = false;
  std::string reason_;
};

}  // namespace postern::mail
