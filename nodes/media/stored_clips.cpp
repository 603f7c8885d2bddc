// `stored_clips`: the clips of a clip store, read back without decoding, over `epochs` passes in list order
// or shuffled per epoch, this worker's shard only.
//
//   stored_clips --clips(clip)--> ...     keys (source_id, epoch << 40 | clip_index), as video_source gives
//                --errors-------> ...     a clip that vanished from the store
#include "nodes/media/stored_clips.h"

#include <spdlog/spdlog.h>

#include <atomic>

#include "nodes/media/clip_record.h"
#include "nodes/media/epoch_order.h"
#include "nodes/media/ids.h"
#include "nodes/register_all.h"
#include "pipeline/services.h"
#include "storage/clip_store.h"

namespace vatt::nodes {

StoredClipReader::StoredClipReader(const std::string& path, int rank, int world) : path_(path) {
  store_ = storage::ClipStore::open_shared(path, storage::Access::ReadOnly);  // a writer may hold it too
  size_t all = 0;
  clips_ = store_->clips_with_media(&all);
  without_media_ = all - clips_.size();
  if (clips_.empty())
    throw std::runtime_error("clip store " + path +
                             " holds no clip with media; ingest with clip_store store_media: true");
  keep_shard(clips_, rank, world);
}

StoredClipReader::~StoredClipReader() = default;

std::variant<Clip, SourceError> StoredClipReader::read(size_t i) const {
  const auto& [source, clip] = clips_.at(i);
  auto rec = store_->get(source, clip);
  auto media = store_->media(source, clip);
  if (!rec || !media)
    return SourceError{"store_error", path_ + ": clip " + std::to_string(clip) + " of source " +
                                          hex64(source) + " vanished from the store"};
  return from_stored(*rec, std::move(*media));
}

namespace {

constexpr pipeline::Output<Clip> kClips{0};  // outputs[0], `clips`, of the contract below

class StoredClips final : public pipeline::Node {
 public:
  explicit StoredClips(const pipeline::NodeConfig& cfg)
      : id_(cfg.id),
        uri_(cfg.options.get_string("uri")),
        epochs_(cfg.options.get_int("epochs")),
        shuffle_(cfg.options.get_bool("shuffle")),
        seed_(static_cast<uint64_t>(cfg.options.get_int("seed"))),
        worker_(cfg.worker),
        services_(cfg.services) {}

  void open() override {
    if (!storage::ClipStore::exists_at(uri_))
      throw std::runtime_error("uri '" + uri_ + "' is not a clip store (read media with video_source)");
    reader_ = std::make_unique<StoredClipReader>(uri_, worker_.rank, worker_.world_size);
    if (reader_->size() == 0)
      throw std::runtime_error("data-parallel worker " + std::to_string(worker_.rank) + " of " +
                               std::to_string(worker_.world_size) + " has no data: " + uri_ +
                               " holds fewer stored clips than workers");
    if (reader_->without_media())
      spdlog::warn(
          "{}: {} clip(s) of {} were stored without media (clip_store store_media off) and are left out", id_,
          reader_->without_media(), uri_);
    order_ = std::make_unique<EpochOrder>(reader_->size(), shuffle_, seed_);
    spdlog::info("{}: {} stored clip(s) in clip store {}{}", id_, reader_->size(), uri_,
                 worker_.world_size > 1 ? fmt::format(" (shard {} of {})", worker_.rank, worker_.world_size)
                                        : std::string());
  }

  bool produce(pipeline::Emitter& out) override {
    if (!started_) {
      started_ = true;
      // A resumed training run says where its data continues (every node has opened by now).
      if (auto at = services_ ? services_->find<uint64_t>(kResumePositionService) : nullptr) {
        next_ = *at;
        spdlog::info("{}: resuming at clip {} of the read order (epoch {})", id_, next_,
                     next_ / reader_->size());
      }
    }
    const size_t n = reader_->size();
    const uint64_t epoch = next_ / n;
    if (epochs_ > 0 && epoch >= static_cast<uint64_t>(epochs_)) return false;
    const size_t u = order_->at(epoch, next_ % n);
    ++next_;
    epoch_.store(epoch);
    auto item = reader_->read(u);
    if (auto* e = std::get_if<SourceError>(&item)) {
      bad_.fetch_add(1);
      out.error(e->kind, e->reason);
      return true;
    }
    auto& c = std::get<Clip>(item);
    c.epoch = static_cast<uint32_t>(epoch);
    c.position = next_ - 1;
    const pipeline::Key key{c.source_id, (epoch << 40) | c.clip_index};
    clips_.fetch_add(1);
    out.send(kClips, key, std::move(c));
    return true;
  }

  std::optional<uint64_t> expected_total() const override {
    if (epochs_ <= 0 || !reader_) return std::nullopt;
    return static_cast<uint64_t>(epochs_) * reader_->size();
  }

  std::map<std::string, double> gauges() const override {
    return {{"stored_clips", static_cast<double>(reader_ ? reader_->size() : 0)},
            {"clips", static_cast<double>(clips_.load())},
            {"epoch", static_cast<double>(epoch_.load())},
            {"bad_clips", static_cast<double>(bad_.load())}};
  }

 private:
  std::string id_, uri_;
  int64_t epochs_;
  bool shuffle_;
  uint64_t seed_;
  pipeline::WorkerInfo worker_;
  std::unique_ptr<StoredClipReader> reader_;
  std::unique_ptr<EpochOrder> order_;
  pipeline::Services* services_ = nullptr;
  bool started_ = false;
  uint64_t next_ = 0;
  std::atomic<uint64_t> clips_{0}, epoch_{0}, bad_{0};
};

}  // namespace

void register_stored_clips(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "stored_clips";
  c.doc = "reads the clips of a clip store (ingested with store_media) back without decoding";
  c.outputs = {{"clips", "clip", "one Clip per stored clip, keys (source_id, epoch << 40 | clip_index)",
                pipeline::KeyMode::New}};
  c.progress_gauges = {"clips", "stored_clips", "epoch", "bad_clips"};
  c.options = {
      pipeline::required_option("uri", pipeline::OptionType::String,
                                "a clip store written by the ingest graph with clip_store store_media: true"),
      pipeline::int_option("epochs", 1, "passes over the clips (0 = until the run stops, e.g. training)", 0),
      pipeline::bool_option("shuffle", false, "a new order of the clips per epoch, drawn from seed"),
      pipeline::int_option("seed", 0, "seed of the shuffled orders"),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<StoredClips>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
