// Clip store on RocksDB: JSON records per clip/text/source, binary media, one atomic write set per clip.
#include "storage/clip_store.h"

#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "storage/keys.h"

namespace vatt::storage {

namespace {

using nlohmann::json;

std::string source_key(uint64_t id) {
  std::string k;
  put_u64(k, id);
  return k;
}

std::string media_key(uint64_t s, uint64_t c) {
  return key_u64x2(s, c) + "m";
}

json to_json(const SourceRecord& s) {
  return {{"uri", s.uri},
          {"fingerprint", s.fingerprint},
          {"options", s.options_digest},
          {"cursor", s.cursor},
          {"clips", s.clips},
          {"total", s.total}};
}

SourceRecord source_from(uint64_t id, std::string_view v) {
  const json j = json::parse(v);
  SourceRecord s;
  s.source_id = id;
  s.uri = j.at("uri");
  s.fingerprint = j.at("fingerprint");
  s.options_digest = j.at("options");
  s.cursor = j.at("cursor");
  s.clips = j.at("clips");
  s.total = j.value("total", uint64_t{0});  // absent in stores written before resume
  return s;
}

ClipRecord clip_from(std::string_view key, std::string_view v, const Db& db) {
  const json j = json::parse(v);
  ClipRecord c;
  c.source_id = get_u64(key, 0);
  c.clip_index = get_u64(key, 8);
  c.uri = j.at("uri");
  c.fingerprint = j.at("fingerprint");
  c.options_digest = j.at("options");
  c.start_us = j.at("start_us");
  c.end_us = j.at("end_us");
  c.has_video = j.at("has_video");
  c.has_audio = j.at("has_audio");
  c.labels = j.at("labels").get<std::vector<std::string>>();
  c.split = j.at("split");
  if (j.contains("captions")) c.captions = j.at("captions").get<std::vector<std::string>>();
  if (j.contains("wall_start_us")) c.wall_start_us = j.at("wall_start_us");
  if (j.at("has_text").get<bool>()) {
    if (auto t = db.get(Family::Texts, key)) {
      for (const auto& e : json::parse(*t))
        c.text.push_back({e.at("start_us"), e.at("end_us"), e.at("text")});
    }
  }
  return c;
}

template <class T>
void append_pod(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <class T>
T read_pod(std::string_view in, size_t& pos) {
  if (pos + sizeof(T) > in.size()) throw StorageError("clip media record is truncated");
  T v;
  std::memcpy(&v, in.data() + pos, sizeof v);
  pos += sizeof v;
  return v;
}

}  // namespace

ClipStore::ClipStore(const std::string& path, Access access) : db_(path, access) {}

std::shared_ptr<ClipStore> ClipStore::open_shared(const std::string& path, Access access) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<ClipStore>> writers, readers;
  std::error_code ec;
  std::string key = std::filesystem::weakly_canonical(path, ec).string();
  if (ec) key = path;
  std::lock_guard<std::mutex> lk(mu);
  if (auto s = writers[key].lock()) return s;
  if (access == Access::ReadOnly) {
    if (auto s = readers[key].lock()) return s;
  }
  auto s = std::make_shared<ClipStore>(path, access);
  (access == Access::ReadWrite ? writers : readers)[key] = s;
  return s;
}

ClipStore::PutResult ClipStore::put(const ClipRecord& c, const ClipMedia* media, bool sync) {
  const std::string key = key_u64x2(c.source_id, c.clip_index);
  WriteSet w;
  PutResult result = PutResult::Added;
  SourceRecord src;
  if (auto s = source(c.source_id)) {
    src = *s;
    if (src.fingerprint == c.fingerprint && src.options_digest == c.options_digest) {
      if (db_.get(Family::Clips, key)) {
        if (c.last && src.total != c.clip_index + 1) {  // a store from before `total`, or a resumed source
          src.total = c.clip_index + 1;
          db_.put(Family::Sources, source_key(c.source_id), to_json(src).dump(), sync);
        }
        return PutResult::Skipped;
      }
    } else {
      // The source's content or the decode options changed: its old clips describe something else now.
      // (Db::write applies puts before erases: leave out the keys this clip writes again.)
      const std::string mkey = media_key(c.source_id, c.clip_index);
      db_.scan(Family::Clips, source_key(c.source_id), [&](std::string_view k, std::string_view) {
        if (k != key && !(media && k == mkey)) w.erase(Family::Clips, std::string(k));
        if (k.size() == 16 && !(k == key && c.has_text())) w.erase(Family::Texts, std::string(k));
        return true;
      });
      src = SourceRecord{};
      result = PutResult::Replaced;
    }
  }
  src.source_id = c.source_id;
  src.uri = c.uri;
  src.fingerprint = c.fingerprint;
  src.options_digest = c.options_digest;
  src.cursor = std::max(src.cursor, c.clip_index + 1);
  src.clips += 1;
  if (c.last) src.total = c.clip_index + 1;

  json meta = {{"uri", c.uri},
               {"fingerprint", c.fingerprint},
               {"options", c.options_digest},
               {"start_us", c.start_us},
               {"end_us", c.end_us},
               {"has_video", c.has_video},
               {"has_audio", c.has_audio},
               {"has_text", c.has_text()},
               {"labels", c.labels},
               {"split", c.split},
               {"captions", c.captions}};
  if (c.wall_start_us) meta["wall_start_us"] = c.wall_start_us;
  w.put(Family::Clips, key, meta.dump());
  if (!c.thumbnail_jpeg.empty()) w.put(Family::Clips, key + 'j', c.thumbnail_jpeg);
  if (c.has_text()) {
    json t = json::array();
    for (const auto& s : c.text)
      t.push_back({{"start_us", s.start_us}, {"end_us", s.end_us}, {"text", s.text}});
    w.put(Family::Texts, key, t.dump());
  }
  if (media) {
    std::string m;
    m.reserve(40 + media->frames.size() + media->audio.size() * sizeof(float));
    append_pod(m, uint32_t{1});  // layout version
    append_pod(m, static_cast<int32_t>(media->frames_t));
    append_pod(m, static_cast<int32_t>(media->height));
    append_pod(m, static_cast<int32_t>(media->width));
    append_pod(m, media->fps);
    append_pod(m, static_cast<int32_t>(media->sample_rate));
    append_pod(m, static_cast<uint64_t>(media->audio.size()));
    m.append(reinterpret_cast<const char*>(media->frames.data()), media->frames.size());
    m.append(reinterpret_cast<const char*>(media->audio.data()), media->audio.size() * sizeof(float));
    w.put(Family::Clips, media_key(c.source_id, c.clip_index), std::move(m));
  }
  w.put(Family::Sources, source_key(c.source_id), to_json(src).dump());
  db_.write(w, sync);
  return result;
}

std::optional<SourceRecord> ClipStore::source(uint64_t id) const {
  auto v = db_.get(Family::Sources, source_key(id));
  if (!v) return std::nullopt;
  return source_from(id, *v);
}

std::vector<SourceRecord> ClipStore::sources() const {
  std::vector<SourceRecord> out;
  db_.scan(Family::Sources, "", [&](std::string_view k, std::string_view v) {
    out.push_back(source_from(get_u64(k, 0), v));
    return true;
  });
  return out;
}

void ClipStore::scan(std::optional<uint64_t> source_id,
                     const std::function<bool(const ClipRecord&)>& fn) const {
  db_.scan(Family::Clips, source_id ? source_key(*source_id) : std::string(),
           [&](std::string_view k, std::string_view v) {
             if (k.size() != 16) return true;  // media records
             return fn(clip_from(k, v, db_));
           });
}

std::optional<ClipRecord> ClipStore::get(uint64_t source_id, uint64_t clip_index) const {
  const std::string key = key_u64x2(source_id, clip_index);
  auto v = db_.get(Family::Clips, key);
  if (!v) return std::nullopt;
  return clip_from(key, *v, db_);
}

std::vector<std::pair<uint64_t, uint64_t>> ClipStore::clips_with_media(size_t* clips) const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  size_t records = 0;
  db_.scan(Family::Clips, std::string(), [&](std::string_view k, std::string_view) {
    if (k.size() == 16) ++records;
    if (k.size() == 17 && k[16] == 'm') out.emplace_back(get_u64(k, 0), get_u64(k, 8));
    return true;
  });
  if (clips) *clips = records;
  return out;
}

