// `batch`: groups `size` messages into one Batch, in arrival order (make the input `ordered` to group in key
// order); flushes the remainder at the end of the stream when `partial` is set.
//
// Mixing (`mix`: ["PREFIX=WEIGHT", ...]): messages are grouped by the first PREFIX their origin starts with
// (the source path or URI a message type names, Registry::origin: clips and tokenised clips; "*" matches any), and each batch takes from the groups in proportion to
// the weights (largest remainders; the same counts every batch), e.g. 3 narrated videos with text to 1
// AudioSet-style clip without. A clip that matches no prefix is an error naming it. A group that runs dry
// must not stall training: when another group holds `starve_after` batches' worth, batches are filled from
// what is there (counted as `starved_batches`).
//
//   --in(any)--> batch --out(batch, new keys)-->
#include <spdlog/spdlog.h>

#include <deque>
#include <mutex>
#include <numeric>

#include "nodes/register_all.h"

namespace vatt::nodes {
namespace {

constexpr pipeline::Output<pipeline::Batch> kOut{0};  // outputs[0], `out`, of the contract below

struct MixGroup {
  std::string prefix;
  double weight = 0;
  int64_t per_batch = 0;
  std::deque<pipeline::Message> pending;
  uint64_t taken = 0;
};

class BatchNode final : public pipeline::Node {
 public:
  explicit BatchNode(const pipeline::NodeConfig& cfg)
      : registry_(cfg.registry),
        size_(cfg.options.get_int("size")),
        partial_(cfg.options.get_bool("partial")),
        starve_after_(cfg.options.get_int("starve_after")) {
    for (const auto& entry : cfg.options.get_list("mix")) {
      const auto eq = entry.rfind('=');
      MixGroup g;
      try {
        if (eq == std::string::npos || eq == 0) throw std::invalid_argument("no '='");
        g.prefix = entry.substr(0, eq);
        size_t used = 0;
        g.weight = std::stod(entry.substr(eq + 1), &used);
        if (used != entry.size() - eq - 1 || !(g.weight > 0)) throw std::invalid_argument("weight");
      } catch (const std::exception&) {
        throw std::invalid_argument("mix entry '" + entry + "': expected PREFIX=WEIGHT with a weight > 0");
      }
      groups_.push_back(std::move(g));
    }
    if (!groups_.empty()) split_batch();
  }

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    if (groups_.empty()) {
      pending_.items.push_back(in);
      if (static_cast<int64_t>(pending_.items.size()) >= size_) emit(out);
      return;
    }
    const std::string where = origin(in);
    MixGroup* g = nullptr;
    for (auto& cand : groups_)
      if (cand.prefix == "*" || where.rfind(cand.prefix, 0) == 0) {
        g = &cand;
        break;
      }
    if (!g) {
      out.error("unmatched_mix",
                "'" + where + "' matches no mix prefix (add one, or \"*=WEIGHT\" for the rest)");
      return;
    }
    g->pending.push_back(in);
    while (mix_ready()) emit_mixed(out, Fill::No);
    if (starving()) emit_mixed(out, Fill::Starved);
  }

  void flush(pipeline::Emitter& out) override {
    if (groups_.empty()) {
      if (partial_ && !pending_.items.empty()) emit(out);
      pending_.items.clear();
      return;
    }
    while (mix_ready()) emit_mixed(out, Fill::No);
    if (partial_) {
      while (true) {
        size_t left = 0;
        for (const auto& g : groups_) left += g.pending.size();
        if (left == 0) break;
        emit_mixed(out, Fill::Remainder);
      }
    }
    for (auto& g : groups_) g.pending.clear();
  }

  std::map<std::string, double> gauges() const override {
    std::lock_guard<std::mutex> lk(mu_);
    std::map<std::string, double> m;
    if (groups_.empty()) return m;
    m["starved_batches"] = static_cast<double>(starved_);
    for (size_t i = 0; i < groups_.size(); ++i)
      m["mix.group" + std::to_string(i) + "_clips"] = static_cast<double>(groups_[i].taken);
    return m;
  }

