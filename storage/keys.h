// Key encodings for RocksDB: fixed-width big-endian integers, so byte order equals numeric order and prefix
// scans come back sorted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vatt::storage {

/// Appends `v` as 8 big-endian bytes.
void put_u64(std::string& out, uint64_t v);
/// Reads 8 big-endian bytes at `pos`; throws std::out_of_range when fewer remain.
uint64_t get_u64(std::string_view in, size_t pos = 0);
/// 64-bit digest of `n` bytes (eight at a time; for checksums of files and identities, not cryptography).
uint64_t digest_bytes(const void* data, size_t n, uint64_t seed = 1469598103934665603ULL);
/// Key of (a, b) as 16 bytes.
std::string key_u64x2(uint64_t a, uint64_t b);

}  // namespace vatt::storage
