// The media layer's message type (clip) and node types.
#include "nodes/media/clip.h"
#include "nodes/register_all.h"

namespace vatt::nodes {

/// Where a clip comes from, as `batch`'s mix prefixes are written: a local path, or the URI.
std::string clip_origin(const Clip& c) {
  return c.uri.rfind("file://", 0) == 0 ? c.uri.substr(7) : c.uri;
}

void register_media_nodes(pipeline::Registry& registry) {
  registry.add_type<Clip>("clip", "one window of a source: synced frames and audio, aligned text, labels",
                          clip_origin);
  register_video_source(registry);
  register_stored_clips(registry);
  register_live_source(registry);
  register_clip_store(registry);
}

}  // namespace vatt::nodes
