// faiss index over the embedding store: load-check-rebuild, catch-up, filtered and per-video search.
#include "storage/vector_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/utils/distances.h>
#include <omp.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>

#include "storage/keys.h"

namespace vatt::storage {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Entries as kept in memory: compact, split names interned.
struct MemEntry {
  uint64_t source = 0, clip = 0;
  int64_t start_us = 0, end_us = 0;
  uint16_t split = 0;
  bool dead = false;
};

bool write_file_atomic(const std::string& path, const void* data, size_t n) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  const char* p = static_cast<const char*>(data);
  size_t left = n;
  while (left > 0) {
    ssize_t w = ::write(fd, p, left);
    if (w <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    p += w;
    left -= static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::optional<std::vector<uint8_t>> read_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return std::nullopt;
  std::vector<uint8_t> out;
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  if (size > 0) {
    out.resize(static_cast<size_t>(size));
    if (std::fread(out.data(), 1, out.size(), f) != out.size()) out.clear();
  }
  std::fclose(f);
  return out;
}

void make_dirs(const std::string& dir) {
  std::string cur;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      if (!cur.empty()) ::mkdir(cur.c_str(), 0755);
    }
    if (i < dir.size()) cur.push_back(dir[i]);
  }
}

class OmpThreads {
 public:
  explicit OmpThreads(int n) : saved_(omp_get_max_threads()) {
    if (n > 0) omp_set_num_threads(n);
  }
  ~OmpThreads() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

}  // namespace

std::string index_dir_for(const std::string& db_path) {
  std::string p = db_path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p + ".index";
}

struct VectorIndex::Impl {
  Db& db;
  EmbeddingStore store;
  uint64_t model;
  Space space;
  IndexOptions opt;
  std::string dir, base;
  int dim = 0;
  std::string kind;
  std::unique_ptr<faiss::Index> index;
  uint64_t trained_on = 0;
  std::vector<MemEntry> entries;  // by seq
  std::vector<std::string> splits{""};
  std::unordered_map<std::string, uint16_t> split_ids{{"", 0}};
  uint64_t live = 0;
  uint64_t dead_seen = 0;  // the space's dead count when the entries were last read
  bool dirty = false;
  Status status;
  // The last filter's matching seqs (a service repeating a filter pays the pass once per change).
  std::string cached_filter;
  std::vector<uint64_t> cached_match;
  std::vector<uint8_t> cached_bitmap;  // the same as a bitmap over seqs, for faiss' IDSelectorBitmap
  size_t cached_at_size = 0;

  Impl(Db& d, uint64_t m, Space s, IndexOptions o, std::string dir_)
      : db(d), store(d), model(m), space(s), opt(std::move(o)), dir(std::move(dir_)) {}

  std::string file() const { return base + ".faiss"; }
  std::string header() const { return base + ".json"; }

  uint16_t split_id(const std::string& s) {
    auto it = split_ids.find(s);
    if (it != split_ids.end()) return it->second;
    if (splits.size() >= 65535) return 0;
    auto id = static_cast<uint16_t>(splits.size());
    splits.push_back(s);
    split_ids.emplace(s, id);
    return id;
  }

  // Reads entries [entries.size(), ...) from the store; returns how many were read.
  size_t read_entries() {
    const size_t before = entries.size();
    store.scan_entries(model, space, before, [&](uint64_t seq, const Entry& e) {
      if (seq != entries.size())
        throw StorageError(db.path() + ": embedding entries of " + space_name(space) + " skip seq " +
                           std::to_string(entries.size()) + " (found " + std::to_string(seq) + ")");
      entries.push_back({e.source, e.clip, e.start_us, e.end_us, split_id(e.split), e.dead});
      return true;
    });
    return entries.size() - before;
  }

  void refresh_dead(size_t upto) {
    store.scan_entries(model, space, 0, [&](uint64_t seq, const Entry& e) {
      if (seq >= upto) return false;
      entries[seq].dead = e.dead;
      return true;
    });
  }

  void count_live() {
    live = 0;
    for (const auto& e : entries) live += e.dead ? 0 : 1;
  }

