// bench_search: nearest-neighbour search over the embedding store (storage/vector_index.h), in one process.
//
//   1. N seeded L2-normalised vectors ("random": Gaussian; "clustered": 1000 unit centres + Gaussian noise),
//      written into a fresh RocksDB store (DIR/store.db) through EmbeddingStore::Writer, a commit every 4096
//      vectors, as (model 0x1234, video_vt, source = i / 100, clip = i % 100; every 10th source is split
//      "test"): the write rate.
//   2. Exact top-10 of Q queries (drawn the same way, another seed) by brute-force inner product: the truth,
//      also over the "test" split (10% of the vectors) and over 5 sources (500 vectors).
//   3. Per index kind: the build (build_ms, memory_bytes(), resident-memory growth), a reopen from the saved
//      file (open_ms), then per efSearch / nprobe value Q single queries one at a time (k = 10, one search
//      thread): p50 / p99 latency, QPS, recall@10; the same with the split filter and the 5-source filter.
//   4. Per kind, after all of that: 1000 more vectors (new sources) through a Writer, sync() timed, each 10th
//      new vector searched for with itself (it must come back first); then save() timed.
// Prints a table on stdout (progress on stderr); asserts no times.
//
// Usage: bench_search [--n N] [--dim D] [--set random|clustered] [--kinds flat,hnsw,ivf] [--queries Q]
//                     [--flat-queries Q] [--dir DIR] [--hnsw-m M] [--ef-construction E] [--ef-search 64,128]
//                     [--nlist L] [--nprobe 16,32] [--noise S] [--add A] [--json FILE] [--keep]
//        bench_search --fill DB --fill-model HEX [--fill-space video_vt] --n N   (append N vectors to a
//        store)
//   --noise: clustered noise norm (per-component sigma = S / sqrt(D)); --nlist 0: the index's default;
//   --flat-queries: fewer queries for the flat kind (a flat query scans every vector).
#include <omp.h>

#include <fmt/core.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "storage/db.h"
#include "storage/embedding_store.h"
#include "storage/vector_index.h"

namespace {

namespace fs = std::filesystem;
namespace st = vatt::storage;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kModel = 0x1234;
constexpr st::Space kSpace = st::Space::VideoVT;
constexpr int kK = 10;
constexpr size_t kClipsPerSource = 100;
constexpr int kCentres = 1000;
constexpr size_t kCommitEvery = 4096;
constexpr int64_t kClipUs = 3'200'000;

const Clock::time_point g_start = Clock::now();

double secs(Clock::time_point a, Clock::time_point b = Clock::now()) {
  return std::chrono::duration<double>(b - a).count();
}

template <typename... Args>
void progress(const char* f, const Args&... args) {
  fmt::print(stderr, "[bench_search {:7.1f} s] {}\n", secs(g_start), fmt::format(f, args...));
  std::fflush(stderr);
}

double rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  return 0;
}

