// How sources are named and identified: a path or URI as a URI, the 64-bit FNV-1a hash behind source ids,
// fingerprints and option digests, and its 16-hex-digit spelling.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vatt::nodes {

/// "file:///abs/path" for paths (lexically normal, symlinks kept), the URI itself for anything with a scheme.
std::string to_uri(const std::string& path_or_uri);
/// 64-bit FNV-1a of `s`, continuing from `h`.
uint64_t fnv1a64(std::string_view s, uint64_t h = 1469598103934665603ULL);
/// 16 lower-case hex digits.
std::string hex64(uint64_t v);

}  // namespace vatt::nodes
