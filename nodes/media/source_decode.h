// One source (a file, or a URI that ends) decoded into clips that carry everything the store and training
// need: its identity (id, content fingerprint, options digest), dataset labels and split, its transcript's
// text per clip, and on the source's last clip the `last` flag (one clip is held back until the next one
// comes or the decode ends). Shared by `video_source` and the watched folders of live ingestion.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "nodes/media/clip.h"
#include "nodes/media/datasets.h"
#include "nodes/media/decoder.h"
#include "nodes/media/source_list.h"
#include "nodes/media/transcript.h"

namespace vatt::storage {
class ClipStore;
}

namespace vatt::nodes {

struct SourceIdentity {
  uint64_t source_id = 0;      ///< FNV-1a of the URI
  std::string fingerprint;     ///< content_fingerprint()
  std::string options_digest;  ///< DecodeOptions::digest()
};
SourceIdentity identify(const MediaSource& s, const DecodeOptions& o);

/// Where `id` stands in `store` (may be null): false when the store holds it complete (nothing to decode);
/// else true, with `o.first_clip` set to its first missing clip when a record of the same content and options
/// is half done.
bool resume_point(const storage::ClipStore* store, const SourceIdentity& id, DecodeOptions& o);

/// Decodes `s` and hands each clip to `push` (false: stop), filled in as described above. A decode that fails
/// after some clips hands the held clip on (not marked last) and then throws. `label` is a folder label.
DecodeStats decode_source(const MediaSource& s, const DecodeOptions& o, const SourceIdentity& id,
                          const SourceAnnotations& ann, const Transcript& text, int candidates,
                          uint32_t epoch, const std::function<bool(Clip&&)>& push,
                          const std::atomic<bool>* stop, DecodeProgress* progress = nullptr);

}  // namespace vatt::nodes
