#include "nodes/media/source_list.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "nodes/media/datasets.h"
#include "nodes/media/ids.h"

namespace vatt::nodes {

namespace fs = std::filesystem;

std::string file_extension(const std::string& path) {
  std::string e = fs::path(path).extension().string();
  if (!e.empty()) e = e.substr(1);
  std::transform(e.begin(), e.end(), e.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e;
}

namespace {

MediaSource uri_source(const std::string& uri) {
  MediaSource s;
  s.uri = uri;
  return s;
}

MediaSource file_source(const fs::path& p, const fs::path& root, bool labels_from_folder) {
  MediaSource s;
  s.path = p.string();
  s.uri = to_uri(s.path);
  if (labels_from_folder && !root.empty()) {
    const auto rel = fs::relative(p.parent_path(), root);
    if (!rel.empty() && rel != ".") {
      auto it = rel.begin();
      s.label = it->string();
      if (is_split_name(s.label)) {
        s.split = s.label;
        std::transform(s.split.begin(), s.split.end(), s.split.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        ++it;
        s.label = it != rel.end() ? it->string() : "";
      }
    }
  }
  return s;
}

}  // namespace

std::vector<MediaSource> list_sources(const std::string& uri, const SourceListOptions& opt) {
  std::vector<MediaSource> out;
  if (uri.find("://") != std::string::npos && uri.rfind("file://", 0) != 0) {
    out.push_back(uri_source(uri));
    return out;
  }
  const std::string path = uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> found;
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (it->is_regular_file(ec) && opt.extensions.count(file_extension(it->path().string())))
        found.push_back(it->path());
    }
    std::sort(found.begin(), found.end());
    for (const auto& p : found) out.push_back(file_source(p, path, opt.labels_from_folder));
    return out;
  }
  if (!fs::exists(path, ec)) throw std::runtime_error("uri '" + uri + "': no such file or directory");
  const std::string e = file_extension(path);
  if (e == "txt" || e == "list") {
    for (const auto& entry : read_media_list(path)) {
      if (entry.find("://") != std::string::npos)
        out.push_back(uri_source(entry));
      else
        out.push_back(file_source(entry, {}, false));
    }
    return out;
  }
  out.push_back(file_source(path, {}, false));
  return out;
}

std::optional<std::string> inside_roots(const std::string& path, const std::vector<std::string>& roots) {
  std::error_code ec;
  const fs::path real = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) return std::nullopt;
  for (const auto& r : roots) {
    std::error_code rec;
    const fs::path root = fs::weakly_canonical(fs::absolute(r, rec), rec);
    if (rec) continue;
    auto pi = real.begin();
    bool in = true;
    for (auto ri = root.begin(); in && ri != root.end(); ++ri, ++pi) in = pi != real.end() && *pi == *ri;
    if (in) return real.string();
  }
  return std::nullopt;
}

std::string content_fingerprint(const MediaSource& s) {
  if (!s.is_file()) return hex64(fnv1a64(s.uri));
  // Only regular files are read: opening a FIFO (or a device) for reading would block until someone writes
  // to it, outside the decoder's stall timeout. Those are named by their path; the decoder reads them.
  std::error_code rec;
  if (!fs::is_regular_file(s.path, rec)) return hex64(fnv1a64("special:" + s.path));
  std::ifstream in(s.path, std::ios::binary);
  std::error_code ec;
  const auto size = fs::file_size(s.path, ec);
  uint64_t h = fnv1a64(std::to_string(ec ? 0 : size));
  std::string buf(1 << 20, '\0');
  in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
  h = fnv1a64(std::string_view(buf.data(), static_cast<size_t>(in.gcount())), h);
  if (!ec && size > buf.size()) {
    in.clear();
    in.seekg(-static_cast<std::streamoff>(std::min<uint64_t>(size - buf.size(), buf.size())), std::ios::end);
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h = fnv1a64(std::string_view(buf.data(), static_cast<size_t>(in.gcount())), h);
  }
  return hex64(h);
}

}  // namespace vatt::nodes
