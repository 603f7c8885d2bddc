#include "nodes/media/ids.h"

#include <glib.h>

#include <cstdio>
#include <filesystem>

namespace vatt::nodes {

uint64_t fnv1a64(std::string_view s, uint64_t h) {
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string to_uri(const std::string& path_or_uri) {
  if (path_or_uri.find("://") != std::string::npos) return path_or_uri;
  // Lexically normal, symlinks kept: datasets are often folders of links, and the link's name is the id.
  const std::string p = std::filesystem::absolute(path_or_uri).lexically_normal().string();
  gchar* uri = g_filename_to_uri(p.c_str(), nullptr, nullptr);
  std::string out = uri ? uri : "file://" + p;
  g_free(uri);
  return out;
}

}  // namespace vatt::nodes
