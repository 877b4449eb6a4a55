// cdb_writer.cc: see cdb_writer.h.
#include "mail/cdb_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mail/cdb_format.h"

namespace postern::mail {
namespace {

constexpr size_t kFlushSize = 1 << 20;

Status Errno(const std::string& what) { return Status::Temporary(what + ": " + std::strerror(errno)); }

// The index slot of a CDB hash: MurmurHash3's finalizer spreads its bits,
// so the index needs no second hash and grows without reading keys back.
inline size_t Slot(uint32_t hash, size_t mask) {
  hash ^= hash >> 16;
  hash *= 0x85ebca6bu;
  hash ^= hash >> 13;
  hash *= 0xc2b2ae35u;
  hash ^= hash >> 16;
  return hash & mask;
}

}  // namespace

CdbWriter::CdbWriter(bool unique_keys) : unique_keys_(unique_keys) {
  buffer_.assign(kCdbHeaderSize, '\0');
  size_ = kCdbHeaderSize;
}

CdbWriter::CdbWriter(int fd, bool unique_keys) : CdbWriter(unique_keys) {
  fd_ = fd;
  buffer_.reserve(kFlushSize + 4096);
}

Status CdbWriter::Write(std::string_view data) {
  if (size_ + data.size() > kCdbMaxSize) return Status::Permanent("the table would be larger than 4 GiB");
  buffer_.append(data);
  size_ += data.size();
  if (fd_ >= 0 && buffer_.size() >= kFlushSize) return Flush();
  return Status::Ok();
}

Status CdbWriter::Flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot write the table");
    done += static_cast<size_t>(n);
  }
  buffer_offset_ += buffer_.size();
  buffer_.clear();
  return Status::Ok();
}

Result<std::string_view> CdbWriter::KeyOf(size_t index, std::string* scratch) const {
  uint64_t position = records_[index].position;
  auto from = [&](uint64_t at, size_t length) -> Result<std::string_view> {
    if (at >= buffer_offset_) return std::string_view(buffer_).substr(at - buffer_offset_, length);
    scratch->resize(length);
    size_t done = 0;
    while (done < length) {
      ssize_t n = pread(fd_, scratch->data() + done, length - done, static_cast<off_t>(at + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Errno("cannot read the table back");
      done += static_cast<size_t>(n);
    }
    return std::string_view(*scratch);
  };
  auto header = from(position, 8);
  if (!header.ok()) return header.status();
  uint32_t key_length = CdbU32(header->data());
  return from(position + 8, key_length);
}

void CdbWriter::Grow() {
  std::vector<uint32_t> old = std::move(index_);
  index_.assign(old.empty() ? 1024 : old.size() * 2, 0);
  size_t mask = index_.size() - 1;
  for (uint32_t entry : old) {
    if (entry == 0) continue;
    size_t slot = Slot(records_[entry - 1].hash, mask);
    while (index_[slot] != 0) slot = (slot + 1) & mask;
    index_[slot] = entry;
  }
}

Result<bool> CdbWriter::Seen(std::string_view key, uint32_t hash) {
  if ((records_.size() + 1) * 2 > index_.size()) Grow();
  size_t mask = index_.size() - 1;
  size_t slot = Slot(hash, mask);
  std::string scratch;
  for (; index_[slot] != 0; slot = (slot + 1) & mask) {
    size_t other = index_[slot] - 1;
    if (records_[other].hash != hash) continue;
    auto stored = KeyOf(other, &scratch);
    if (!stored.ok()) return stored.status();
    if (*stored == key) return true;
  }
  index_[slot] = static_cast<uint32_t>(records_.size() + 1);
  return false;
}

Result<bool> CdbWriter::Add(std::string_view key, std::string_view value) {
  uint32_t hash = CdbHash(key);
  if (unique_keys_) {
    Result<bool> seen = Seen(key, hash);
    if (!seen.ok()) return seen.status();
    if (*seen) return false;
  }
  if (records_.size() >= 0xffffffffu) return Status::Permanent("too many records for one table");
  char header[8];
  CdbPutU32(header, static_cast<uint32_t>(key.size()));
  CdbPutU32(header + 4, static_cast<uint32_t>(value.size()));
  uint64_t position = size_;
  if (Status s = Write(std::string_view(header, 8)); !s.ok()) return s;
  if (Status s = Write(key); !s.ok()) return s;
  if (Status s = Write(value); !s.ok()) return s;
  records_.push_back({hash, static_cast<uint32_t>(position)});
  ++count_;
  return true;
}

Result<uint64_t> CdbWriter::Finish() {
  std::vector<uint32_t>().swap(index_);  // no more lookups: free it before the tables
  // Records by hash table (hash & 0xff), each table's in the order added.
  uint32_t counts[256] = {};
  for (const Record& r : records_) ++counts[r.hash & 0xff];
  std::vector<size_t> start(257, 0);
  for (size_t i = 0; i < 256; ++i) start[i + 1] = start[i] + counts[i];
  std::vector<Record> sorted(records_.size());
  {
    std::vector<size_t> next(start.begin(), start.end() - 1);
    for (const Record& r : records_) sorted[next[r.hash & 0xff]++] = r;
  }
  std::vector<Record>().swap(records_);
  char header[kCdbHeaderSize];
  std::vector<Record> table;
  std::string bytes;
  for (size_t i = 0; i < 256; ++i) {
    uint32_t slots = counts[i] * 2;
    CdbPutU32(header + 8 * i, static_cast<uint32_t>(size_));
    CdbPutU32(header + 8 * i + 4, slots);
    if (slots == 0) continue;
    table.assign(slots, Record{0, 0});
    for (size_t k = start[i]; k < start[i + 1]; ++k) {
      uint32_t slot = (sorted[k].hash >> 8) % slots;
      while (table[slot].position != 0) slot = (slot + 1) % slots;
      table[slot] = sorted[k];
    }
    bytes.resize(8 * static_cast<size_t>(slots));
    for (size_t s = 0; s < slots; ++s) {
      CdbPutU32(bytes.data() + 8 * s, table[s].hash);
      CdbPutU32(bytes.data() + 8 * s + 4, table[s].position);
    }
    if (Status s = Write(bytes); !s.ok()) return s;
  }
  if (fd_ < 0) {
    std::memcpy(buffer_.data(), header, kCdbHeaderSize);
    return size_;
  }
  if (Status s = Flush(); !s.ok()) return s;
  size_t done = 0;
  while (done < kCdbHeaderSize) {
    ssize_t n = pwrite(fd_, header + done, kCdbHeaderSize - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot write the table");
    done += static_cast<size_t>(n);
  }
  return size_;
}

}  // namespace postern::mail
