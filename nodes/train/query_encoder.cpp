// Query encoding for search: the checkpoint's vocabulary for texts, the embed node's preparation for files.
#include "nodes/train/query_encoder.h"

#include <cmath>

#include "model/embedder.h"
#include "nodes/media/decoder.h"
#include "nodes/media/ids.h"
#include "nodes/train/eval_input.h"
#include "nodes/train/retrieval.h"
#include "nodes/train/vocab.h"

namespace vatt::nodes {

struct QueryEncoder::Impl {
  std::unique_ptr<model::Embedder> embedder;
  InputSpec spec;
};

QueryEncoder::QueryEncoder(const std::string& checkpoint, int threads) : impl_(std::make_unique<Impl>()) {
  model::EmbedderOptions o;
  o.checkpoint = checkpoint;
  o.device = "cpu";
  o.threads = threads;
  impl_->embedder = std::make_unique<model::Embedder>(o);
  const auto& e = *impl_->embedder;
  impl_->spec = parse_input_spec(e.user_blob(), e.path(), static_cast<int>(e.frames()),
                                 static_cast<int>(e.crop()), static_cast<int>(e.audio_samples()));
}

QueryEncoder::~QueryEncoder() = default;

uint64_t QueryEncoder::model_id() const {
  return impl_->embedder->weights_digest();
}

const std::string& QueryEncoder::checkpoint() const {
  return impl_->embedder->path();
}

void QueryEncoder::save_weights(const std::string& path) const {
  impl_->embedder->save_weights(path);
}

QueryEncoder::Text QueryEncoder::text(const std::string& text) const {
  const auto& vocab = impl_->spec.vocab;
  if (!vocab)
    throw QueryError("the checkpoint " + checkpoint() + " carries no vocabulary: it cannot encode a text");
  const auto words = static_cast<size_t>(impl_->embedder->text_words());
  Text t;
  for (const auto& w : normalise_words(text)) {
    if (t.used.size() >= words) break;
    t.used.push_back(w);
    if (vocab->id(w) == Vocabulary::kUnk) t.unknown.push_back(w);
  }
  if (t.used.empty())
    throw QueryError("the query has no words (after lower-casing and removing punctuation)");
  if (t.unknown.size() == t.used.size()) {
    std::string list;
    for (const auto& w : t.unknown) list += (list.empty() ? "" : ", ") + w;
    throw QueryError("no word of the query is in the model's vocabulary (" + std::to_string(vocab->size()) +
                     " words): " + list);
  }
  auto ids = vocab->encode(text, words);
  t.vector = impl_->embedder->embed_text(ids, 1);
  return t;
}

std::vector<float> QueryEncoder::file(const std::string& path, storage::Space space) const {
  const auto& spec = impl_->spec;
  auto& emb = *impl_->embedder;
  const bool audio = space == storage::Space::AudioVA;
  DecodeOptions d;
  d.fps = spec.fps > 0 ? spec.fps : 10;
  d.short_side = std::max(2, (spec.crop * 5 / 4 + 1) / 2 * 2);
  d.sample_rate = spec.sample_rate > 0 ? spec.sample_rate : 48000;
  d.clip_seconds = spec.clip_seconds > 0 ? spec.clip_seconds : spec.frames / d.fps;
  d.sampling = "uniform";
  d.clips_per_source = 4;
  d.require_video = !audio;
  std::vector<Clip> clips;
  try {
    decode_clips(to_uri(path), d, [&](Clip&& c) {
      clips.push_back(std::move(c));
      return true;
    });
  } catch (const DecodeError& e) {
    throw QueryError(path + ": " + e.what());
  }
  if (clips.empty())
    throw QueryError(path + ": no clip of " + std::to_string(d.clip_seconds) + " s could be decoded");
  const size_t n = clips.size();
  const size_t fsize = static_cast<size_t>(spec.frames) * spec.crop * spec.crop * 3;
  const auto samples = static_cast<size_t>(spec.audio_samples);
  std::vector<float> out;
  if (audio) {
    std::vector<uint8_t> frames(fsize);
    std::vector<float> wave(n * samples);
    for (size_t i = 0; i < n; ++i) {
      if (!clips[i].has_audio) throw QueryError(path + ": has no audio stream");
      if (clips[i].frames) {
        prepare_clip(clips[i], spec, frames.data(), wave.data() + i * samples);
      } else {
        // Audio-only: the clip's samples at the trained rate, cut or padded to the trained length.
        const auto& a = *clips[i].audio;
        for (size_t s = 0; s < samples; ++s) wave[i * samples + s] = s < a.size() ? a[s] : 0.0f;
      }
    }
    auto e = emb.embed_audio(wave, static_cast<int64_t>(n));
    const size_t dim = e.size() / n;
    out.assign(dim, 0.0f);
    for (size_t i = 0; i < n; ++i)
      for (size_t k = 0; k < dim; ++k) out[k] += e[i * dim + k];
  } else {
    std::vector<const Clip*> raw;
    for (const auto& c : clips) raw.push_back(&c);
    const model::HostBatch b = prepare_batch(raw, spec, static_cast<size_t>(emb.text_words()));
    auto e = emb.embed(b);
    const auto& v = space == storage::Space::VideoVA ? e.video_va : e.video_vt;
    const size_t dim = v.size() / n;
    out.assign(dim, 0.0f);
    for (size_t i = 0; i < n; ++i)
      for (size_t k = 0; k < dim; ++k) out[k] += v[i * dim + k];
  }
  normalise(out);
  return out;
}

}  // namespace vatt::nodes