struct Options {
  size_t n = 100000;
  int dim = 256;
  std::string set = "random";
  std::vector<std::string> kinds = {"flat", "hnsw", "ivf"};
  size_t queries = 1000;
  size_t flat_queries = 0;  // 0: --queries
  std::string dir = "/tmp/vatt-bench-search";
  int hnsw_m = 32;
  int ef_construction = 40;
  std::vector<int> ef_search = {64, 128};
  int nlist = 0;
  std::vector<int> nprobe = {16, 32};
  double noise = 0.6;
  size_t add = 1000;
  std::string json;
  bool keep = false;
  // --fill DB --fill-model HEX [--fill-space video_vt]: only append n generated vectors (of the space's
  // dimension) to a real store under one of its models, e.g. to time `vatt search` on a large store.
  std::string fill_db, fill_model, fill_space = "video_vt";
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t comma = std::min(s.find(',', at), s.size());
    if (comma > at) out.push_back(s.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

std::vector<int> int_list(const std::string& s) {
  std::vector<int> out;
  for (const auto& x : split_list(s)) out.push_back(std::atoi(x.c_str()));
  return out;
}

// ---- data ----

void normalise(float* v, int dim) {
  double s = 0;
  for (int d = 0; d < dim; ++d) s += static_cast<double>(v[d]) * v[d];
  const auto inv = static_cast<float>(1.0 / std::sqrt(std::max(s, 1e-30)));
  for (int d = 0; d < dim; ++d) v[d] *= inv;
}

struct Generator {
  int dim;
  std::string set;
  double noise;
  std::vector<float> centres;

  Generator(int d, std::string s, double nz) : dim(d), set(std::move(s)), noise(nz) {
    if (set != "clustered") return;
    std::mt19937_64 rng(7);
    std::normal_distribution<float> g(0.0f, 1.0f);
    centres.resize(static_cast<size_t>(kCentres) * dim);
    for (auto& x : centres) x = g(rng);
    for (int c = 0; c < kCentres; ++c) normalise(&centres[static_cast<size_t>(c) * dim], dim);
  }

  std::vector<float> make(size_t n, uint64_t seed) const {
    std::vector<float> out(n * dim);
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::uniform_int_distribution<int> pick(0, kCentres - 1);
    const auto sigma = static_cast<float>(noise / std::sqrt(static_cast<double>(dim)));
    for (size_t i = 0; i < n; ++i) {
      float* v = &out[i * dim];
      if (set == "clustered") {
        const float* c = &centres[static_cast<size_t>(pick(rng)) * dim];
        for (int d = 0; d < dim; ++d) v[d] = c[d] + sigma * g(rng);
      } else {
        for (int d = 0; d < dim; ++d) v[d] = g(rng);
      }
      normalise(v, dim);
    }
    return out;
  }
};

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool is_test_source(uint64_t source) {
  return source % 10 == 0;
}

// Writes vectors number first, first + 1, ... (source = number / 100, clip = number % 100); returns seconds.
double write_vectors(st::Db& db, const float* v, size_t n, int dim, uint64_t first, bool show,
                     const st::ModelRecord* model = nullptr, st::Space space = kSpace) {
  st::EmbeddingStore store(db);
  st::ModelRecord info;
  info.id = kModel;
  info.checkpoint = "bench_search";
  info.config_name = "bench";
  if (model) info = *model;  // appending to a real model: keep its record as it is
  const auto t0 = Clock::now();
  st::EmbeddingStore::Writer w(store, info);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t num = first + i;
    st::Entry e;
    e.source = num / kClipsPerSource;
    e.clip = num % kClipsPerSource;
    e.start_us = static_cast<int64_t>(e.clip) * kClipUs;
    e.end_us = e.start_us + kClipUs;
    e.split = is_test_source(e.source) ? "test" : "train";
    w.add(space, e.source, e.clip, splitmix(num), e, v + i * dim, static_cast<size_t>(dim));
    if ((i + 1) % kCommitEvery == 0) w.commit();
    if (show && (i + 1) % std::max<size_t>(1, n / 10) == 0)
      progress("write: {} / {} vectors ({:.0f} /s)", i + 1, n, static_cast<double>(i + 1) / secs(t0));
  }
  w.commit();
  return secs(t0);
}

// ---- exact truth ----

struct TopK {
  float s[kK];
  uint32_t id[kK];
  int n = 0;
  void push(float v, uint32_t i) {
    if (n == kK && v <= s[kK - 1]) return;
    int p = n < kK ? n++ : kK - 1;
    while (p > 0 && s[p - 1] < v) {
      s[p] = s[p - 1];
      id[p] = id[p - 1];
      --p;
    }
    s[p] = v;
    id[p] = i;
  }
  std::vector<uint32_t> ids() const { return {id, id + n}; }
};

struct Truth {
  std::vector<std::vector<uint32_t>> all, split, sel;  // per query: true top-k vector numbers
  double top1 = 0, top10 = 0;                          // mean similarity of the true 1st and 10th
};

// Brute force, 16 queries at a time (queries transposed so the inner loop vectorises), blocks over threads.
Truth exact_truth(const std::vector<float>& data, size_t n, const std::vector<float>& q, size_t nq, int dim,
                  const std::vector<char>& sel_source) {
  constexpr size_t kB = 16;
  std::vector<TopK> all(nq), split(nq), sel(nq);
  const size_t blocks = (nq + kB - 1) / kB;
  std::atomic<size_t> next{0}, done{0};
  auto work = [&] {
    std::vector<float> qt(static_cast<size_t>(dim) * kB);
    for (size_t b; (b = next++) < blocks;) {
      const size_t q0 = b * kB, nb = std::min(kB, nq - q0);
      std::fill(qt.begin(), qt.end(), 0.0f);
      for (size_t j = 0; j < nb; ++j)
        for (int d = 0; d < dim; ++d) qt[static_cast<size_t>(d) * kB + j] = q[(q0 + j) * dim + d];
      for (size_t i = 0; i < n; ++i) {
        const float* x = &data[i * dim];
        float acc[kB] = {};
        for (int d = 0; d < dim; ++d) {
          const float xd = x[d];
          const float* qd = &qt[static_cast<size_t>(d) * kB];
          for (size_t j = 0; j < kB; ++j) acc[j] += xd * qd[j];
        }
        const size_t source = i / kClipsPerSource;
        const bool t = is_test_source(source), s = sel_source[source] != 0;
        const auto id = static_cast<uint32_t>(i);
        for (size_t j = 0; j < nb; ++j) {
          all[q0 + j].push(acc[j], id);
          if (t) split[q0 + j].push(acc[j], id);
          if (s) sel[q0 + j].push(acc[j], id);
        }
      }
      const size_t d = ++done;
      if (d % std::max<size_t>(1, blocks / 5) == 0)
        progress("truth: {} / {} queries", std::min(nq, d * kB), nq);
    }
  };
  std::vector<std::thread> threads;
  const unsigned nt = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned t = 0; t < nt; ++t) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  Truth out;
  for (size_t i = 0; i < nq; ++i) {
    out.all.push_back(all[i].ids());
    out.split.push_back(split[i].ids());
    out.sel.push_back(sel[i].ids());
    out.top1 += all[i].s[0] / static_cast<double>(nq);
    out.top10 += all[i].s[all[i].n - 1] / static_cast<double>(nq);
  }
  return out;
}

