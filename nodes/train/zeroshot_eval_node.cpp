// `zeroshot_eval`: zero-shot text-video retrieval as the papers report it (MSR-VTT, YouCook2). The gallery is
// one vector per video: the mean of its clips' video-text embeddings (the source samples K uniformly spaced
// clips; K = 4 in the paper), re-normalised. The queries are the videos' captions (`embed` with `captions`
// on), each embedded once. t2v: a caption's relevant item is its video; v2t: a video's relevant items are its
// captions, and its best-ranked caption counts. Per direction: R@1, R@5, R@10, MedR, MeanR, and the number of
// queries and gallery items, printed with every figure (a recall without its gallery size means nothing).
// Exact ties count half. Figures go to the log, the gauges (--metrics: "t2v": {"R@1": ...}) and an optional
// JSON report.
//
//   --in(embeddings)--> zeroshot_eval
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <mutex>

#include "nodes/register_all.h"
#include "nodes/train/embedding.h"
#include "nodes/train/retrieval.h"

namespace vatt::nodes {
namespace {

struct Video {
  std::vector<double> sum;
  size_t clips = 0;
  std::vector<std::string> captions;
  std::vector<std::vector<float>> caption_vt;
};

class ZeroShotNode final : public pipeline::Node {
 public:
  explicit ZeroShotNode(const pipeline::NodeConfig& cfg)
      : id_(cfg.id),
        report_(cfg.options.get_string("report")),
        per_video_(static_cast<size_t>(cfg.options.get_int("captions_per_video"))) {}

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    const auto& b = in.as<EmbeddingBatch>();
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& e : b.items) {
      if (e.video_vt.empty()) {
        out.error("no_video", e.uri + " clip " + std::to_string(e.clip_index) +
                                  " has no video embedding (an audio-only source): left out of the gallery");
        continue;
      }
      Video& v = videos_[e.uri];
      if (v.sum.empty()) v.sum.assign(e.video_vt.size(), 0.0);
      if (v.sum.size() != e.video_vt.size())
        throw std::invalid_argument(e.uri + ": video-text embeddings of two sizes (two models in one run?)");
      for (size_t i = 0; i < v.sum.size(); ++i) v.sum[i] += e.video_vt[i];
      ++v.clips;
      if (!e.captions.empty()) {
        v.captions = e.captions;
        v.caption_vt = e.caption_vt;
      }
    }
  }

  void flush(pipeline::Emitter&) override {
    std::lock_guard<std::mutex> lk(mu_);
    // Videos in URI order, captions in file order: the same figures for any arrival order.
    std::vector<std::vector<float>> gallery_v, query_v;
    std::vector<size_t> video_of;                  // per caption query
    std::vector<std::vector<size_t>> captions_of;  // per video
    size_t without = 0, clips = 0;
    for (auto& [uri, v] : videos_) {
      size_t n = v.captions.size();
      if (per_video_ > 0) n = std::min(n, per_video_);
      if (n == 0) {
        ++without;
        continue;
      }
      std::vector<float> mean(v.sum.size());
      for (size_t i = 0; i < mean.size(); ++i)
        mean[i] = static_cast<float>(v.sum[i] / static_cast<double>(v.clips));
      normalise(mean);
      const size_t g = gallery_v.size();
      gallery_v.push_back(std::move(mean));
      clips += v.clips;
      captions_of.emplace_back();
      for (size_t k = 0; k < n; ++k) {
        std::vector<float> q = v.caption_vt[k];
        normalise(q);
        captions_of.back().push_back(query_v.size());
        query_v.push_back(std::move(q));
        video_of.push_back(g);
      }
    }
    if (without)
      spdlog::warn(
          "{}: {} video(s) without captions left out of the gallery (captions come from src.captions; "
          "embed needs captions: true)",
          id_, without);
    if (gallery_v.empty())
      throw std::runtime_error(id_ + ": no video with captions to evaluate (" +
                               std::to_string(videos_.size()) +
                               " video(s) embedded; set src.captions and model.captions=true)");
    std::vector<const std::vector<float>*> q, g;
    for (const auto& x : query_v) q.push_back(&x);
    for (const auto& x : gallery_v) g.push_back(&x);
    std::vector<std::vector<size_t>> t2v_rel(video_of.size());
    for (size_t i = 0; i < video_of.size(); ++i) t2v_rel[i] = {video_of[i]};
    results_["t2v"] = rank_relevant(q, g, t2v_rel);
    results_["v2t"] = rank_relevant(g, q, captions_of);
    clips_per_video_ = static_cast<double>(clips) / static_cast<double>(gallery_v.size());
    spdlog::info("{}: {} videos (mean of {:.1f} clips each), {} captions", id_, gallery_v.size(),
                 clips_per_video_, query_v.size());
    spdlog::info("{}: {:<4} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7}", id_, "", "queries", "gallery", "R@1",
                 "R@5", "R@10", "MedR", "MeanR");
    for (const auto& [name, s] : results_)
      spdlog::info("{}: {:<4} {:>8} {:>8} {:>6.1f}% {:>6.1f}% {:>6.1f}% {:>7.1f} {:>7.1f}", id_, name,
                   s.queries, s.gallery, s.r1, s.r5, s.r10, s.medr, s.meanr);
    if (!report_.empty()) {
      nlohmann::json j;
      j["videos"] = gallery_v.size();
      j["captions"] = query_v.size();
      j["clips_per_video"] = clips_per_video_;
      for (const auto& [name, s] : results_)
        j[name] = {{"queries", s.queries}, {"gallery", s.gallery},   {"R@1", s.r1},
                   {"R@5", s.r5},          {"R@10", s.r10},          {"MedR", s.medr},
                   {"MeanR", s.meanr},     {"chance_R@5", s.chance5}};
      std::ofstream o(report_);
      o << j.dump(2) << "\n";
      if (!o) throw std::runtime_error(report_ + ": cannot write the retrieval report");
    }
  }

  std::map<std::string, double> gauges() const override {
    std::lock_guard<std::mutex> lk(mu_);
    std::map<std::string, double> g;
    g["videos"] = static_cast<double>(videos_.size());
    if (!results_.empty()) g["clips_per_video"] = clips_per_video_;
    for (const auto& [name, s] : results_) add_gauges(g, name, s);
    return g;
  }

 private:
  std::string id_, report_;
  size_t per_video_;
  mutable std::mutex mu_;
  std::map<std::string, Video> videos_;
  std::map<std::string, RetrievalScores> results_;
  double clips_per_video_ = 0;
};

}  // namespace

void register_zeroshot_eval(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "zeroshot_eval";
  c.doc = "zero-shot text<->video retrieval, standard protocol: captions against per-video mean embeddings";
  c.inputs = {
      {"in", "embeddings", "embedded clips, captions on each source's first clip (embed captions: true)"}};
  c.options = {
      pipeline::string_option("report", "", "also write the figures to this JSON file (empty: no file)"),
      pipeline::int_option("captions_per_video", 0,
                           "captions of a video used as queries, first ones first (0 = all; MSR-VTT 1k-A: 1)",
                           0),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<ZeroShotNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
