// A faiss index over one (model, space) of the embedding store, for nearest-neighbour search by inner product
// (the vectors are L2-normalised, so this is cosine similarity).
//
// RocksDB is the source of truth. The index is a cache kept in files beside the database
// (`<db>.index/<model>-<space>-<kind>.faiss` with a `.json` header): opened, it is checked (header, checksum
// of the file, vector count, the last entry it covers, a few vectors compared with the store) and rebuilt
// from the store when missing, stale or corrupt; then caught up with the entries added since (faiss ids are
// entry seqs, see storage/embedding_store.h). Dead entries (replaced vectors) and filters are applied from
// the entries kept in memory, never by removing vectors from faiss (HNSW cannot). A filter that leaves few
// candidates is answered by an exact scan of the matching vectors.
//
// Kinds: flat (IndexFlatIP, exact), hnsw (IndexHNSWFlat: M, efConstruction, efSearch), ivf (IndexIVFFlat:
// nlist, nprobe), ivfpq (IndexIVFPQ: nlist, nprobe, pq_m codes of 8 bits), auto (flat below
// `auto_exact_below` vectors, else hnsw).
// Threads: searches run with `search_threads` OpenMP threads (1 by default: on 2 cores faiss' OpenMP inside
// one query costs more than it gains); builds use every core.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "storage/db.h"
#include "storage/embedding_store.h"

namespace vatt::storage {

/// A filter matching at most this many vectors is answered by an exact scan of them (about 1 ms for 256-d
/// vectors on one core of this machine's generic faiss build).
constexpr size_t kExactScanMax = 4096;

struct IndexOptions {
  std::string kind = "auto";  ///< auto, flat, hnsw, ivf, ivfpq
  int hnsw_m = 32;
  int ef_construction = 40;
  int ef_search = 64;
  int nlist = 0;  ///< 0: 4 x sqrt(vectors), at least 1 and at most vectors / 39
  int nprobe = 16;
  int pq_m = 0;  ///< 0: dim / 8
  uint64_t auto_exact_below = 100000;
  int search_threads = 1;
  int build_threads = 0;  ///< 0 = all cores
  bool save = true;       ///< write the index file after a build or catch-up
  /// A filter matching at most this fraction of the vectors (or at most 4,096 of them; 0.5% = 5,000 of 1M) is
  /// answered by an exact scan of the matching vectors instead of the index.
  double exact_fraction = 0.005;
};

struct SearchFilter {
  std::optional<std::unordered_set<uint64_t>> sources;   ///< allowed source ids (none: all)
  std::string split;                                     ///< empty: any
  std::optional<int64_t> after_us, before_us;            ///< clip start >= after, clip end <= before
  std::optional<std::pair<uint64_t, uint64_t>> exclude;  ///< leave out this (source, clip)
  bool active() const { return sources || !split.empty() || after_us || before_us; }
};

struct SearchHit {
  float score = 0;
  uint64_t seq = 0;
  uint64_t source = 0, clip = 0;
  int64_t start_us = 0, end_us = 0;
};

class VectorIndex {
 public:
  /// Opens (loading, checking, rebuilding, catching up) the index of (model, space) of the store in `db`.
  /// `dir` is the index folder (default: db path + ".index"). Throws StorageError (I/O, a space the model
  /// does not have) or std::invalid_argument (options).
  VectorIndex(Db& db, uint64_t model, Space space, IndexOptions options = {}, std::string dir = {});
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  /// Adds the entries the store gained since the last sync (and re-reads dead flags when vectors were
  /// replaced). Returns vectors added. Does not write the index file: call save() (e.g. periodically, and
  /// before exit); a file that lags the store is caught up at the next open.
  size_t sync();
  /// The k best live vectors for `query` (dim floats), best first; `per_video` keeps each source's best.
  /// One search at a time per index (it adjusts HNSW's efSearch for over-fetching): a service serialises
  /// its calls or keeps one index per thread.
  std::vector<SearchHit> search(const float* query, size_t dim, int k, const SearchFilter& filter = {},
                                bool per_video = false);

  struct Status {
    std::string kind;        ///< the kind in use (auto resolved)
    std::string file;        ///< the index file
    bool loaded = false;     ///< an index file was read and trusted
    bool rebuilt = false;    ///< built from the store at open
    std::string reason;      ///< why it was rebuilt
    uint64_t caught_up = 0;  ///< vectors added at open after loading
    double open_ms = 0, build_ms = 0;
  };
  const Status& status() const;
  uint64_t size() const;  ///< vectors covered (dead included)
  uint64_t live() const;  ///< live vectors
  int dim() const;
  /// Writes the index file (atomic: temporary file, fsync, rename; the header last).
  void save();
  /// Bytes the faiss index holds in memory (vectors, graph, lists; estimated from its structures).
  size_t memory_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The default index folder of a database: its path + ".index".
std::string index_dir_for(const std::string& db_path);

}  // namespace vatt::storage
