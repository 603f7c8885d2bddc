// `embed`: a trained checkpoint applied to batches of decoded clips. Each clip is prepared the way the
// checkpoint says its model was trained (nodes/train/eval_input.h: frame rate, centre crop, audio rate and
// length, the checkpoint's own vocabulary), then embedded in eval mode; the output carries per clip its
// L2-normalised video-audio and video-text embeddings and its own text's embedding.
//
//   --in(batch of clips)--> embed --out(embeddings)-->
//                                 --errors--> (clips without frames or audio, batches that fail)
//
// A clip of an audio-only source (ESC-50's wav files) is embedded through the audio tower only: its video
// vectors are left empty (has_video false).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>

#include "model/embedder.h"
#include "nodes/media/clip_record.h"
#include "nodes/media/thumbnail.h"
#include "nodes/register_all.h"
#include "nodes/train/embedding.h"
#include "nodes/train/eval_input.h"

namespace vatt::nodes {
namespace {

constexpr pipeline::Output<EmbeddingBatch> kOut{0};  // outputs[0], `out`, of the contract below

class EmbedNode final : public pipeline::Node {
 public:
  explicit EmbedNode(const pipeline::NodeConfig& cfg) {
    const auto& o = cfg.options;
    opts_.checkpoint = o.get_string("checkpoint");
    opts_.device = o.get_string("device");
    opts_.threads = static_cast<int>(o.get_int("threads"));
    opts_.precision = o.get_string("precision");
    thumbnails_ = o.get_int("thumbnails");
    captions_ = o.get_bool("captions");
  }

  void open() override {
    embedder_ = std::make_unique<model::Embedder>(opts_);
    spec_ =
        parse_input_spec(embedder_->user_blob(), embedder_->path(), static_cast<int>(embedder_->frames()),
                         static_cast<int>(embedder_->crop()), static_cast<int>(embedder_->audio_samples()));
    auto info = std::make_shared<EmbeddingModel>();
    info->id = embedder_->weights_digest();
    std::error_code ec;
    auto abs = std::filesystem::absolute(embedder_->path(), ec);
    info->checkpoint = ec ? embedder_->path() : abs.lexically_normal().string();
    info->config_name = embedder_->config_name();
    info->config = embedder_->config_text();
    info->step = embedder_->step();
    model_ = std::move(info);
    if (!spec_.vocab)
      spdlog::warn("embed: {} carries no vocabulary; text embeddings are left out", embedder_->path());
    spdlog::info(
        "embed: {} (model {:016x}: {} after {} steps) on {}; input {} frames of {}x{} at {} fps, {} samples "
        "at "
        "{} Hz",
        embedder_->path(), model_->id, embedder_->config_name(), embedder_->step(), embedder_->device(),
        spec_.frames, spec_.crop, spec_.crop, spec_.fps, spec_.audio_samples, spec_.sample_rate);
  }

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    const auto& items = in.as<pipeline::Batch>().items;
    std::vector<std::shared_ptr<const Clip>> clips;
    for (const auto& m : items) {
      auto c = m.shared<Clip>();
      if ((!c->frames || c->frames_t < 1) && (!c->audio || c->audio->empty())) {
        out.error("no_media", "clip " + std::to_string(c->clip_index) + " of " + c->uri +
                                  " has neither video frames nor audio: it cannot be embedded");
        continue;
      }
      clips.push_back(std::move(c));
    }
    if (clips.empty()) return;
    std::vector<const Clip*> raw;
    for (const auto& c : clips) raw.push_back(c.get());
    const model::HostBatch b = prepare_batch(raw, spec_, static_cast<size_t>(embedder_->text_words()));
    const auto e = embedder_->embed(b);
    EmbeddingBatch outb;
    outb.model = model_;
    outb.items.resize(clips.size());
    const auto va = static_cast<size_t>(e.dim_va), vt = static_cast<size_t>(e.dim_vt);
    const auto fv = static_cast<size_t>(e.dim_video_feature), fa = static_cast<size_t>(e.dim_audio_feature);
    for (size_t i = 0; i < clips.size(); ++i) {
      const Clip& c = *clips[i];
      auto& r = outb.items[i];
      r.source_id = c.source_id;
      r.clip_index = c.clip_index;
      r.uri = c.uri;
      r.start_us = c.start_us;
      r.end_us = c.end_us;
      r.has_text = b.text_mask[i] > 0;
      r.text = c.has_text() ? c.text[0].text : "";
      r.has_audio = c.has_audio;
      r.has_video = c.frames && c.frames_t > 0;
      r.labels = c.labels;
      r.video_va.assign(e.video_va.begin() + static_cast<std::ptrdiff_t>(i * va),
                        e.video_va.begin() + static_cast<std::ptrdiff_t>((i + 1) * va));
      r.audio_va.assign(e.audio_va.begin() + static_cast<std::ptrdiff_t>(i * va),
                        e.audio_va.begin() + static_cast<std::ptrdiff_t>((i + 1) * va));
      r.video_vt.assign(e.video_vt.begin() + static_cast<std::ptrdiff_t>(i * vt),
                        e.video_vt.begin() + static_cast<std::ptrdiff_t>((i + 1) * vt));
      r.video_feature.assign(e.video_feature.begin() + static_cast<std::ptrdiff_t>(i * fv),
                             e.video_feature.begin() + static_cast<std::ptrdiff_t>((i + 1) * fv));
      r.audio_feature.assign(e.audio_feature.begin() + static_cast<std::ptrdiff_t>(i * fa),
                             e.audio_feature.begin() + static_cast<std::ptrdiff_t>((i + 1) * fa));
      if (!r.has_video) {  // audio only: the black frames' embeddings are not the clip's
        r.video_va.clear();
        r.video_vt.clear();
        r.video_feature.clear();
      }
      auto rec = to_record(c);
      if (thumbnails_ > 0 && r.has_video) {
        try {
          rec.thumbnail_jpeg = clip_thumbnail(c, static_cast<int>(thumbnails_));
        } catch (const std::exception& ex) {
          out.error("thumbnail", c.uri + " clip " + std::to_string(c.clip_index) + ": " + ex.what());
        }
      }
      r.record = std::make_shared<const storage::ClipRecord>(std::move(rec));
      if (r.has_text)
        r.text_vt.assign(e.text_vt.begin() + static_cast<std::ptrdiff_t>(i * vt),
                         e.text_vt.begin() + static_cast<std::ptrdiff_t>((i + 1) * vt));
    }
    if (captions_ && spec_.vocab) embed_captions(clips, outb);
    out.send(kOut, std::move(outb));
  }

