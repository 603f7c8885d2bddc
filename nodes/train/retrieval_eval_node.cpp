// `retrieval_eval`: zero-shot retrieval over every clip embedded by `embed`. Each clip's own transcript is
// the query for that clip (t2v), and the other way round (v2t); video-audio likewise (v2a, a2v). Per
// direction: R@1, R@5, R@10 (percent of queries whose true item ranks in the top K), the median rank MedR,
// the mean rank, and chance_R@5 (5 / gallery size, in percent). Exact ties count half (a repeated sentence
// must not win by luck). Figures go to the log, to the node's gauges (--metrics JSON: "t2v": {"R@1": ...})
// and to an optional JSON report.
//
//   --in(embeddings)--> retrieval_eval
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <tuple>

#include "nodes/register_all.h"
#include "nodes/train/embedding.h"
#include "nodes/train/retrieval.h"

namespace vatt::nodes {
namespace {

/// A source's file name without folder or extension ("file:///a/b/h003.webm" -> "h003").
std::string source_name(const std::string& uri) {
  std::string n = uri.substr(uri.find_last_of('/') + 1);
  const size_t dot = n.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? n : n.substr(0, dot);
}

class RetrievalNode final : public pipeline::Node {
 public:
  explicit RetrievalNode(const pipeline::NodeConfig& cfg) : report_(cfg.options.get_string("report")) {}

  void process(int, const pipeline::Message& in, pipeline::Emitter&) override {
    const auto& b = in.as<EmbeddingBatch>();
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& e : b.items) clips_.push_back(e);
  }

  void flush(pipeline::Emitter&) override {
    std::lock_guard<std::mutex> lk(mu_);
    // Keep one order whatever the arrival order: by source, then clip.
    std::sort(clips_.begin(), clips_.end(), [](const ClipEmbedding& a, const ClipEmbedding& b) {
      return std::tie(a.uri, a.clip_index) < std::tie(b.uri, b.clip_index);
    });
    std::vector<const std::vector<float>*> text_q, video_g, video_q, audio_g;
    for (const auto& c : clips_) {
      if (!c.has_video) continue;  // audio-only sources: nothing to retrieve against
      if (c.has_text && !c.text_vt.empty()) {
        text_q.push_back(&c.text_vt);
        video_g.push_back(&c.video_vt);
      }
      video_q.push_back(&c.video_va);
      audio_g.push_back(&c.audio_va);
    }
    results_["t2v"] = rank_all(text_q, video_g);
    results_["v2t"] = rank_all(video_g, text_q);
    results_["v2a"] = rank_all(video_q, audio_g);
    results_["a2v"] = rank_all(audio_g, video_q);
    spdlog::info("retrieval: {} clips ({} with text)", clips_.size(), text_q.size());
    spdlog::info("retrieval: {:<4} {:>8} {:>7} {:>7} {:>7} {:>7} {:>11}", "", "queries", "R@1", "R@5", "R@10",
                 "MedR", "chance R@5");
    for (const auto& [name, s] : results_)
      spdlog::info("retrieval: {:<4} {:>8} {:>6.1f}% {:>6.1f}% {:>6.1f}% {:>7.1f} {:>10.1f}%", name,
                   s.queries, s.r1, s.r5, s.r10, s.medr, s.chance5);
    if (!report_.empty()) {
      nlohmann::json j;
      j["clips"] = clips_.size();
      for (const auto& [name, s] : results_)
        j[name] = {{"queries", s.queries}, {"gallery", s.gallery},   {"R@1", s.r1},
                   {"R@5", s.r5},          {"R@10", s.r10},          {"MedR", s.medr},
                   {"MeanR", s.meanr},     {"chance_R@5", s.chance5}};
      // For `vatt report`: similarity densities of positive and negative pairs per space (the paper's
      // Fig. 4) and a 2-D map of the clips' video-text embeddings coloured by label or source (its Fig. 3).
      auto density = [](const SimilarityDensity& d) {
        return nlohmann::json{{"positive", d.positive},
                              {"negative", d.negative},
                              {"positives", d.positives},
                              {"negatives", d.negatives}};
      };
      j["densities"]["vt"] = density(similarity_density(video_g, text_q));
      j["densities"]["va"] = density(similarity_density(video_q, audio_g));
      std::vector<const std::vector<float>*> map_in;
      nlohmann::json points = nlohmann::json::array();
      for (const auto& c : clips_)
        if (c.has_video) map_in.push_back(&c.video_vt);
      const auto xy = pca_2d(map_in);
      size_t k = 0;
      for (const auto& c : clips_) {
        if (!c.has_video) continue;
        const std::string group = !c.labels.empty() ? c.labels.front() : source_name(c.uri);
        points.push_back({{"x", xy[k].first}, {"y", xy[k].second}, {"group", group}});
        ++k;
      }
      j["map"] = {{"space", "video_vt"},
                  {"by", clips_.empty() || clips_.front().labels.empty() ? "source" : "label"},
                  {"points", points}};
      std::ofstream o(report_);
      o << j.dump(2) << "\n";
      if (!o) throw std::runtime_error(report_ + ": cannot write the retrieval report");
    }
  }

  std::map<std::string, double> gauges() const override {
    std::lock_guard<std::mutex> lk(mu_);
    std::map<std::string, double> g;
    g["clips"] = static_cast<double>(clips_.size());
    for (const auto& [name, s] : results_)
      if (s.queries > 0) add_gauges(g, name, s);
    return g;
  }

 private:
  std::string report_;
  mutable std::mutex mu_;
  std::vector<ClipEmbedding> clips_;
  std::map<std::string, RetrievalScores> results_;
};

}  // namespace

void register_retrieval_eval(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "retrieval_eval";
  c.doc = "zero-shot retrieval (t2v, v2t, v2a, a2v): R@1/5/10, MedR, chance, over all embedded clips";
  c.inputs = {{"in", "embeddings", "embedded clips"}};
  c.options = {
      pipeline::string_option("report", "", "also write the figures to this JSON file (empty: no file)"),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<RetrievalNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