  // The stored vector of entry `seq`, or nullopt when it is dead (replaced).
  std::optional<std::vector<float>> vector_of(uint64_t seq) const {
    const auto& e = entries[seq];
    if (e.dead) return std::nullopt;
    auto v = store.get(model, space, e.source, e.clip);
    if (!v || v->seq != seq) return std::nullopt;
    return std::move(v->v);
  }

  std::string resolve_kind(uint64_t n) const {
    if (opt.kind != "auto") return opt.kind;
    return n < opt.auto_exact_below ? "flat" : "hnsw";
  }

  int nlist_for(uint64_t n) const {
    int nl = opt.nlist > 0 ? opt.nlist : static_cast<int>(4 * std::sqrt(static_cast<double>(n)));
    nl = std::min<int64_t>(nl, std::max<int64_t>(1, static_cast<int64_t>(n / 39)));
    return std::max(1, nl);
  }

  // The options that shape the index's structure (not those of a search).
  std::string build_params() const {
    if (kind == "hnsw")
      return "M=" + std::to_string(opt.hnsw_m) + " efConstruction=" + std::to_string(opt.ef_construction);
    if (kind == "ivf") return "nlist=" + (opt.nlist > 0 ? std::to_string(opt.nlist) : std::string("auto"));
    if (kind == "ivfpq")
      return "nlist=" + (opt.nlist > 0 ? std::to_string(opt.nlist) : std::string("auto")) +
             " pq_m=" + (opt.pq_m > 0 ? std::to_string(opt.pq_m) : std::string("auto"));
    return "";
  }

