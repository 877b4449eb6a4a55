// status.h: errors as values at module boundaries.
//
// A Status is either OK or an error that says whether it is temporary (a
// retry may succeed: becomes a 4xx) or permanent (it will not: becomes a
// 5xx or a configuration error). Result<T> carries a value or a Status.
// Neither throws. Thread-compatible.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace postern {

class Status {
 public:
  enum class Kind { kOk, kTemporary, kPermanent, kNotFound };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status Temporary(std::string message) { return Status(Kind::kTemporary, std::move(message)); }
  static Status Permanent(std::string message) { return Status(Kind::kPermanent, std::move(message)); }
  static Status NotFound(std::string message) { return Status(Kind::kNotFound, std::move(message)); }

  bool ok() const { return kind_ == Kind::kOk; }
  bool temporary() const { return kind_ == Kind::kTemporary; }
  bool not_found() const { return kind_ == Kind::kNotFound; }
  Kind kind() const { return kind_; }
  const std::string& message() const { return message_; }

 private:
  Status(Kind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  Kind kind_ = Kind::kOk;
  std::string message_;
};

// Result<T>: a T, or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.ok());
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // REQUIRES: ok()
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T& value() & {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace postern
