// A Clip as the clip store keeps it and back: the one mapping between nodes/media/clip.h and
// storage/clip_store.h records, used by the `clip_store` node (writing) and `video_source` (reading a store).
#pragma once

#include "nodes/media/clip.h"
#include "storage/clip_store.h"

namespace vatt::nodes {

/// Metadata and text of `c` (everything but the decoded media).
storage::ClipRecord to_record(const Clip& c);
/// The decoded frames and audio of `c` (copied).
storage::ClipMedia to_media(const Clip& c);
/// A stored clip as a Clip (the media buffers are moved in).
Clip from_stored(const storage::ClipRecord& r, storage::ClipMedia&& m);

}  // namespace vatt::nodes
