#include "nodes/media/source_decode.h"

#include "nodes/media/ids.h"
#include "storage/clip_store.h"

namespace vatt::nodes {

SourceIdentity identify(const MediaSource& s, const DecodeOptions& o) {
  return {fnv1a64(s.uri), content_fingerprint(s), o.digest()};
}

bool resume_point(const storage::ClipStore* store, const SourceIdentity& id, DecodeOptions& o) {
  if (!store) return true;
  auto rec = store->source(id.source_id);
  if (!rec || rec->fingerprint != id.fingerprint || rec->options_digest != id.options_digest) return true;
  if (rec->complete()) return false;
  o.first_clip = rec->resume_from();
  return true;
}

DecodeStats decode_source(const MediaSource& s, const DecodeOptions& o, const SourceIdentity& id,
                          const SourceAnnotations& ann, const Transcript& text, int candidates,
                          uint32_t epoch, const std::function<bool(Clip&&)>& push,
                          const std::atomic<bool>* stop, DecodeProgress* progress) {
  Clip held;  // the latest clip, handed on when the next one comes or the decode ends
  bool holding = false;
  auto finish_held = [&](bool last) {
    if (!holding) return;
    holding = false;
    held.last = last;
    push(std::move(held));
  };
  try {
    const DecodeStats st = decode_clips(
        s.open_uri(), o,
        [&](Clip&& c) {
          c.source_id = id.source_id;
          c.uri = s.uri;
          c.fingerprint = id.fingerprint;
          c.options_digest = id.options_digest;
          if (!s.label.empty()) c.labels.push_back(s.label);
          c.labels.insert(c.labels.end(), ann.labels.begin(), ann.labels.end());
          c.split = ann.split;
          if (!s.split.empty()) add_split(c.split, s.split);
          c.epoch = epoch;
          c.captions = text.captions;
          c.text = text.clip_text(c.start_us, c.end_us, candidates);
          if (holding && !push(std::move(held))) return false;
          held = std::move(c);
          holding = true;
          return true;
        },
        stop, progress);
    finish_held(!(stop && stop->load()));
    return st;
  } catch (...) {
    finish_held(false);
    throw;
  }
}

}  // namespace vatt::nodes