// ---- searching ----

struct Timing {
  double p50 = 0, p99 = 0, qps = 0, recall = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i > 0 ? i - 1 : 0)];
}

Timing run_queries(st::VectorIndex& idx, const std::vector<float>& q, size_t nq, int dim,
                   const st::SearchFilter& f, const std::vector<std::vector<uint32_t>>& truth) {
  idx.search(q.data(), static_cast<size_t>(dim), kK, f);  // warm-up (and the filter's matching pass)
  std::vector<double> ms(nq);
  double found = 0, wanted = 0;
  const auto t0 = Clock::now();
  for (size_t i = 0; i < nq; ++i) {
    const auto a = Clock::now();
    const auto hits = idx.search(&q[i * dim], static_cast<size_t>(dim), kK, f);
    ms[i] = secs(a) * 1e3;
    std::unordered_set<uint32_t> got;
    for (const auto& h : hits) got.insert(static_cast<uint32_t>(h.source * kClipsPerSource + h.clip));
    for (uint32_t t : truth[i]) found += got.count(t) ? 1 : 0;
    wanted += static_cast<double>(truth[i].size());
  }
  const double total = secs(t0);
  Timing t;
  t.p50 = percentile(ms, 0.50);
  t.p99 = percentile(ms, 0.99);
  t.qps = static_cast<double>(nq) / total;
  t.recall = wanted > 0 ? found / wanted : 1.0;
  return t;
}

struct Row {
  std::string kind, params;
  size_t queries = 0;
  double build_s = 0, ctor_s = 0, mem_mib = 0, rss_mib = 0, file_mib = 0, open_ms = 0;
  bool loaded = false;
  Timing plain, split, sel;
  double add_commit_s = -1, sync_s = -1, save_s = -1, idle_sync_ms = -1;
  size_t synced = 0, rank1 = 0, rank1_of = 0;
};

