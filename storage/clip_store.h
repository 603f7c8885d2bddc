// The clip store: what ingestion keeps per clip and per source in the project's RocksDB database, with the
// idempotence and resume rules of ingestion.
//
// Key layouts (big-endian, so a source's clips scan in clip order):
//   sources  [source_id u64]                 -> JSON {uri, fingerprint, options, cursor, clips, total}
//   clips    [source_id u64][clip_index u64] -> JSON {uri, fingerprint, options, start_us, end_us, has_video,
//                                                      has_audio, has_text, labels, split, captions}
//   clips    [source_id][clip_index]['m']    -> decoded media (optional): header + frames + audio; RocksDB's block
//                                               compression (Snappy) compresses it on disk
//   clips    [source_id][clip_index]['j']    -> a JPEG thumbnail of the clip (optional; live ingestion keeps one)
//   texts    [source_id u64][clip_index u64] -> JSON [{start_us, end_us, text}, ...]; [0] is the clip's own text,
//                                               the rest the nearest segments (MIL-NCE candidates)
// Durability: each put() is one atomic write (the clip, its text, its media and the source cursor together)
// through the write-ahead log: after a crash or kill -9 a clip is there whole or not at all; with `sync` it
// also survives power loss once put() returns.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/db.h"

namespace vatt::storage {

struct TextRecord {
  int64_t start_us = 0, end_us = 0;
  std::string text;
};

struct ClipRecord {
  uint64_t source_id = 0, clip_index = 0;
  std::string uri, fingerprint, options_digest;
  int64_t start_us = 0, end_us = 0;
  bool has_video = false, has_audio = false;
  std::vector<std::string> labels;
  std::string split;
  std::vector<TextRecord> text;  ///< [0] the clip's own words; then the nearest other segments
  bool has_text() const { return !text.empty(); }
  std::vector<std::string> captions;  ///< untimed captions of the whole video (MSR-VTT style)
  /// Live sources: the wall-clock time (microseconds since the Unix epoch) at which the clip's window began;
  /// 0 for files (their time line is the file's).
  int64_t wall_start_us = 0;
  /// Written, not read back (thumbnail() reads it): a JPEG of one frame of the clip, stored beside it.
  std::string thumbnail_jpeg;
  /// Written, not read back: this is the source's last clip, so the source has clip_index + 1 clips (its
  /// record's `total`).
  bool last = false;
};

/// A decoded clip kept so training can re-read it without decoding: frames [T, H, W, 3] uint8 packed RGB and
/// audio [S] float.
struct ClipMedia {
  int frames_t = 0, height = 0, width = 0;
  double fps = 0;
  int sample_rate = 0;
  std::vector<uint8_t> frames;
  std::vector<float> audio;
};

struct SourceRecord {
  uint64_t source_id = 0;
  std::string uri, fingerprint, options_digest;
  uint64_t cursor = 0;  ///< 1 + the highest clip index stored: where an interrupted ingest stands
  uint64_t clips = 0;   ///< clips stored for this source
  uint64_t total = 0;   ///< clips the source has (known once its last clip was stored); 0 = not known yet
  /// Every clip of the source is stored: an ingest with the same content and options has nothing to do.
  bool complete() const { return total > 0 && clips >= total; }
  /// Clips [0, resume_from()) are all stored: an interrupted ingest can start decoding at this clip.
  uint64_t resume_from() const { return clips == cursor ? cursor : 0; }
};

class ClipStore {
 public:
  /// Opens the database at `path` (ReadWrite creates it if needed). Throws StorageError.
  explicit ClipStore(const std::string& path, Access access = Access::ReadWrite);

  /// The one ClipStore of this process for `path` (RocksDB allows one open per database and process): the
  /// ingest graph's writer (clip_store node) and its reader (video_source's resume_db) share it while either
  /// holds it. Reads are thread-safe next to put(). A ReadOnly request gets the process's writer when there is
  /// one, else a read-only instance that does not stop another process from writing (db.h).
  static std::shared_ptr<ClipStore> open_shared(const std::string& path, Access access = Access::ReadWrite);
  /// True when `path` is a RocksDB database directory (what a clip store is on disk).
  static bool exists_at(const std::string& path);

  enum class PutResult { Added, Skipped, Replaced };
  /// Stores `clip` (and `media` if given) atomically with its source's cursor. A clip already stored for the
  /// same source content and options is skipped (re-ingest adds nothing). When the source's fingerprint or
  /// options changed, its old clips and texts are deleted in the same write first (result Replaced). A clip
  /// with `last` sets the source's `total` (also when the clip itself is skipped).
  /// Not thread-safe: one writer per store.
  PutResult put(const ClipRecord& clip, const ClipMedia* media = nullptr, bool sync = false);

  std::optional<SourceRecord> source(uint64_t source_id) const;
  std::vector<SourceRecord> sources() const;
  /// Calls `fn` for each clip, ordered by (source_id, clip_index), of one source or of all; stops when it
  /// returns false.
  void scan(std::optional<uint64_t> source_id, const std::function<bool(const ClipRecord&)>& fn) const;
  std::optional<ClipRecord> get(uint64_t source_id, uint64_t clip_index) const;
  std::optional<ClipMedia> media(uint64_t source_id, uint64_t clip_index) const;
  /// The clip's JPEG thumbnail, when one was stored with it.
  std::optional<std::string> thumbnail(uint64_t source_id, uint64_t clip_index) const;
  /// (source_id, clip_index) of every clip stored with its media, in key order, from one pass over the keys
  /// (no record is decoded); `clips`, when given, receives the number of clips stored with or without media.
  std::vector<std::pair<uint64_t, uint64_t>> clips_with_media(size_t* clips = nullptr) const;
  Db& db() { return db_; }

 private:
  Db db_;
};

}  // namespace vatt::storage
