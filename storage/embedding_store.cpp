// Embedding store on RocksDB: binary vectors and entries, JSON model records, one atomic write per batch.
#include "storage/embedding_store.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "storage/keys.h"

namespace vatt::storage {

namespace {

using nlohmann::json;

constexpr Space kSpaces[] = {Space::VideoVA,     Space::AudioVA,      Space::VideoVT,
                             Space::TextVT,      Space::VideoFeature, Space::AudioFeature,
                             Space::VideoVAMean, Space::AudioVAMean,  Space::VideoVTMean};

std::string prefix(char kind, uint64_t model) {
  std::string k(1, kind);
  put_u64(k, model);
  return k;
}

void put_i64(std::string& out, int64_t v) {
  put_u64(out, static_cast<uint64_t>(v));
}

std::string encode_entry(const Entry& e) {
  std::string v;
  v.reserve(33 + e.split.size());
  put_u64(v, e.source);
  put_u64(v, e.clip);
  put_i64(v, e.start_us);
  put_i64(v, e.end_us);
  v.push_back(static_cast<char>(e.dead ? 1 : 0));
  v += e.split;
  return v;
}

Entry decode_entry(std::string_view v, const std::string& path) {
  if (v.size() < 33) throw StorageError(path + ": embedding entry record is truncated");
  Entry e;
  e.source = get_u64(v, 0);
  e.clip = get_u64(v, 8);
  e.start_us = static_cast<int64_t>(get_u64(v, 16));
  e.end_us = static_cast<int64_t>(get_u64(v, 24));
  e.dead = (v[32] & 1) != 0;
  e.split.assign(v.substr(33));
  return e;
}

StoredVector decode_vector(std::string_view v, const std::string& path) {
  if (v.size() < 16 || (v.size() - 16) % sizeof(float) != 0)
    throw StorageError(path + ": embedding vector record has the wrong size");
  StoredVector s;
  s.seq = get_u64(v, 0);
  s.fingerprint = get_u64(v, 8);
  s.v.resize((v.size() - 16) / sizeof(float));
  std::memcpy(s.v.data(), v.data() + 16, v.size() - 16);
  return s;
}

}  // namespace

const char* space_name(Space s) {
  switch (s) {
    case Space::VideoVA:
      return "video_va";
    case Space::AudioVA:
      return "audio_va";
    case Space::VideoVT:
      return "video_vt";
    case Space::TextVT:
      return "text_vt";
    case Space::VideoFeature:
      return "video_feature";
    case Space::AudioFeature:
      return "audio_feature";
    case Space::VideoVAMean:
      return "video_va_mean";
    case Space::AudioVAMean:
      return "audio_va_mean";
    case Space::VideoVTMean:
      return "video_vt_mean";
  }
  return "?";
}

std::optional<Space> space_from_name(const std::string& name) {
  for (Space s : kSpaces)
    if (name == space_name(s)) return s;
  return std::nullopt;
}

std::vector<Space> all_spaces() {
  return {std::begin(kSpaces), std::end(kSpaces)};
}

bool is_per_video(Space s) {
  return static_cast<uint8_t>(s) >= 16;
}

std::string hex_id(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = digits[v & 15];
  return s;
}

std::optional<uint64_t> parse_hex_id(const std::string& s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

uint64_t ModelRecord::clips() const {
  for (Space s : {Space::VideoVA, Space::VideoVT})
    if (auto it = spaces.find(s); it != spaces.end()) return it->second.count - it->second.dead;
  return 0;
}

uint64_t ModelRecord::videos() const {
  for (Space s : {Space::VideoVTMean, Space::VideoVAMean})
    if (auto it = spaces.find(s); it != spaces.end()) return it->second.count - it->second.dead;
  return 0;
}

std::string model_to_json(const ModelRecord& m) {
  json spaces = json::object();
  for (const auto& [s, i] : m.spaces)
    spaces[space_name(s)] = {{"dim", i.dim}, {"count", i.count}, {"dead", i.dead}};
  return json{{"checkpoint", m.checkpoint},
              {"step", m.step},
              {"config_name", m.config_name},
              {"config", m.config},
              {"video_clips", m.video_clips},
              {"created", m.created},
              {"spaces", spaces}}
      .dump();
}

ModelRecord model_from_json(std::string_view text, uint64_t id) {
  const json j = json::parse(text);
  ModelRecord m;
  m.id = id;
  m.checkpoint = j.at("checkpoint");
  m.step = j.at("step");
  m.config_name = j.at("config_name");
  m.config = j.at("config");
  m.video_clips = j.at("video_clips");
  m.created = j.at("created");
  for (const auto& [name, i] : j.at("spaces").items()) {
    auto s = space_from_name(name);
    if (!s) continue;  // a space of a newer vatt
    m.spaces[*s] =
        SpaceInfo{i.at("dim").get<int>(), i.at("count").get<uint64_t>(), i.at("dead").get<uint64_t>()};
  }
  return m;
}

std::string EmbeddingStore::model_key(uint64_t model) {
  return prefix('m', model);
}

std::string EmbeddingStore::vector_key(uint64_t model, Space space, uint64_t source, uint64_t clip) {
  std::string k = prefix('e', model);
  k.push_back(static_cast<char>(space));
  put_u64(k, source);
  put_u64(k, clip);
  return k;
}

std::string EmbeddingStore::entry_key(uint64_t model, Space space, uint64_t seq) {
  std::string k = prefix('s', model);
  k.push_back(static_cast<char>(space));
  put_u64(k, seq);
  return k;
}

std::vector<ModelRecord> EmbeddingStore::models() const {
  std::vector<ModelRecord> out;
  db_.scan(Family::Embeddings, "m", [&](std::string_view k, std::string_view v) {
    if (k.size() == 9) out.push_back(model_from_json(v, get_u64(k, 1)));
    return true;
  });
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  return out;
}

std::optional<ModelRecord> EmbeddingStore::model(uint64_t id) const {
  auto v = db_.get(Family::Embeddings, model_key(id));
  if (!v) return std::nullopt;
  return model_from_json(*v, id);
}

std::optional<ModelRecord> EmbeddingStore::latest_model() const {
  auto all = models();
  if (all.empty()) return std::nullopt;
  return all.back();
}

std::optional<StoredVector> EmbeddingStore::get(uint64_t model, Space space, uint64_t source,
                                                uint64_t clip) const {
  auto v = db_.get(Family::Embeddings, vector_key(model, space, source, clip));
  if (!v) return std::nullopt;
  return decode_vector(*v, db_.path());
}

std::optional<Entry> EmbeddingStore::entry_at(uint64_t model, Space space, uint64_t seq) const {
  auto v = db_.get(Family::Embeddings, entry_key(model, space, seq));
  if (!v) return std::nullopt;
  return decode_entry(*v, db_.path());
}

void EmbeddingStore::scan_entries(uint64_t model, Space space, uint64_t from,
                                  const std::function<bool(uint64_t, const Entry&)>& fn) const {
  std::string p = prefix('s', model);
  p.push_back(static_cast<char>(space));
  const std::string start = entry_key(model, space, from);
  db_.scan_from(Family::Embeddings, p, start, [&](std::string_view k, std::string_view v) {
    return fn(get_u64(k, 10), decode_entry(v, db_.path()));
  });
}

void EmbeddingStore::scan_vectors(
    uint64_t model, Space space, std::optional<uint64_t> source,
    const std::function<bool(uint64_t, uint64_t, const StoredVector&)>& fn) const {
  std::string p = prefix('e', model);
  p.push_back(static_cast<char>(space));
  if (source) put_u64(p, *source);
  db_.scan(Family::Embeddings, p, [&](std::string_view k, std::string_view v) {
    return fn(get_u64(k, 10), get_u64(k, 18), decode_vector(v, db_.path()));
  });
}

EmbeddingStore::Writer::Writer(EmbeddingStore& store, const ModelRecord& info) : store_(store) {
  if (auto m = store.model(info.id)) {
    rec_ = *m;
    // The same weights may come from another file or step count: keep the record current.
    if (rec_.checkpoint != info.checkpoint || rec_.step != info.step ||
        rec_.video_clips != info.video_clips) {
      rec_.checkpoint = info.checkpoint;
      rec_.step = info.step;
      rec_.video_clips = info.video_clips;
      record_dirty_ = true;
    }
  } else {
    rec_ = info;
    rec_.spaces.clear();
    uint64_t created = 0;
    for (const auto& m : store.models()) created = std::max(created, m.created);
    rec_.created = created + 1;
    record_dirty_ = true;
  }
}

EmbeddingStore::Writer::Result EmbeddingStore::Writer::add(Space space, uint64_t source, uint64_t clip,
                                                           uint64_t fingerprint, const Entry& entry,
                                                           const float* v, size_t dim) {
  auto& info = rec_.spaces[space];
  if (info.dim == 0) info.dim = static_cast<int>(dim);
  if (static_cast<size_t>(info.dim) != dim)
    throw std::invalid_argument(std::string("space ") + space_name(space) + " holds " +
                                std::to_string(info.dim) + "-d vectors of model " + hex_id(rec_.id) +
                                "; got " + std::to_string(dim));
  const std::string key = vector_key(rec_.id, space, source, clip);
  Result result = Result::Added;
  if (auto p = pending_keys_.find(key); p != pending_keys_.end()) {
    if (p->second == fingerprint) return Result::Skipped;
    throw std::invalid_argument("two different vectors for one clip in one batch: " + hex_id(source) + ":" +
                                std::to_string(clip));
  }
  if (auto old = store_.get(rec_.id, space, source, clip)) {
    if (old->fingerprint == fingerprint) return Result::Skipped;
    // Other content under the same key: the old entry dies, the new vector gets a new seq.
    auto ov = store_.db_.get(Family::Embeddings, entry_key(rec_.id, space, old->seq));
    if (ov) {
      Entry e = decode_entry(*ov, store_.db_.path());
      e.dead = true;
      pending_.put(Family::Embeddings, entry_key(rec_.id, space, old->seq), encode_entry(e));
      info.dead += 1;
    }
    result = Result::Replaced;
  }
  const uint64_t seq = info.count++;
  std::string value;
  value.reserve(16 + dim * sizeof(float));
  put_u64(value, seq);
  put_u64(value, fingerprint);
  value.append(reinterpret_cast<const char*>(v), dim * sizeof(float));
  pending_.put(Family::Embeddings, key, std::move(value));
  Entry e = entry;
  e.source = source;
  e.clip = clip;
  e.dead = false;
  pending_.put(Family::Embeddings, entry_key(rec_.id, space, seq), encode_entry(e));
  pending_keys_[key] = fingerprint;
  ++pending_n_;
  record_dirty_ = true;
  return result;
}

size_t EmbeddingStore::Writer::commit(bool sync) {
  if (!record_dirty_ && pending_.empty()) return 0;
  pending_.put(Family::Embeddings, model_key(rec_.id), model_to_json(rec_));
  store_.db_.write(pending_, sync);
  const size_t n = pending_n_;
  pending_ = WriteSet();
  pending_keys_.clear();
  pending_n_ = 0;
  record_dirty_ = false;
  return n;
}

}  // namespace vatt::storage