int resolved_nlist(int nlist, size_t n) {
  int nl = nlist > 0 ? nlist : static_cast<int>(4 * std::sqrt(static_cast<double>(n)));
  nl = static_cast<int>(std::min<int64_t>(nl, std::max<int64_t>(1, static_cast<int64_t>(n / 39))));
  return std::max(1, nl);
}

std::string params_of(const std::string& kind, const st::IndexOptions& o, size_t n) {
  if (kind == "hnsw") return fmt::format("M={} efC={} ef={}", o.hnsw_m, o.ef_construction, o.ef_search);
  if (kind == "ivf" || kind == "ivfpq") {
    const int nl = resolved_nlist(o.nlist, n);
    return fmt::format("nlist={} nprobe={}", nl, std::min(o.nprobe, nl));
  }
  return "-";
}

double file_mib(const std::string& path) {
  std::error_code ec;
  const auto s = fs::file_size(path, ec);
  return ec ? 0 : static_cast<double>(s) / (1 << 20);
}

double dir_mib(const std::string& path) {
  std::error_code ec;
  uintmax_t total = 0;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  return static_cast<double>(total) / (1 << 20);
}

std::string ratio(double a, double b) {
  return b > 0 ? fmt::format("{:.3f} ({:.1f}x)", a, a / b) : fmt::format("{:.3f}", a);
}

