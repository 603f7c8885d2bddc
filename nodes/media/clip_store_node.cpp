// `clip_store`: writes each clip's metadata, aligned text and (optionally) decoded media to the RocksDB clip
// store, one atomic write per clip; clips already stored for the same source content and options are skipped.
//
//   --in(clip)--> clip_store         errors: clips that could not be written (the reason from RocksDB)
//
// Serial (one writer). Order does not matter for correctness: the source cursor is the highest index stored.
#include <spdlog/spdlog.h>

#include <atomic>

#include "nodes/media/clip.h"
#include "nodes/media/clip_record.h"
#include "nodes/register_all.h"
#include "storage/clip_store.h"

namespace vatt::nodes {
namespace {

class ClipStoreNode final : public pipeline::Node {
 public:
  explicit ClipStoreNode(const pipeline::NodeConfig& cfg)
      : id_(cfg.id),
        path_(cfg.options.get_string("db")),
        media_(cfg.options.get_bool("store_media")),
        sync_(cfg.options.get_bool("sync")) {
    if (path_.empty()) throw std::invalid_argument("db must name a database folder");
  }

  void open() override { store_ = storage::ClipStore::open_shared(path_); }

  void process(int, const pipeline::Message& in, pipeline::Emitter&) override {
    const Clip& c = in.as<Clip>();
    const storage::ClipRecord r = to_record(c);
    storage::ClipMedia m;
    if (media_) m = to_media(c);
    switch (store_->put(r, media_ ? &m : nullptr, sync_)) {
      case storage::ClipStore::PutResult::Skipped:
        skipped_.fetch_add(1);
        break;
      case storage::ClipStore::PutResult::Replaced:
        replaced_.fetch_add(1);
        [[fallthrough]];
      case storage::ClipStore::PutResult::Added:
        added_.fetch_add(1);
        break;
    }
  }

  void close() override {
    if (store_)
      spdlog::info("{}: {} clip(s) added, {} already stored, {} source(s) replaced, in {}", id_,
                   added_.load(), skipped_.load(), replaced_.load(), path_);
    store_.reset();
  }

  std::map<std::string, double> gauges() const override {
    return {{"added", static_cast<double>(added_.load())}, {"skipped", static_cast<double>(skipped_.load())}};
  }

 private:
  std::string id_, path_;
  bool media_, sync_;
  std::shared_ptr<storage::ClipStore> store_;
  std::atomic<uint64_t> added_{0}, skipped_{0}, replaced_{0};
};

}  // namespace

void register_clip_store(pipeline::Registry& registry) {
  using pipeline::OptionType;
  pipeline::NodeContract c;
  c.type = "clip_store";
  c.doc =
      "stores clips (metadata, aligned text, optional media) in the RocksDB clip store; re-ingest adds "
      "nothing";
  c.inputs = {{"in", "clip", "clips from video_source"}};
  c.options = {
      pipeline::required_option("db", OptionType::String, "database folder (created if missing)"),
      pipeline::bool_option("store_media", false, "also keep the decoded frames and audio of each clip"),
      pipeline::bool_option("sync", false, "fsync each clip's write (survives power loss, slower)"),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<ClipStoreNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