std::optional<std::string> ClipStore::thumbnail(uint64_t source_id, uint64_t clip_index) const {
  return db_.get(Family::Clips, key_u64x2(source_id, clip_index) + 'j');
}

std::optional<ClipMedia> ClipStore::media(uint64_t source_id, uint64_t clip_index) const {
  auto v = db_.get(Family::Clips, media_key(source_id, clip_index));
  if (!v) return std::nullopt;
  std::string_view in = *v;
  size_t pos = 0;
  ClipMedia m;
  if (read_pod<uint32_t>(in, pos) != 1)
    throw StorageError(db_.path() + ": clip media record of an unknown layout");
  m.frames_t = read_pod<int32_t>(in, pos);
  m.height = read_pod<int32_t>(in, pos);
  m.width = read_pod<int32_t>(in, pos);
  m.fps = read_pod<double>(in, pos);
  m.sample_rate = read_pod<int32_t>(in, pos);
  const auto samples = read_pod<uint64_t>(in, pos);
  const size_t fbytes = static_cast<size_t>(m.frames_t) * m.height * m.width * 3;
  if (pos + fbytes + samples * sizeof(float) != in.size())
    throw StorageError(db_.path() + ": clip media record has the wrong size");
  m.frames.assign(in.begin() + static_cast<std::ptrdiff_t>(pos),
                  in.begin() + static_cast<std::ptrdiff_t>(pos + fbytes));
  m.audio.resize(samples);
  std::memcpy(m.audio.data(), in.data() + pos + fbytes, samples * sizeof(float));
  return m;
}

bool ClipStore::exists_at(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "CURRENT", ec) &&
         fs::exists(fs::path(path) / "IDENTITY", ec);
}

}  // namespace vatt::storage