 private:
  /// Each source's untimed captions, embedded once: with its first clip.
  void embed_captions(const std::vector<std::shared_ptr<const Clip>>& clips, EmbeddingBatch& outb) {
    const auto words = static_cast<size_t>(embedder_->text_words());
    std::vector<int32_t> ids;
    std::vector<std::pair<size_t, size_t>> where;  // (item, caption)
    for (size_t i = 0; i < clips.size(); ++i) {
      if (clips[i]->clip_index != 0) continue;
      for (size_t k = 0; k < clips[i]->captions.size(); ++k) {
        const auto enc = spec_.vocab->encode(clips[i]->captions[k], words);
        ids.insert(ids.end(), enc.begin(), enc.end());
        where.emplace_back(i, k);
      }
      outb.items[i].captions = clips[i]->captions;
      outb.items[i].caption_vt.resize(clips[i]->captions.size());
    }
    if (where.empty()) return;
    const auto n = static_cast<int64_t>(where.size());
    const std::vector<float> v = embedder_->embed_text(ids, n);
    const size_t dim = v.size() / where.size();
    for (size_t j = 0; j < where.size(); ++j)
      outb.items[where[j].first].caption_vt[where[j].second].assign(
          v.begin() + static_cast<std::ptrdiff_t>(j * dim),
          v.begin() + static_cast<std::ptrdiff_t>((j + 1) * dim));
  }

  model::EmbedderOptions opts_;
  std::unique_ptr<model::Embedder> embedder_;
  InputSpec spec_;
  std::shared_ptr<const EmbeddingModel> model_;
  int64_t thumbnails_ = 0;
  bool captions_ = false;
};

}  // namespace

void register_embed(pipeline::Registry& registry) {
  using pipeline::int_option;
  using pipeline::string_option;
  pipeline::NodeContract c;
  c.type = "embed";
  c.doc = "a trained checkpoint embeds batches of clips (video-audio and video-text spaces, own text)";
  c.inputs = {{"in", "batch", "batches of decoded clips"}};
  c.outputs = {{"out", "embeddings", "per clip: identity, own text, normalised embeddings"}};
  c.options = {
      pipeline::required_option("checkpoint", pipeline::OptionType::String,
                                "a checkpoint file, or a directory meaning its latest checkpoint"),
      string_option("device", "auto", "auto, cpu, cuda or cuda:N"),
      int_option("threads", 0, "LibTorch intra-op threads (0 = all cores)", 0),
      string_option("precision", "fp32", "fp32, bf16 or auto", {"auto", "fp32", "bf16"}),
      pipeline::bool_option("captions", false,
                            "also embed each source's untimed captions (MSR-VTT style) with its first clip, "
                            "for zero-shot retrieval (zeroshot_eval)"),
      int_option(
          "thumbnails", 0,
          "> 0: keep a JPEG of each clip's middle frame, long side at most this (embedding_store stores "
          "it with the clip when store_clips is on); 0 = none",
          0, 4096),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<EmbedNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
