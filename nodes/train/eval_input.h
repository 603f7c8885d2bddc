// The input a trained model expects, as its checkpoint describes it (train_vatt's blob), and the eval-time
// preparation of a decoded clip to that input: frames picked at the trained frame rate, the centre square
// of the short side resized to the crop, audio resampled to the trained rate and cut/padded to its length,
// the clip's own text encoded with the checkpoint's vocabulary. Needs nothing but the checkpoint.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/trainer.h"
#include "nodes/media/clip.h"
#include "nodes/train/vocab.h"

namespace vatt::nodes {

struct InputSpec {
  double fps = 0;  ///< 0: unknown (frames are then taken as they come)
  int sample_rate = 0;
  double clip_seconds = 0;
  int frames = 0, crop = 0, audio_samples = 0;
  std::shared_ptr<const Vocabulary> vocab;  ///< null when the checkpoint has none
};

/// What train_vatt stores with every checkpoint to describe its input (JSON: "input" {fps, sample_rate,
/// clip_seconds, frames, crop, audio_samples, normalisation} and "vocab", the vocabulary file's text), from a
/// clip as the trainer receives it (augmented) and its vocabulary (may be null).
std::string describe_input(const Clip& trained_clip, const Vocabulary* vocab);

/// Reads train_vatt's checkpoint blob (rates, clip length, vocabulary); `frames`, `crop` and `audio_samples`
/// are the model's (its config is the authority on its input shapes). Throws std::runtime_error naming
/// `origin` for a malformed blob or vocabulary.
InputSpec parse_input_spec(const std::string& blob, const std::string& origin, int frames, int crop,
                           int audio_samples);

/// Writes the clip's model input: frames [spec.frames, crop, crop, 3] uint8 and audio [audio_samples].
/// Throws std::invalid_argument naming the clip when it has no frames.
void prepare_clip(const Clip& clip, const InputSpec& spec, uint8_t* frames_out, float* audio_out);

/// prepare_clip with the square window at `crop_position` along the long side (0 = left or top, 0.5 = the
/// centre crop, 1 = right or bottom: the three crops of multi-crop testing), mirrored when `flip`.
void prepare_clip_view(const Clip& clip, const InputSpec& spec, double crop_position, bool flip,
                       uint8_t* frames_out, float* audio_out);

/// One view of each clip as a batch for a classifier: with `video`, clip i's frames through prepare_clip_view
/// at positions[i] (mirrored when flips[i]) and its audio; without, the audio alone (video left empty).
/// `positions` and `flips` have one entry per clip.
model::HostBatch prepare_views(const std::vector<const Clip*>& clips, const InputSpec& spec, bool video,
                               const std::vector<double>& positions, const std::vector<bool>& flips);

/// The audio part of prepare_clip alone: resampled to the trained rate, cut or zero-padded to its length.
void prepare_audio(const Clip& clip, const InputSpec& spec, float* audio_out);

/// `clips` as one batch of the model's input: each prepared by prepare_clip (a clip without frames, from an
/// audio-only source, gets black frames and its audio), each clip's own text encoded with the spec's
/// vocabulary into `words` ids (text_mask 1 when a word of it is known).
model::HostBatch prepare_batch(const std::vector<const Clip*>& clips, const InputSpec& spec, size_t words);

}  // namespace vatt::nodes
