// Eval-time input preparation from a checkpoint's description of its training input.
#include "nodes/train/eval_input.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "nodes/train/augment.h"

namespace vatt::nodes {

std::string describe_input(const Clip& c, const Vocabulary* vocab) {
  nlohmann::json j;
  j["input"] = {{"fps", c.fps},
                {"sample_rate", c.sample_rate},
                {"clip_seconds", static_cast<double>(c.end_us - c.start_us) / 1e6},
                {"frames", c.frames_t},
                {"crop", c.height},
                {"audio_samples", c.audio ? c.audio->size() : 0},
                {"video", "uint8 RGB, x / 127.5 - 1"},
                {"audio", "mono float in [-1, 1]"},
                {"eval_crop", "centre square of the short side, resized to crop"}};
  if (vocab) j["vocab"] = vocab->to_text();
  return j.dump();
}

InputSpec parse_input_spec(const std::string& blob, const std::string& origin, int frames, int crop,
                           int audio_samples) {
  InputSpec s;
  s.frames = frames;
  s.crop = crop;
  s.audio_samples = audio_samples;
  if (blob.empty()) return s;
  auto j = nlohmann::json::parse(blob, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    throw std::runtime_error(origin + ": the training blob is not JSON (a checkpoint of an older vatt?)");
  try {
    if (j.contains("input")) {
      const auto& in = j["input"];
      s.fps = in.value("fps", 0.0);
      s.sample_rate = in.value("sample_rate", 0);
      s.clip_seconds = in.value("clip_seconds", 0.0);
    }
    if (j.contains("vocab"))
      s.vocab = std::make_shared<const Vocabulary>(
          Vocabulary::from_text(j["vocab"].get<std::string>(), origin + " (vocabulary)"));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(origin + ": malformed training blob: " + e.what());
  }
  return s;
}

void prepare_clip(const Clip& c, const InputSpec& spec, uint8_t* frames_out, float* audio_out) {
  prepare_clip_view(c, spec, 0.5, false, frames_out, audio_out);
}

void prepare_clip_view(const Clip& c, const InputSpec& spec, double crop_position, bool flip,
                       uint8_t* frames_out, float* audio_out) {
  if (!c.frames || c.frames_t < 1 || c.height < 1 || c.width < 1)
    throw std::invalid_argument("clip " + std::to_string(c.clip_index) + " of " + c.uri +
                                " has no video frames; the model needs " + std::to_string(spec.frames));
  // Frame i of the model's input is the source frame nearest to time i / fps_model.
  const double ratio = spec.fps > 0 && c.fps > 0 ? c.fps / spec.fps : 1.0;
  const int side = std::min(c.height, c.width);
  AugmentDraw d;
  d.w = d.h = side;
  const double at = std::clamp(crop_position, 0.0, 1.0);
  d.x = static_cast<int>(std::lround((c.width - side) * at));
  d.y = static_cast<int>(std::lround((c.height - side) * at));
  d.flip = flip;
  const size_t in_frame = static_cast<size_t>(c.height) * static_cast<size_t>(c.width) * 3;
  const size_t out_frame = static_cast<size_t>(spec.crop) * static_cast<size_t>(spec.crop) * 3;
  for (int i = 0; i < spec.frames; ++i) {
    const int src = std::min(c.frames_t - 1, static_cast<int>(std::lround(i * ratio)));
    apply_augment(c.frames->data() + static_cast<size_t>(src) * in_frame, 1, c.height, c.width, d, spec.crop,
                  frames_out + static_cast<size_t>(i) * out_frame);
  }
  prepare_audio(c, spec, audio_out);
}

void prepare_audio(const Clip& c, const InputSpec& spec, float* audio_out) {
  // Linear resampling to the trained rate, then cut or zero-padded to the model's length.
  const auto n = static_cast<size_t>(spec.audio_samples);
  std::fill(audio_out, audio_out + n, 0.0f);
  if (!c.audio || c.audio->empty()) return;
  const auto& a = *c.audio;
  if (spec.sample_rate <= 0 || c.sample_rate <= 0 || spec.sample_rate == c.sample_rate) {
    std::copy_n(a.begin(), std::min(n, a.size()), audio_out);
    return;
  }
  const double step = static_cast<double>(c.sample_rate) / spec.sample_rate;
  for (size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(i) * step;
    const auto j = static_cast<size_t>(x);
    if (j >= a.size()) break;
    const float f = static_cast<float>(x - static_cast<double>(j));
    audio_out[i] = a[j] * (1 - f) + (j + 1 < a.size() ? a[j + 1] : 0.0f) * f;
  }
}

model::HostBatch prepare_views(const std::vector<const Clip*>& clips, const InputSpec& spec, bool video,
                               const std::vector<double>& positions, const std::vector<bool>& flips) {
  if (positions.size() != clips.size() || flips.size() != clips.size())
    throw std::invalid_argument("prepare_views: one position and one flip per clip");
  model::HostBatch b;
  b.batch = static_cast<int64_t>(clips.size());
  b.frames = spec.frames;
  b.height = b.width = spec.crop;
  b.samples = spec.audio_samples;
  const size_t fsize = static_cast<size_t>(b.frames * b.height * b.width * 3);
  if (video) b.video.resize(fsize * clips.size());
  b.audio.resize(static_cast<size_t>(b.samples) * clips.size());
  for (size_t i = 0; i < clips.size(); ++i) {
    float* audio = b.audio.data() + i * static_cast<size_t>(b.samples);
    if (video)
      prepare_clip_view(*clips[i], spec, positions[i], flips[i], b.video.data() + i * fsize, audio);
    else
      prepare_audio(*clips[i], spec, audio);
  }
  return b;
}

model::HostBatch prepare_batch(const std::vector<const Clip*>& clips, const InputSpec& spec, size_t words) {
  model::HostBatch b;
  b.batch = static_cast<int64_t>(clips.size());
  b.frames = spec.frames;
  b.height = b.width = spec.crop;
  b.samples = spec.audio_samples;
  const size_t fsize = static_cast<size_t>(b.frames * b.height * b.width * 3);
  b.video.resize(fsize * clips.size());
  b.audio.resize(static_cast<size_t>(b.samples) * clips.size());
  b.text.assign(clips.size() * words, Vocabulary::kPad);
  b.text_mask.assign(clips.size(), 0.0f);
  for (size_t i = 0; i < clips.size(); ++i) {
    const Clip& c = *clips[i];
    float* audio = b.audio.data() + i * static_cast<size_t>(b.samples);
    if (c.frames && c.frames_t > 0) {
      prepare_clip(c, spec, b.video.data() + i * fsize, audio);
    } else {  // audio only: black frames (its video embeddings mean nothing and are left out)
      std::fill_n(b.video.data() + i * fsize, fsize, uint8_t{0});
      prepare_audio(c, spec, audio);
    }
    if (spec.vocab && c.has_text()) {
      auto ids = spec.vocab->encode(c.text[0].text, words);
      std::copy(ids.begin(), ids.end(), b.text.begin() + static_cast<std::ptrdiff_t>(i * words));
      b.text_mask[i] = ids[0] != Vocabulary::kPad ? 1.0f : 0.0f;
    }
  }
  return b;
}

}  // namespace vatt::nodes
