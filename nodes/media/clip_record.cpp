// Clip <-> clip store records.
#include "nodes/media/clip_record.h"

#include <memory>

namespace vatt::nodes {

storage::ClipRecord to_record(const Clip& c) {
  storage::ClipRecord r;
  r.source_id = c.source_id;
  r.clip_index = c.clip_index;
  r.uri = c.uri;
  r.fingerprint = c.fingerprint;
  r.options_digest = c.options_digest;
  r.start_us = c.start_us;
  r.end_us = c.end_us;
  r.wall_start_us = c.wall_start_us;
  r.has_video = c.has_video;
  r.has_audio = c.has_audio;
  r.labels = c.labels;
  r.split = c.split;
  r.captions = c.captions;
  r.last = c.last;
  for (const auto& t : c.text) r.text.push_back({t.start_us, t.end_us, t.text});
  return r;
}

storage::ClipMedia to_media(const Clip& c) {
  storage::ClipMedia m;
  m.frames_t = c.frames_t;
  m.height = c.height;
  m.width = c.width;
  m.fps = c.fps;
  m.sample_rate = c.sample_rate;
  if (c.frames) m.frames = *c.frames;
  if (c.audio) m.audio = *c.audio;
  return m;
}

Clip from_stored(const storage::ClipRecord& r, storage::ClipMedia&& m) {
  Clip c;
  c.source_id = r.source_id;
  c.clip_index = r.clip_index;
  c.start_us = r.start_us;
  c.end_us = r.end_us;
  c.wall_start_us = r.wall_start_us;
  c.uri = r.uri;
  c.fingerprint = r.fingerprint;
  c.options_digest = r.options_digest;
  c.fps = m.fps;
  c.frames_t = m.frames_t;
  c.height = m.height;
  c.width = m.width;
  c.frames = std::make_shared<const std::vector<uint8_t>>(std::move(m.frames));
  c.sample_rate = m.sample_rate;
  c.audio = std::make_shared<const std::vector<float>>(std::move(m.audio));
  c.has_video = r.has_video;
  c.has_audio = r.has_audio;
  for (const auto& t : r.text) c.text.push_back({t.start_us, t.end_us, t.text});
  c.labels = r.labels;
  c.split = r.split;
  c.captions = r.captions;
  return c;
}

}  // namespace vatt::nodes