 private:
  // The source a clip came from: its path (file:// URIs without the scheme) for prefix matching.
  std::string origin(const pipeline::Message& m) const {
    if (!registry_)
      throw std::logic_error("batch with mix needs the graph's registry (NodeConfig::registry)");
    return registry_->origin(m);  // throws, naming the type, for messages that name no origin
  }

  // Largest-remainder split of `size` by weight; every group with a weight gets at least one slot when the
  // batch has room.
  void split_batch() {
    const double total = std::accumulate(groups_.begin(), groups_.end(), 0.0,
                                         [](double a, const MixGroup& g) { return a + g.weight; });
    int64_t given = 0;
    std::vector<std::pair<double, size_t>> rest;
    for (size_t i = 0; i < groups_.size(); ++i) {
      const double exact = static_cast<double>(size_) * groups_[i].weight / total;
      groups_[i].per_batch = static_cast<int64_t>(exact);
      given += groups_[i].per_batch;
      rest.emplace_back(exact - static_cast<double>(groups_[i].per_batch), i);
    }
    std::sort(rest.begin(), rest.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (size_t k = 0; given < size_; ++k, ++given) groups_[rest[k % rest.size()].second].per_batch++;
  }

  bool mix_ready() const {
    for (const auto& g : groups_)
      if (static_cast<int64_t>(g.pending.size()) < g.per_batch) return false;
    return true;
  }

  bool starving() const {
    for (const auto& g : groups_)
      if (static_cast<int64_t>(g.pending.size()) >= starve_after_ * size_) return true;
    return false;
  }

  enum class Fill { No, Starved, Remainder };
  // One batch: each group's share; Starved/Remainder top it up from any group that has more when a share is
  // missing (Starved counts it: a group ran dry mid-stream; Remainder is the end of the stream).
  void emit_mixed(pipeline::Emitter& out, Fill fill) {
    pipeline::Batch b;
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& g : groups_)
      for (int64_t i = 0; i < g.per_batch && !g.pending.empty(); ++i) {
        b.items.push_back(std::move(g.pending.front()));
        g.pending.pop_front();
        ++g.taken;
      }
    if (fill != Fill::No && static_cast<int64_t>(b.items.size()) < size_) {
      if (fill == Fill::Starved && ++starved_ == 1)
        spdlog::warn("batch: a mix group ran short; filling batches from the others");
      for (auto& g : groups_)
        while (static_cast<int64_t>(b.items.size()) < size_ && !g.pending.empty()) {
          b.items.push_back(std::move(g.pending.front()));
          g.pending.pop_front();
          ++g.taken;
        }
    }
    if (b.items.empty()) return;
    out.send(kOut, std::move(b));
  }

  void emit(pipeline::Emitter& out) {
    pipeline::Batch b;
    b.items.swap(pending_.items);
    pending_.items.reserve(static_cast<size_t>(size_));
    out.send(kOut, std::move(b));
  }
  const pipeline::Registry* registry_;
  int64_t size_;
  bool partial_;
  int64_t starve_after_;
  pipeline::Batch pending_;
  std::vector<MixGroup> groups_;
  mutable std::mutex mu_;
  uint64_t starved_ = 0;
};

}  // namespace

void register_batch(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "batch";
  c.doc = "groups messages into batches of a fixed size; optionally mixes sources by weight";
  c.inputs = {{"in", "any", "messages to group"}};
  c.outputs = {
      {"out", "batch", "Batch of `size` messages (the last may be smaller)", pipeline::KeyMode::New}};
  c.options = {
      pipeline::int_option("size", 32, "messages per batch", 1),
      pipeline::bool_option("partial", true, "emit the last, smaller batch at the end"),
      pipeline::list_option(
          "mix", {},
          "mix clips by source: PREFIX=WEIGHT entries (path or URI prefix, \"*\" = any); each "
          "batch takes from the groups in proportion to the weights"),
      pipeline::int_option(
          "starve_after", 4,
          "mix: when a group holds this many batches' worth, fill batches from what is there", 1),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<BatchNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
