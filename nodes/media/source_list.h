// Source discovery for `video_source`: what a `uri` option names (a media file, a folder searched
// recursively by extension, a .txt/.list file of paths and URIs, or a URI), each source's folder label, and
// the content fingerprint that says whether a stored source is still the same file.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace vatt::nodes {

struct MediaSource {
  std::string path;  ///< a local path, or "" for a URI that is not a file
  std::string uri;   ///< file:///abs/path for files
  /// Its first folder under the listed folder (labels_from_folder), else "". When that folder is a split
  /// name (train, training, test, testing, val, validation, validate) the split is taken from it and the
  /// label from the folder below: `train/CLASS/x.mp4` is split "train", label "CLASS".
  std::string label;
  std::string split;  ///< the split folder's name (labels_from_folder), else ""
  /// An annotated segment of a file as a source of its own (video_source `segments`): its window on the
  /// file's time line, its sentence, and the file's URI (what GStreamer opens; `uri` then names the segment
  /// with a media fragment, "file:///a.mp4#t=12.5,20", so that each segment has its own id).
  int64_t start_us = 0, end_us = 0;
  std::string segment_text, media_uri;
  const std::string& open_uri() const { return media_uri.empty() ? uri : media_uri; }
  bool is_file() const { return !path.empty(); }
  /// How error messages name it: the path, else the URI.
  const std::string& name() const { return path.empty() ? uri : path; }
};

/// A problem with one source (or one of its side files) that the run reports and goes on past.
struct SourceError {
  std::string kind, reason;
};

struct SourceListOptions {
  std::set<std::string> extensions;  ///< lower case, no dot: the files a folder contributes
  bool labels_from_folder = false;
};

/// The sources `uri` names, sorted within a folder so runs are reproducible. Throws std::runtime_error when
/// a local path does not exist.
std::vector<MediaSource> list_sources(const std::string& uri, const SourceListOptions& opt);

/// `path` with `..` and symlinks resolved, when it lies inside one of `roots` (equal to one, or below it);
/// nullopt otherwise (also when `roots` is empty). What confines a service's local paths.
std::optional<std::string> inside_roots(const std::string& path, const std::vector<std::string>& roots);

/// A file's extension, lower case, without the dot ("" when none).
std::string file_extension(const std::string& path);

/// 16 hex digits identifying a source's content: for files its size and the FNV-1a of its first and last
/// MiB (cheap for big files, and any re-encode or truncation changes it); for other URIs the URI; for a FIFO
/// or device its path (reading one could block).
std::string content_fingerprint(const MediaSource& s);

}  // namespace vatt::nodes
