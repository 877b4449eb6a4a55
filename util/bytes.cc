// bytes.cc: see bytes.h.
#include "util/bytes.h"

namespace postern {

void ByteWriter::PutU32(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void ByteWriter::PutU64(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void ByteWriter::PutString(std::string_view s) {
  PutU32(static_cast<uint32_t>(s.size()));
  out_.append(s);
}

bool ByteReader::Take(size_t n, const char** p) {
  if (failed_ || n > in_.size() - pos_) {
    failed_ = true;
    return false;
  }
  *p = in_.data() + pos_;
  pos_ += n;
  return true;
}

bool ByteReader::GetU8(uint8_t* v) {
  const char* p;
  if (!Take(1, &p)) return false;
  *v = static_cast<uint8_t>(*p);
  return true;
}

bool ByteReader::GetU32(uint32_t* v) {
  const char* p;
  if (!Take(4, &p)) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return true;
}

bool ByteReader::GetU64(uint64_t* v) {
  const char* p;
  if (!Take(8, &p)) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return true;
}

bool ByteReader::GetString(std::string* s) {
  uint32_t n;
  std::string_view raw;
  if (!GetU32(&n) || !GetRaw(n, &raw)) return false;
  s->assign(raw);
  return true;
}

bool ByteReader::GetRaw(size_t n, std::string_view* s) {
  const char* p;
  if (!Take(n, &p)) return false;
  *s = std::string_view(p, n);
  return true;
}

}  // namespace postern
