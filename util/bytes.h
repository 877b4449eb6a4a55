// bytes.h: a little-endian binary encoding for on-disk formats (the image
// header, compact pattern tables). ByteWriter appends; ByteReader consumes
// with bounds checks and never reads past its input, so a truncated or
// hostile file gives a clean failure instead of undefined behaviour.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace postern {

class ByteWriter {
 public:
  void PutU8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void PutU32(uint32_t v);
  void PutU64(uint64_t v);
  // A u32 length, then the bytes.
  void PutString(std::string_view s);
  void PutRaw(std::string_view s) { out_.append(s); }

  const std::string& bytes() const { return out_; }
  std::string Release() { return std::move(out_); }

 private:
  std::string out_;
};

// Every getter returns false (and leaves the reader failed) when the input
// is too short; once failed, all further reads fail.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool GetU8(uint8_t* v);
  bool GetU32(uint32_t* v);
  bool GetU64(uint64_t* v);
  bool GetString(std::string* s);
  bool GetRaw(size_t n, std::string_view* s);

  bool failed() const { return failed_; }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  bool Take(size_t n, const char** p);

  std::string_view in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace postern
