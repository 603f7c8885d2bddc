// The embedding store: what a trained model made of each stored clip, kept in the `embeddings` column family
// of the project's RocksDB database (the same database as the clips), and the models that made them.
//
// Key layouts (big-endian integers; one family, three record kinds told apart by the first byte):
//   'm' [model u64]                                   -> JSON ModelRecord (checkpoint, step, config, spaces)
//   'e' [model u64][space u8][source u64][clip u64]   -> vector: [seq u64 BE][fingerprint u64 BE][dim x f32
//   LE] 's' [model u64][space u8][seq u64]                -> entry:  [source u64][clip u64][start_us i64]
//                                                                [end_us i64][flags u8][split bytes...]
// A vector's `seq` is its position in its (model, space) in the order it was added: 0, 1, 2, ... with no
// holes. Entries are that order on disk, so an index over a space covers "entries [0, N)" and catches up by
// reading entries from N on; faiss ids are seqs. A vector replaced (its clip's content changed) gets a new
// seq; its old entry is marked dead (flags bit 0) and the space's `dead` count goes up.
// Per-video vectors (spaces *_mean) use clip index 0.
// Durability: a Writer applies one batch of vectors, their entries and the model record in one atomic
// WriteSet: after kill -9 a batch is there whole or not at all.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/db.h"

namespace vatt::storage {

enum class Space : uint8_t {
  VideoVA = 1,       ///< video in the video-audio space (512-d)
  AudioVA = 2,       ///< audio in the video-audio space
  VideoVT = 3,       ///< video in the video-text space (256-d)
  TextVT = 4,        ///< the clip's own text in the video-text space
  VideoFeature = 5,  ///< the video backbone's AGG feature (not normalised; for linear probes)
  AudioFeature = 6,  ///< the audio backbone's AGG feature
  VideoVAMean = 17,  ///< per video: mean of its clips' video_va (re-normalised)
  AudioVAMean = 18,
  VideoVTMean = 19,
};
/// "video_va", "audio_va", "video_vt", "text_vt", "video_feature", "audio_feature", "video_va_mean", ...
const char* space_name(Space s);
std::optional<Space> space_from_name(const std::string& name);
std::vector<Space> all_spaces();
bool is_per_video(Space s);

/// 16 lower-case hex digits, and back (nullopt when `s` is not 1-16 hex digits).
std::string hex_id(uint64_t v);
std::optional<uint64_t> parse_hex_id(const std::string& s);

struct SpaceInfo {
  int dim = 0;
  uint64_t count = 0;  ///< vectors added so far = the next seq
  uint64_t dead = 0;   ///< of those, replaced since
};

struct ModelRecord {
  uint64_t id = 0;          ///< digest of the checkpoint's weights
  std::string checkpoint;   ///< the checkpoint file embedded with (as given, made absolute)
  int64_t step = 0;         ///< its training step
  std::string config_name;  ///< e.g. "tiny", "mbs"
  std::string config;       ///< the model config as "field=value" lines
  int video_clips = 0;      ///< clips averaged per video (0 = all)
  uint64_t created = 0;     ///< order of first use in this store (1, 2, ...): the latest is the default
  std::map<Space, SpaceInfo> spaces;
  uint64_t clips() const;   ///< live clip vectors (video_va, else video_vt)
  uint64_t videos() const;  ///< per-video vectors (video_vt_mean, else video_va_mean)
};

struct Entry {
  uint64_t source = 0, clip = 0;
  int64_t start_us = 0, end_us = 0;
  bool dead = false;
  std::string split;
};

struct StoredVector {
  uint64_t seq = 0, fingerprint = 0;
  std::vector<float> v;
};

class EmbeddingStore {
 public:
  explicit EmbeddingStore(Db& db) : db_(db) {}

  std::vector<ModelRecord> models() const;  ///< in `created` order
  std::optional<ModelRecord> model(uint64_t id) const;
  std::optional<ModelRecord> latest_model() const;

  std::optional<StoredVector> get(uint64_t model, Space space, uint64_t source, uint64_t clip) const;
  /// Entries of (model, space) with seq >= from, in seq order; `fn(seq, entry)` returns false to stop.
  void scan_entries(uint64_t model, Space space, uint64_t from,
                    const std::function<bool(uint64_t, const Entry&)>& fn) const;
  std::optional<Entry> entry_at(uint64_t model, Space space, uint64_t seq) const;
  /// Live vectors of (model, space) for one source or all, in (source, clip) order.
  void scan_vectors(uint64_t model, Space space, std::optional<uint64_t> source,
                    const std::function<bool(uint64_t source, uint64_t clip, const StoredVector&)>& fn) const;

  /// One writer per model and store (not thread-safe). Collects vectors; commit() writes them, their entries
  /// and the model record atomically.
  class Writer {
   public:
    /// Loads the model's record, or starts one from `info` (id, checkpoint, step, config, video_clips).
    Writer(EmbeddingStore& store, const ModelRecord& info);
    enum class Result { Added, Skipped, Replaced };
    /// A vector for (space, source, clip). Skipped when one is stored (or pending) with the same
    /// fingerprint; Replaced when the stored one came from other content. Throws std::invalid_argument
    /// when the dimension differs from the space's.
    Result add(Space space, uint64_t source, uint64_t clip, uint64_t fingerprint, const Entry& entry,
               const float* v, size_t dim);
    /// Writes what was added since the last commit (nothing when nothing was). Returns vectors written.
    size_t commit(bool sync = false);
    const ModelRecord& record() const { return rec_; }

   private:
    EmbeddingStore& store_;
    ModelRecord rec_;
    WriteSet pending_;
    size_t pending_n_ = 0;
    std::map<std::string, uint64_t> pending_keys_;  // vector key -> fingerprint, this batch
    bool record_dirty_ = false;
  };

  static std::string vector_key(uint64_t model, Space space, uint64_t source, uint64_t clip);
  static std::string entry_key(uint64_t model, Space space, uint64_t seq);
  static std::string model_key(uint64_t model);

 private:
  friend class Writer;
  Db& db_;
};

std::string model_to_json(const ModelRecord& m);
ModelRecord model_from_json(std::string_view text, uint64_t id);

}  // namespace vatt::storage
