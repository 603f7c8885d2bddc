// Big-endian fixed-width key helpers.
#include "storage/keys.h"

#include <cstring>
#include <stdexcept>

namespace vatt::storage {

void put_u64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_u64(std::string_view in, size_t pos) {
  if (in.size() < pos + 8) throw std::out_of_range("key too short for a 64-bit field");
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[pos + i]);
  return v;
}

uint64_t digest_bytes(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h ^ n;
}

std::string key_u64x2(uint64_t a, uint64_t b) {
  std::string k;
  k.reserve(16);
  put_u64(k, a);
  put_u64(k, b);
  return k;
}

}  // namespace vatt::storage