  std::unique_ptr<faiss::Index> create(uint64_t n) {
    if (kind == "flat") return std::make_unique<faiss::IndexFlatIP>(dim);
    if (kind == "hnsw") {
      auto h = std::make_unique<faiss::IndexHNSWFlat>(dim, opt.hnsw_m, faiss::METRIC_INNER_PRODUCT);
      h->hnsw.efConstruction = opt.ef_construction;
      h->hnsw.efSearch = opt.ef_search;
      return h;
    }
    const int nlist = nlist_for(n);
    auto* quantizer = new faiss::IndexFlatIP(dim);
    std::unique_ptr<faiss::IndexIVF> ivf;
    if (kind == "ivf") {
      ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer, dim, nlist, faiss::METRIC_INNER_PRODUCT);
    } else {
      int m = opt.pq_m > 0 ? opt.pq_m : std::max(1, dim / 8);
      while (m > 1 && dim % m != 0) --m;
      ivf = std::make_unique<faiss::IndexIVFPQ>(quantizer, dim, nlist, m, 8, faiss::METRIC_INNER_PRODUCT);
    }
    ivf->own_fields = true;
    ivf->nprobe = std::min(opt.nprobe, nlist);
    return ivf;
  }

  void ensure_direct_map() {
    if (auto* ivf = dynamic_cast<faiss::IndexIVFFlat*>(index.get()))
      if (ivf->direct_map.type == faiss::DirectMap::NoMap) ivf->make_direct_map(true);
  }

  void apply_search_params() {
    if (auto* h = dynamic_cast<faiss::IndexHNSW*>(index.get())) h->hnsw.efSearch = opt.ef_search;
    if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index.get()))
      ivf->nprobe = std::min<size_t>(static_cast<size_t>(opt.nprobe), ivf->nlist);
  }

  // Adds entries [index->ntotal, entries.size()) to the index (training an IVF first when needed).
  size_t add_missing() {
    const auto from = static_cast<size_t>(index->ntotal);
    const size_t to = entries.size();
    if (from >= to) return 0;
    OmpThreads threads(opt.build_threads);
    if (!index->is_trained) {
      // Train on up to 256 vectors per list (faiss' own cap), taken evenly over what is there.
      auto* ivf = dynamic_cast<faiss::IndexIVF*>(index.get());
      const size_t want = std::min<size_t>(to, static_cast<size_t>(ivf->nlist) * 256);
      std::vector<float> sample;
      sample.reserve(want * static_cast<size_t>(dim));
      const double step = static_cast<double>(to) / static_cast<double>(want);
      for (size_t i = 0; i < want; ++i) {
        auto v = vector_of(static_cast<uint64_t>(static_cast<double>(i) * step));
        if (v) sample.insert(sample.end(), v->begin(), v->end());
      }
      const auto n = static_cast<faiss::Index::idx_t>(sample.size() / static_cast<size_t>(dim));
      if (n < 1) throw StorageError(db.path() + ": no live vectors to train the " + kind + " index on");
      index->train(n, sample.data());
      trained_on = to;
    }
    constexpr size_t kChunk = 8192;
    std::vector<float> buf;
    for (size_t at = from; at < to; at += kChunk) {
      const size_t n = std::min(kChunk, to - at);
      buf.assign(n * static_cast<size_t>(dim), 0.0f);  // dead entries keep a zero vector (never returned)
      for (size_t i = 0; i < n; ++i)
        if (auto v = vector_of(at + i)) std::copy(v->begin(), v->end(), buf.begin() + i * dim);
      index->add(static_cast<faiss::Index::idx_t>(n), buf.data());
    }
    dirty = true;
    return to - from;
  }

  void build(const std::string& reason) {
    const auto t0 = Clock::now();
    index = create(entries.size());
    trained_on = 0;
    add_missing();
    status.rebuilt = true;
    status.reason = reason;
    status.build_ms = ms_since(t0);
  }

  // Loads the index file; returns "" when it is trusted, else why not.
  std::string try_load() {
    auto hb = read_file(header());
    if (!hb) return "no index file yet";
    json h;
    try {
      h = json::parse(hb->begin(), hb->end());
    } catch (const std::exception&) {
      return "its header " + header() + " is not valid JSON";
    }
    try {
      if (h.at("format").get<int>() != 1) return "its header has an unknown format";
      if (h.at("model").get<std::string>() != hex_id(model) ||
          h.at("space").get<std::string>() != space_name(space) || h.at("kind").get<std::string>() != kind ||
          h.at("dim").get<int>() != dim)
        return "its header describes another model, space, kind or dimension";
      if (h.value("params", std::string()) != build_params())
        return "it was built with other parameters (" + h.value("params", std::string("?")) + ", now " +
               build_params() + ")";
      const auto count = h.at("count").get<uint64_t>();
      if (count > entries.size())
        return "it covers " + std::to_string(count) + " vectors but the store has " +
               std::to_string(entries.size());
      if (count > 0) {
        const auto& last = entries[count - 1];
        if (h.at("last_source").get<std::string>() != hex_id(last.source) ||
            h.at("last_clip").get<uint64_t>() != last.clip)
          return "its last vector is not the store's entry " + std::to_string(count - 1);
      }
      auto fb = read_file(file());
      if (!fb) return "the index file " + file() + " is missing";
      if (hex_id(digest_bytes(fb->data(), fb->size())) != h.at("checksum").get<std::string>())
        return "the index file's checksum does not match (corrupt or torn)";
      faiss::VectorIOReader r;
      r.data = std::move(*fb);
      std::unique_ptr<faiss::Index> idx(faiss::read_index(&r));
      if (!idx || static_cast<uint64_t>(idx->ntotal) != count || idx->d != dim)
        return "the index file holds another number of vectors than its header says";
      index = std::move(idx);
      trained_on = h.value("trained_on", count);
    } catch (const std::exception& e) {
      index.reset();
      return std::string("it cannot be read (") + e.what() + ")";
    }
    // Spot checks: a few vectors as faiss holds them against the store (exact and HNSW keep them whole).
    if (kind == "flat" || kind == "hnsw") {
      const auto n = static_cast<uint64_t>(index->ntotal);
      std::vector<float> rec(static_cast<size_t>(dim));
      for (uint64_t seq : {uint64_t{0}, n / 2, n > 0 ? n - 1 : 0}) {
        if (seq >= n) continue;
        auto v = vector_of(seq);
        if (!v) continue;
        index->reconstruct(static_cast<faiss::Index::idx_t>(seq), rec.data());
        if (std::memcmp(rec.data(), v->data(), rec.size() * sizeof(float)) != 0) {
          index.reset();
          return "vector " + std::to_string(seq) + " differs from the store's";
        }
      }
    }
    if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index.get());
        ivf && entries.size() > 8 * std::max<uint64_t>(trained_on, 1) && entries.size() >= 10000) {
      index.reset();
      return "the store grew from " + std::to_string(trained_on) + " to " + std::to_string(entries.size()) +
             " vectors since its lists were trained";
    }
    apply_search_params();
    return "";
  }

  void save() {
    if (!index) return;
    make_dirs(dir);
    faiss::VectorIOWriter w;
    faiss::write_index(index.get(), &w);
    const uint64_t count = static_cast<uint64_t>(index->ntotal);
    json h = {{"format", 1},
              {"model", hex_id(model)},
              {"space", space_name(space)},
              {"kind", kind},
              {"dim", dim},
              {"count", count},
              {"trained_on", trained_on},
              {"params", build_params()},
              {"checksum", hex_id(digest_bytes(w.data.data(), w.data.size()))},
              {"last_source", count ? hex_id(entries[count - 1].source) : ""},
              {"last_clip", count ? entries[count - 1].clip : 0}};
    const std::string hs = h.dump(2) + "\n";
    if (!write_file_atomic(file(), w.data.data(), w.data.size()) ||
        !write_file_atomic(header(), hs.data(), hs.size()))
      throw StorageError(file() + ": cannot write the index file");
    dirty = false;
  }

  bool passes(const MemEntry& e, const SearchFilter& f, uint16_t split) const {
    if (e.dead) return false;
    if (f.exclude && f.exclude->first == e.source && f.exclude->second == e.clip) return false;
    if (f.sources && !f.sources->count(e.source)) return false;
    if (!f.split.empty() && e.split != split) return false;
    if (f.after_us && e.start_us < *f.after_us) return false;
    if (f.before_us && e.end_us > *f.before_us) return false;
    return true;
  }
};

