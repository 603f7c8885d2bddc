// Reading clips back from a clip store written by the ingest graph with its media kept (`clip_store`
// store_media: true): no decoding. The unit behind the `stored_clips` node type (and behind `video_source`
// when its uri is a clip store).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "nodes/media/clip.h"
#include "nodes/media/source_list.h"

namespace vatt::storage {
class ClipStore;
}

namespace vatt::nodes {

class StoredClipReader {
 public:
  /// Opens the store at `path` and lists its clips that kept their media, then keeps worker `rank`'s shard
  /// of them (one by one: clips, not sources). Throws std::runtime_error when it holds none.
  StoredClipReader(const std::string& path, int rank = 0, int world = 1);
  ~StoredClipReader();

  size_t size() const { return clips_.size(); }
  /// Clips of the store left out because they were stored without media.
  size_t without_media() const { return without_media_; }
  /// The i-th clip of this shard (text, labels, split as stored), or why it cannot be read.
  std::variant<Clip, SourceError> read(size_t i) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::shared_ptr<storage::ClipStore> store_;
  std::vector<std::pair<uint64_t, uint64_t>> clips_;  // (source_id, clip_index)
  size_t without_media_ = 0;
};

}  // namespace vatt::nodes
