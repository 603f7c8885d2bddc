// Host batches to device tensors.
#include "model/host_batch.h"

#include <stdexcept>

namespace vatt::model {

void check_host_batch(const HostBatch& b, const ModelConfig& c, int64_t min_batch, int64_t candidates,
                      bool need_mask, const std::string& context) {
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument(context + ": " + what);
  };
  check(b.batch >= min_batch, "batch " + std::to_string(b.batch) + " < " + std::to_string(min_batch) +
                                  (min_batch > 1 ? " (BatchNorm and contrastive negatives need 2+)" : ""));
  check(b.frames == c.frames && b.height == c.crop && b.width == c.crop,
        "video " + std::to_string(b.frames) + "x" + std::to_string(b.height) + "x" + std::to_string(b.width) +
            ", model expects " + std::to_string(c.frames) + "x" + std::to_string(c.crop) + "x" +
            std::to_string(c.crop) + " (frames, crop)");
  check(b.samples == c.audio_samples,
        "audio " + std::to_string(b.samples) + " samples, model expects " + std::to_string(c.audio_samples));
  check(b.video.size() == static_cast<size_t>(b.batch * b.frames * b.height * b.width * 3),
        "video buffer size");
  check(b.audio.size() == static_cast<size_t>(b.batch * b.samples), "audio buffer size");
  if (candidates > 0)
    check(b.text.size() == static_cast<size_t>(b.batch * candidates * c.text_words), "text buffer size");
  else
    check(!b.text.empty() && b.text.size() % static_cast<size_t>(b.batch * c.text_words) == 0,
          "text buffer: expected [B, L, " + std::to_string(c.text_words) + "] ids");
  if (need_mask) check(b.text_mask.size() == static_cast<size_t>(b.batch), "text mask size");
}

TrainBatch to_tensors(const HostBatch& b, const ModelConfig& c, const torch::Device& device) {
  TrainBatch t;
  // from_blob views the host buffers; .to() copies.
  t.video = torch::from_blob(const_cast<uint8_t*>(b.video.data()), {b.batch, b.frames, b.height, b.width, 3},
                             torch::kUInt8)
                .to(device)
                .to(torch::kFloat)
                .div_(127.5)
                .sub_(1.0);
  // copy = true: one copy on every device (a CPU .to() would otherwise return a view of the host buffer).
  t.audio = torch::from_blob(const_cast<float*>(b.audio.data()), {b.batch, b.samples}, torch::kFloat)
                .to(device, torch::kFloat, /*non_blocking=*/false, /*copy=*/true);
  const int64_t l = static_cast<int64_t>(b.text.size()) / (b.batch * c.text_words);
  t.text = torch::from_blob(const_cast<int32_t*>(b.text.data()), {b.batch, l, c.text_words}, torch::kInt32)
               .to(device)
               .to(torch::kLong)
               .clamp_(0, c.vocab_size - 1);
  if (b.text_mask.size() == static_cast<size_t>(b.batch))
    t.text_mask = torch::from_blob(const_cast<float*>(b.text_mask.data()), {b.batch}, torch::kFloat)
                      .to(device, torch::kFloat, /*non_blocking=*/false, /*copy=*/true);
  if (b.sources.size() == static_cast<size_t>(b.batch)) {
    std::vector<int64_t> ids(b.sources.begin(), b.sources.end());  // the bits as they are: ids, not numbers
    t.sources = torch::tensor(ids, torch::kLong).to(device);
  }
  return t;
}

}  // namespace vatt::model