int usage() {
  std::fprintf(stderr,
               "usage: bench_search [--n N] [--dim D] [--set random|clustered] [--kinds flat,hnsw,ivf]\n"
               "                    [--queries Q] [--flat-queries Q] [--dir DIR] [--hnsw-m M]\n"
               "                    [--ef-construction E] [--ef-search 64,128] [--nlist L] [--nprobe 16,32]\n"
               "                    [--noise S] [--add A] [--json FILE] [--keep]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--keep") {
      o.keep = true;
      continue;
    }
    if (!has) return usage();
    const std::string v = argv[++i];
    if (a == "--n")
      o.n = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--dim")
      o.dim = std::atoi(v.c_str());
    else if (a == "--set")
      o.set = v;
    else if (a == "--kinds")
      o.kinds = split_list(v);
    else if (a == "--queries")
      o.queries = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--flat-queries")
      o.flat_queries = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--dir")
      o.dir = v;
    else if (a == "--hnsw-m")
      o.hnsw_m = std::atoi(v.c_str());
    else if (a == "--ef-construction")
      o.ef_construction = std::atoi(v.c_str());
    else if (a == "--ef-search")
      o.ef_search = int_list(v);
    else if (a == "--nlist")
      o.nlist = std::atoi(v.c_str());
    else if (a == "--nprobe")
      o.nprobe = int_list(v);
    else if (a == "--noise")
      o.noise = std::atof(v.c_str());
    else if (a == "--add")
      o.add = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--json")
      o.json = v;
    else if (a == "--fill")
      o.fill_db = v;
    else if (a == "--fill-model")
      o.fill_model = v;
    else if (a == "--fill-space")
      o.fill_space = v;
    else
      return usage();
  }
  if (o.n < 1000 || o.n > std::numeric_limits<uint32_t>::max() || o.dim < 1 || o.queries < 1 ||
      (o.set != "random" && o.set != "clustered") || o.kinds.empty() || o.ef_search.empty() ||
      o.nprobe.empty()) {
    std::fprintf(stderr,
                 "bench_search: need --n >= 1000, --dim >= 1, --queries >= 1, --set random|clustered, "
                 "and non-empty --kinds, --ef-search, --nprobe\n");
    return usage();
  }
  if (!o.fill_db.empty()) {
    const auto model = st::parse_hex_id(o.fill_model);
    const auto space = st::space_from_name(o.fill_space);
    if (!model || !space) {
      std::fprintf(stderr, "bench_search: --fill needs --fill-model HEX and a known --fill-space\n");
      return 2;
    }
    st::Db db(o.fill_db);
    st::EmbeddingStore es(db);
    auto rec = es.model(*model);
    if (!rec || !rec->spaces.count(*space)) {
      std::fprintf(stderr, "bench_search: %s has no %s vectors of model %s\n", o.fill_db.c_str(),
                   o.fill_space.c_str(), o.fill_model.c_str());
      return 2;
    }
    const int d = rec->spaces.at(*space).dim;
    const Generator gen(d, "clustered", o.noise);
    const auto data = gen.make(o.n, 1);
    // Sources from 10^9 on: apart from the store's real ones.
    const double s = write_vectors(db, data.data(), o.n, d, 100000000000ULL, true, &*rec, *space);
    std::printf("appended %zu clustered %d-d vectors to %s (model %s, %s) in %.1f s\n", o.n, d,
                o.fill_db.c_str(), o.fill_model.c_str(), o.fill_space.c_str(), s);
    return 0;
  }
  const size_t nq = o.queries;
  const size_t flat_nq = o.flat_queries ? std::min(o.flat_queries, nq) : nq;
  const int dim = o.dim;
  const unsigned cores = std::thread::hardware_concurrency();
  const int omp_threads = omp_get_max_threads();

  const std::string db_path = o.dir + "/store.db";
  const std::string index_dir = st::index_dir_for(db_path);
  fs::create_directories(o.dir);
  fs::remove_all(db_path);
  fs::remove_all(index_dir);

  // 1. Data, written into the store.
  progress("generating {} {} vectors of {} dimensions", o.n, o.set, dim);
  const Generator gen(dim, o.set, o.noise);
  const auto data = gen.make(o.n, 1);
  const auto queries = gen.make(nq, 2);
  const size_t sources = (o.n + kClipsPerSource - 1) / kClipsPerSource;
  std::vector<char> sel_source(sources, 0);
  std::set<uint64_t> sel_set;
  for (size_t j = 0; j < 5; ++j) sel_set.insert((2 * j + 1) * sources / 10);
  for (auto s : sel_set) sel_source[s] = 1;
  size_t split_n = 0, sel_n = 0;
  for (size_t i = 0; i < o.n; ++i) {
    split_n += is_test_source(i / kClipsPerSource) ? 1 : 0;
    sel_n += sel_source[i / kClipsPerSource] ? 1 : 0;
  }

  auto db = std::make_unique<st::Db>(db_path);
  progress("writing {} vectors into {}", o.n, db_path);
  const double write_s = write_vectors(*db, data.data(), o.n, dim, 0, true);
  const double write_rate = static_cast<double>(o.n) / write_s;
  progress("write: {:.1f} s, {:.0f} vectors/s; store {:.1f} MiB on disk", write_s, write_rate,
           dir_mib(db_path));

  // 2. The truth.
  progress("exact top-{} of {} queries by brute force", kK, nq);
  const auto t_truth = Clock::now();
  const Truth truth = exact_truth(data, o.n, queries, nq, dim, sel_source);
  progress("truth: {:.1f} s; mean similarity of the true 1st {:.3f}, 10th {:.3f}", secs(t_truth), truth.top1,
           truth.top10);

  st::SearchFilter f_split;
  f_split.split = "test";
  st::SearchFilter f_sel;
  f_sel.sources = std::unordered_set<uint64_t>(sel_set.begin(), sel_set.end());
  st::IndexOptions base;
  auto path_of = [&](size_t match) {
    return match <= st::kExactScanMax ||
                   static_cast<double>(match) <= base.exact_fraction * static_cast<double>(o.n)
               ? "exact scan"
               : "index with an ID selector";
  };

  // 3. Per kind: build, reopen, queries per setting.
  std::vector<Row> rows;
  std::vector<size_t> first_row_of_kind;
  for (const auto& kind : o.kinds) {
    st::IndexOptions io;
    io.kind = kind;
    io.hnsw_m = o.hnsw_m;
    io.ef_construction = o.ef_construction;
    io.ef_search = o.ef_search.front();
    io.nlist = o.nlist;
    io.nprobe = o.nprobe.front();
    io.save = true;
    io.build_threads = 0;
    io.search_threads = 1;
    Row built;
    std::string resolved = kind;
    progress("{}: building over {} vectors", kind, o.n);
    try {
      const double rss0 = rss_mib();
      const auto t0 = Clock::now();
      st::VectorIndex idx(*db, kModel, kSpace, io);
      built.ctor_s = secs(t0);
      const auto& s = idx.status();
      resolved = s.kind;
      built.build_s = s.build_ms / 1e3;
      built.mem_mib = static_cast<double>(idx.memory_bytes()) / (1 << 20);
      built.rss_mib = rss_mib() - rss0;
      built.file_mib = file_mib(s.file);
      progress("{}: built in {:.2f} s ({:.2f} s with reading the entries and saving; rebuilt: {}, {})",
               s.kind, built.build_s, built.ctor_s, s.rebuilt ? "yes" : "no", s.reason);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_search: %s: %s\n", kind.c_str(), e.what());
      return 1;
    }
    const bool by_ef = resolved == "hnsw", by_nprobe = resolved == "ivf" || resolved == "ivfpq";
    const size_t settings = by_ef ? o.ef_search.size() : by_nprobe ? o.nprobe.size() : 1;
    const size_t kq = resolved == "flat" ? flat_nq : nq;
    first_row_of_kind.push_back(rows.size());
    for (size_t si = 0; si < settings; ++si) {
      if (by_ef) io.ef_search = o.ef_search[si];
      if (by_nprobe) io.nprobe = o.nprobe[si];
      Row r = built;
      r.kind = kind == resolved ? kind : kind + ">" + resolved;
      r.params = params_of(resolved, io, o.n);
      r.queries = kq;
      st::VectorIndex idx(*db, kModel, kSpace, io);
      r.open_ms = idx.status().open_ms;
      r.loaded = idx.status().loaded;
      if (!r.loaded)
        progress("{}: WARNING: the reopen did not load the saved file ({})", kind, idx.status().reason);
      progress("{} {}: opened in {:.1f} ms; {} queries", r.kind, r.params, r.open_ms, kq);
      r.plain = run_queries(idx, queries, kq, dim, {}, truth.all);
      r.split = run_queries(idx, queries, kq, dim, f_split, truth.split);
      r.sel = run_queries(idx, queries, kq, dim, f_sel, truth.sel);
      progress("{} {}: p99 {:.3f} ms, recall@10 {:.4f}", r.kind, r.params, r.plain.p99, r.plain.recall);
      rows.push_back(r);
    }
  }

  // 4. Per kind: incremental add, sync, self-query, save.
  if (o.add > 0) {
    const uint64_t per_kind = (o.add + kClipsPerSource - 1) / kClipsPerSource * kClipsPerSource;
    const uint64_t first_new = sources * kClipsPerSource;
    for (size_t ki = 0; ki < o.kinds.size(); ++ki) {
      Row& r0 = rows[first_row_of_kind[ki]];
      st::IndexOptions io;
      io.kind = o.kinds[ki];
      io.hnsw_m = o.hnsw_m;
      io.ef_construction = o.ef_construction;
      io.ef_search = o.ef_search.front();
      io.nlist = o.nlist;
      io.nprobe = o.nprobe.front();
      io.save = false;  // sync() below without the file rewrite; save() is timed on its own
      io.search_threads = 1;
      st::VectorIndex idx(*db, kModel, kSpace, io);
      const auto t_idle = Clock::now();
      idx.sync();  // nothing new: the fixed cost of a catch-up
      r0.idle_sync_ms = secs(t_idle) * 1e3;
      const uint64_t first = first_new + ki * per_kind;
      const auto fresh = gen.make(o.add, 100 + ki);
      r0.add_commit_s = write_vectors(*db, fresh.data(), o.add, dim, first, false);
      const auto t0 = Clock::now();
      r0.synced = idx.sync();
      r0.sync_s = secs(t0);
      for (size_t i = 0; i < o.add; i += 10) {
        const auto hits = idx.search(&fresh[i * dim], static_cast<size_t>(dim), kK);
        const uint64_t num = first + i;
        ++r0.rank1_of;
        if (!hits.empty() && hits[0].source == num / kClipsPerSource && hits[0].clip == num % kClipsPerSource)
          ++r0.rank1;
      }
      const auto t1 = Clock::now();
      idx.save();
      r0.save_s = secs(t1);
      progress("{}: +{} vectors: commit {:.3f} s, sync {:.3f} s ({} added), save {:.3f} s, rank 1 {} / {}",
               o.kinds[ki], o.add, r0.add_commit_s, r0.sync_s, r0.synced, r0.save_s, r0.rank1, r0.rank1_of);
      for (size_t j = first_row_of_kind[ki] + 1;
           j < (ki + 1 < o.kinds.size() ? first_row_of_kind[ki + 1] : rows.size()); ++j) {
        rows[j].add_commit_s = r0.add_commit_s;
        rows[j].sync_s = r0.sync_s;
        rows[j].save_s = r0.save_s;
        rows[j].idle_sync_ms = r0.idle_sync_ms;
        rows[j].synced = r0.synced;
        rows[j].rank1 = r0.rank1;
        rows[j].rank1_of = r0.rank1_of;
      }
    }
  }

  // The tables.
  const std::string centres =
      o.set == "clustered" ? fmt::format(" ({} centres, noise {})", kCentres, o.noise) : "";
  fmt::print("bench_search: n={} dim={} set={}{} queries={} (flat {}) k={}\n", o.n, dim, o.set, centres, nq,
             flat_nq, kK);
  fmt::print("cores {}, faiss OpenMP max threads {}, search threads 1\n", cores, omp_threads);
  fmt::print("truth: mean similarity of the 1st neighbour {:.3f}, of the 10th {:.3f}\n", truth.top1,
             truth.top10);
  fmt::print("store write: {:.0f} vectors/s ({:.1f} s, a commit every {})\n", write_rate, write_s,
             kCommitEvery);
  fmt::print("filters: split=test {} vectors ({}), 5 sources {} vectors ({})\n\n", split_n, path_of(split_n),
             sel_n, path_of(sel_n));
  const char* head1 =
      "{:>8} {:>4} {:>9} {:>9} {:>24} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>16} {:>16} {:>8}\n";
  fmt::print(head1, "n", "dim", "set", "kind", "params", "build s", "mem MiB", "open ms", "p50 ms", "p99 ms",
             "QPS", "recall@10", "f10% p99 ms", "f500 p99 ms", "add s");
  const char* line1 =
      "{:>8} {:>4} {:>9} {:>9} {:>24} {:>8.2f} {:>8.1f} {:>8.1f} {:>8.3f} {:>8.3f} {:>8.0f} {:>9.4f} {:>16} "
      "{:>16} {:>8}\n";
  for (const auto& r : rows) {
    const std::string add = r.sync_s >= 0 ? fmt::format("{:.3f}", r.add_commit_s + r.sync_s) : "-";
    fmt::print(line1, o.n, dim, o.set, r.kind, r.params, r.build_s, r.mem_mib, r.open_ms, r.plain.p50,
               r.plain.p99, r.plain.qps, r.plain.recall, ratio(r.split.p99, r.plain.p99),
               ratio(r.sel.p99, r.plain.p99), add);
  }
  const char* head2 =
      "{:>9} {:>24} {:>7} {:>8} {:>8} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n";
  fmt::print("\n");
  fmt::print(head2, "kind", "params", "queries", "ctor s", "RSS MiB", "file MiB", "loaded", "f10 p50",
             "f10 R", "f500 p50", "f500 R", "sync0 ms", "commit s", "sync s", "save s", "rank 1");
  const char* line2 =
      "{:>9} {:>24} {:>7} {:>8.2f} {:>8.1f} {:>8.1f} {:>6} {:>8.3f} {:>8.4f} {:>8.3f} {:>8.4f} {:>8} {:>8} "
      "{:>8} "
      "{:>8} {:>8}\n";
  for (const auto& r : rows) {
    const bool added = r.sync_s >= 0;
    auto fig = [added](double v, const char* f) { return added ? fmt::format(f, v) : std::string("-"); };
    fmt::print(line2, r.kind, r.params, r.queries, r.ctor_s, r.rss_mib, r.file_mib, r.loaded ? "yes" : "NO",
               r.split.p50, r.split.recall, r.sel.p50, r.sel.recall, fig(r.idle_sync_ms, "{:.1f}"),
               fig(r.add_commit_s, "{:.3f}"), fig(r.sync_s, "{:.3f}"), fig(r.save_s, "{:.3f}"),
               added ? fmt::format("{}/{}", r.rank1, r.rank1_of) : "-");
  }
  fmt::print("\n");
  fmt::print("build s: status().build_ms (training and adding, vectors read from the store)\n");
  fmt::print(
      "ctor s: the whole first open (entries read, build, file saved); RSS: resident growth over it\n");
  fmt::print(
      "mem: memory_bytes(); open ms: a second open of the saved file (loaded: the file was trusted)\n");
  fmt::print(
      "p50/p99: one query at a time, k={}; QPS: queries / wall time; recall@10: vs exact brute force\n", kK);
  fmt::print("f10%: filter split=test, f500: filter on 5 sources; recall vs brute force over that subset;\n");
  fmt::print("  (Nx) = filtered p99 / unfiltered p99\n");
  fmt::print(
      "add s: {} new vectors written through a Writer (commit s) + sync() (sync s; the file not written)\n",
      o.add);
  fmt::print(
      "sync0 ms: sync() with nothing new; save s: save() after the add; rank 1: new vectors that come\n");
  fmt::print("  back first when searched for with themselves\n");

  if (!o.json.empty()) {
    nlohmann::json j = {{"n", o.n},
                        {"dim", dim},
                        {"set", o.set},
                        {"noise", o.noise},
                        {"queries", nq},
                        {"flat_queries", flat_nq},
                        {"cores", cores},
                        {"omp_max_threads", omp_threads},
                        {"write_vectors_per_s", write_rate},
                        {"truth_top1_similarity", truth.top1},
                        {"truth_top10_similarity", truth.top10},
                        {"split_filter_vectors", split_n},
                        {"sources_filter_vectors", sel_n}};
    auto timing = [](const Timing& t) {
      return nlohmann::json{{"p50_ms", t.p50}, {"p99_ms", t.p99}, {"qps", t.qps}, {"recall_at_10", t.recall}};
    };
    for (const auto& r : rows)
      j["rows"].push_back({{"kind", r.kind},
                           {"params", r.params},
                           {"queries", r.queries},
                           {"build_s", r.build_s},
                           {"ctor_s", r.ctor_s},
                           {"memory_mib", r.mem_mib},
                           {"rss_growth_mib", r.rss_mib},
                           {"file_mib", r.file_mib},
                           {"open_ms", r.open_ms},
                           {"loaded", r.loaded},
                           {"unfiltered", timing(r.plain)},
                           {"split_filter", timing(r.split)},
                           {"sources_filter", timing(r.sel)},
                           {"add_commit_s", r.add_commit_s},
                           {"sync_s", r.sync_s},
                           {"save_s", r.save_s},
                           {"idle_sync_ms", r.idle_sync_ms},
                           {"added_rank1", r.rank1},
                           {"added_checked", r.rank1_of}});
    std::ofstream(o.json) << j.dump(2) << "\n";
  }

  db.reset();
  if (!o.keep) {
    fs::remove_all(db_path);
    fs::remove_all(index_dir);
    std::error_code ec;
    fs::remove(o.dir, ec);  // only when empty
  }
  return 0;
}