VectorIndex::VectorIndex(Db& db, uint64_t model, Space space, IndexOptions options, std::string dir)
    : impl_(std::make_unique<Impl>(db, model, space, std::move(options),
                                   dir.empty() ? index_dir_for(db.path()) : std::move(dir))) {
  auto& m = *impl_;
  const auto t0 = Clock::now();
  // Exact search through BLAS even for one query: faiss' own loop for small query counts is its generic
  // (non-AVX) build's scalar code, several times slower than OpenBLAS's sgemm on one core. (A process-wide
  // faiss setting: set once here, not on every search.)
  faiss::distance_compute_blas_threshold = 1;
  const auto& k = m.opt.kind;
  if (k != "auto" && k != "flat" && k != "hnsw" && k != "ivf" && k != "ivfpq")
    throw std::invalid_argument("index kind '" + k + "': expected auto, flat, hnsw, ivf or ivfpq");
  if (m.opt.hnsw_m < 2 || m.opt.ef_search < 1 || m.opt.ef_construction < 1 || m.opt.nprobe < 1)
    throw std::invalid_argument("index options: M >= 2, efSearch, efConstruction and nprobe >= 1");
  auto rec = m.store.model(model);
  if (!rec) throw StorageError(db.path() + ": the store holds no model " + hex_id(model));
  auto sp = rec->spaces.find(space);
  if (sp == rec->spaces.end() || sp->second.count == 0)
    throw StorageError(db.path() + ": model " + hex_id(model) + " has no " + space_name(space) + " vectors");
  m.dim = sp->second.dim;
  m.dead_seen = sp->second.dead;
  m.read_entries();
  m.count_live();
  m.kind = m.resolve_kind(m.entries.size());
  m.base = m.dir + "/" + hex_id(model) + "-" + space_name(space) + "-" + m.kind;
  m.status.kind = m.kind;
  m.status.file = m.file();
  std::string why = m.try_load();
  if (why.empty()) {
    m.status.loaded = true;
    m.status.caught_up = m.add_missing();
  } else {
    m.build(why);
  }
  m.ensure_direct_map();
  if (m.dirty && m.opt.save) m.save();
  m.status.open_ms = ms_since(t0);
}

VectorIndex::~VectorIndex() = default;

size_t VectorIndex::sync() {
  auto& m = *impl_;
  const size_t covered = m.entries.size();
  const auto rec = m.store.model(m.model);
  uint64_t dead = 0;
  if (rec)
    if (auto sp = rec->spaces.find(m.space); sp != rec->spaces.end()) dead = sp->second.dead;
  const size_t read = m.read_entries();
  if (dead != m.dead_seen) {  // vectors were replaced: their old entries are dead now
    m.refresh_dead(covered);
    m.dead_seen = dead;
    m.cached_filter.clear();
  }
  m.count_live();
  return read ? m.add_missing() : 0;  // new entries change the count, which invalidates the cached filter
}

std::vector<SearchHit> VectorIndex::search(const float* q, size_t dim, int k, const SearchFilter& f,
                                           bool per_video) {
  auto& m = *impl_;
  if (dim != static_cast<size_t>(m.dim))
    throw std::invalid_argument("query has " + std::to_string(dim) + " dimensions; the " +
                                space_name(m.space) + " index has " + std::to_string(m.dim));
  std::vector<SearchHit> hits;
  if (k < 1 || m.live == 0) return hits;
  uint16_t split = 0;
  if (!f.split.empty()) {
    auto it = m.split_ids.find(f.split);
    if (it == m.split_ids.end()) return hits;
    split = it->second;
  }
  auto hit_of = [&](uint64_t seq, float score) {
    const auto& e = m.entries[seq];
    return SearchHit{score, seq, e.source, e.clip, e.start_us, e.end_us};
  };
  const auto n = static_cast<uint64_t>(m.index->ntotal);
  OmpThreads threads(m.opt.search_threads);

  if (f.active()) {
    // Which vectors match; an exact scan of them when they are few.
    std::string key = f.split + "|" + (f.after_us ? std::to_string(*f.after_us) : "") + "|" +
                      (f.before_us ? std::to_string(*f.before_us) : "") + "|";
    if (f.sources) {
      std::vector<uint64_t> s(f.sources->begin(), f.sources->end());
      std::sort(s.begin(), s.end());
      for (auto x : s) key += hex_id(x);
    }
    if (key != m.cached_filter || m.cached_at_size != n) {
      SearchFilter g = f;
      g.exclude.reset();
      m.cached_match.clear();
      m.cached_bitmap.assign(n / 8 + 1, 0);
      for (uint64_t s = 0; s < n; ++s)
        if (m.passes(m.entries[s], g, split)) {
          m.cached_match.push_back(s);
          m.cached_bitmap[s >> 3] |= static_cast<uint8_t>(1u << (s & 7));
        }
      m.cached_filter = key;
      m.cached_at_size = n;
    }
    const auto& match = m.cached_match;
    if (match.empty()) return hits;
    if (match.size() <= kExactScanMax ||
        static_cast<double>(match.size()) <= m.opt.exact_fraction * static_cast<double>(n)) {
      const float* base = nullptr;
      if (auto* flat = dynamic_cast<faiss::IndexFlat*>(m.index.get())) base = flat->get_xb();
      if (auto* h = dynamic_cast<faiss::IndexHNSWFlat*>(m.index.get()))
        base = dynamic_cast<faiss::IndexFlat*>(h->storage)->get_xb();
      auto* ivf = dynamic_cast<faiss::IndexIVFFlat*>(m.index.get());
      std::vector<float> rec(dim);
      std::vector<std::pair<float, uint64_t>> scored;
      scored.reserve(match.size());
      for (uint64_t s : match) {
        const auto& e = m.entries[s];
        if (f.exclude && f.exclude->first == e.source && f.exclude->second == e.clip) continue;
        const float* v = nullptr;
        std::optional<std::vector<float>> stored;
        if (base) {
          v = base + s * dim;
        } else if (ivf) {  // IVFFlat keeps the vectors whole: read them through the direct map
          ivf->reconstruct(static_cast<faiss::Index::idx_t>(s), rec.data());
          v = rec.data();
        } else {  // IVFPQ holds only codes: the exact vectors come from the store
          stored = m.vector_of(s);
          if (!stored) continue;
          v = stored->data();
        }
        scored.emplace_back(faiss::fvec_inner_product(v, q, dim), s);
      }
      auto better = [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      };
      std::unordered_set<uint64_t> seen;
      if (!per_video && scored.size() > static_cast<size_t>(k)) {
        std::partial_sort(scored.begin(), scored.begin() + k, scored.end(), better);
        scored.resize(static_cast<size_t>(k));
      } else {
        std::sort(scored.begin(), scored.end(), better);
      }
      for (const auto& [score, s] : scored) {
        if (per_video && !seen.insert(m.entries[s].source).second) continue;
        hits.push_back(hit_of(s, score));
        if (static_cast<int>(hits.size()) >= k) break;
      }
      return hits;
    }
  }

  // The index. A filter goes into faiss as an ID selector (only matching vectors are collected, HNSW's
  // graph walk included); dead vectors, the excluded clip and one-per-video are applied to what comes back,
  // fetching more candidates until k pass.
  uint64_t fetch = static_cast<uint64_t>(k) + (f.exclude ? 1 : 0);
  if (per_video) fetch *= 4;
  fetch = std::min<uint64_t>(std::max<uint64_t>(fetch, 1), n);
  std::unique_ptr<faiss::IDSelectorBitmap> sel;
  if (f.active()) sel = std::make_unique<faiss::IDSelectorBitmap>(n, m.cached_bitmap.data());
  std::vector<float> dist;
  std::vector<faiss::Index::idx_t> ids;
  auto* h = dynamic_cast<faiss::IndexHNSW*>(m.index.get());
  auto* ivf = dynamic_cast<faiss::IndexIVF*>(m.index.get());
  for (;;) {
    dist.assign(fetch, 0);
    ids.assign(fetch, -1);
    // A filter leaves fewer neighbours on HNSW's graph walk: widen it by sqrt(1 / matching fraction), at
    // most 2x (recall of a 10% filter at efSearch 64 went from 0.88 to ~0.95; latency about 2x).
    const double widen =
        sel ? std::clamp(std::sqrt(static_cast<double>(n) / std::max<size_t>(1, m.cached_match.size())), 1.0,
                         2.0)
            : 1.0;
    const int ef = std::max<int>(static_cast<int>(m.opt.ef_search * widen), static_cast<int>(fetch));
    faiss::SearchParametersHNSW hp;
    faiss::SearchParametersIVF ip;
    faiss::SearchParameters fp;
    faiss::SearchParameters* params = nullptr;
    if (h) {
      h->hnsw.efSearch = ef;  // faiss 1.7.3 reads efSearch from the index
      hp.efSearch = ef;
      hp.sel = sel.get();
      params = &hp;
    } else if (ivf) {
      ip.nprobe = ivf->nprobe;
      ip.sel = sel.get();
      params = &ip;
    } else {
      fp.sel = sel.get();
      params = &fp;
    }
    m.index->search(1, q, static_cast<faiss::Index::idx_t>(fetch), dist.data(), ids.data(),
                    sel ? params : nullptr);
    if (h) h->hnsw.efSearch = m.opt.ef_search;
    hits.clear();
    std::unordered_set<uint64_t> seen;
    for (uint64_t i = 0; i < fetch && static_cast<int>(hits.size()) < k; ++i) {
      if (ids[i] < 0) continue;
      const auto s = static_cast<uint64_t>(ids[i]);
      if (!m.passes(m.entries[s], f, split)) continue;
      if (per_video && !seen.insert(m.entries[s].source).second) continue;
      hits.push_back(hit_of(s, dist[i]));
    }
    if (static_cast<int>(hits.size()) >= k || fetch >= n) break;
    fetch = std::min<uint64_t>(n, fetch * 4);
  }
  return hits;
}

const VectorIndex::Status& VectorIndex::status() const {
  return impl_->status;
}
uint64_t VectorIndex::size() const {
  return impl_->index ? static_cast<uint64_t>(impl_->index->ntotal) : 0;
}
uint64_t VectorIndex::live() const {
  return impl_->live;
}
int VectorIndex::dim() const {
  return impl_->dim;
}
void VectorIndex::save() {
  impl_->save();
}

size_t VectorIndex::memory_bytes() const {
  const auto& m = *impl_;
  if (!m.index) return 0;
  const size_t n = static_cast<size_t>(m.index->ntotal), d = static_cast<size_t>(m.dim);
  size_t bytes = m.entries.size() * sizeof(MemEntry);
  if (auto* h = dynamic_cast<const faiss::IndexHNSW*>(m.index.get()))
    return bytes + n * d * sizeof(float) + h->hnsw.neighbors.size() * sizeof(int32_t) +
           h->hnsw.offsets.size() * sizeof(size_t) + h->hnsw.levels.size() * sizeof(int);
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(m.index.get()))
    return bytes + n * (ivf->code_size + sizeof(faiss::Index::idx_t)) + ivf->nlist * d * sizeof(float);
  return bytes + n * d * sizeof(float);
}

}  // namespace vatt::storage
