// Readers of dataset layouts (captions JSON, label CSVs, split lists) into per-source annotations.
#include "nodes/media/datasets.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace vatt::nodes {

namespace {

using nlohmann::json;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DatasetError(path + ": cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string stem_of(const std::string& p) {
  return std::filesystem::path(p).stem().string();
}

int64_t to_us(const json& v, const std::string& where) {
  if (!v.is_number()) throw DatasetError(where + ": expected a number of seconds, got " + v.dump());
  const double s = v.get<double>();
  if (!(s >= 0) || !std::isfinite(s)) throw DatasetError(where + ": expected seconds >= 0, got " + v.dump());
  return std::llround(s * 1e6);
}

/// Splits one CSV line (double quotes group commas; "" is a quote).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  for (auto& f : out) {
    const size_t a = f.find_first_not_of(' '), b = f.find_last_not_of(' ');
    f = a == std::string::npos ? "" : f.substr(a, b - a + 1);
  }
  return out;
}

}  // namespace

void DatasetIndex::load_captions_json(const std::string& path) {
  json j;
  try {
    j = json::parse(read_all(path));
  } catch (const json::parse_error& e) {
    throw DatasetError(path + ": malformed JSON: " + e.what());
  }
  if (!j.is_object()) throw DatasetError(path + ": expected a JSON object of video id -> captions");
  try {
    if (j.contains("database")) {  // YouCook2
      for (const auto& [id, v] : j.at("database").items()) {
        const std::string where = path + ": database." + id;
        auto& a = by_id_[id];
        if (v.contains("subset")) {
          const std::string s = v.at("subset");
          a.split = s == "training" ? "train" : s == "validation" ? "val" : s;
        }
        for (const auto& ann : v.value("annotations", json::array())) {
          const auto& seg = ann.at("segment");
          if (!seg.is_array() || seg.size() != 2)
            throw DatasetError(where + ": segment must be [start, end]");
          TextSegment t{to_us(seg[0], where), to_us(seg[1], where), ann.at("sentence").get<std::string>()};
          if (t.end_us < t.start_us) throw DatasetError(where + ": a segment ends before it starts");
          a.segments.push_back(std::move(t));
        }
      }
    } else if (j.contains("sentences") && j.contains("videos")) {  // MSR-VTT (train_val_videodatainfo.json)
      for (const auto& v : j.at("videos")) {
        auto& a = by_id_[v.at("video_id").get<std::string>()];
        if (v.contains("split")) {
          const std::string s = v.at("split");
          a.split = s == "validate" ? "val" : s;
        }
      }
      for (const auto& sen : j.at("sentences"))
        by_id_[sen.at("video_id").get<std::string>()].captions.push_back(
            sen.at("caption").get<std::string>());
    } else {  // HowTo100M, or MSR-VTT-style id -> [caption, ...]
      for (const auto& [id, v] : j.items()) {
        const std::string where = path + ": " + id;
        if (v.is_array()) {
          auto& a = by_id_[id];
          for (size_t i = 0; i < v.size(); ++i) {
            if (!v[i].is_string())
              throw DatasetError(where + "[" + std::to_string(i) + "]: a caption must be a string");
            a.captions.push_back(v[i].get<std::string>());
          }
          continue;
        }
        const auto &st = v.at("start"), &en = v.at("end"), &tx = v.at("text");
        if (!st.is_array() || !en.is_array() || !tx.is_array() || st.size() != en.size() ||
            st.size() != tx.size())
          throw DatasetError(where + ": expected arrays start, end and text of the same length");
        auto& a = by_id_[id];
        for (size_t i = 0; i < st.size(); ++i) {
          const std::string w = where + "[" + std::to_string(i) + "]";
          TextSegment t{to_us(st[i], w), to_us(en[i], w), tx[i].is_string() ? tx[i].get<std::string>() : ""};
          if (!tx[i].is_string()) throw DatasetError(w + ": text must be a string");
          if (t.end_us < t.start_us) throw DatasetError(w + ": ends before it starts");
          a.segments.push_back(std::move(t));
        }
      }
    }
  } catch (const json::exception& e) {
    throw DatasetError(path + ": unexpected layout: " + e.what());
  }
  for (auto& [id, a] : by_id_)
    std::stable_sort(a.segments.begin(), a.segments.end(),
                     [](const TextSegment& x, const TextSegment& y) { return x.start_us < y.start_us; });
}

void DatasetIndex::load_labels_csv(const std::string& path) {
  std::istringstream in(read_all(path));
  std::string line;
  int n = 0;
  bool esc50 = false, header_seen = false;
  size_t f_file = 0, f_fold = 0, f_cat = 0, header_cols = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line == "\r" || line[0] == '#') continue;
    const auto f = csv_fields(line);
    const std::string where = path + ":" + std::to_string(n);
    if (!header_seen) {
      header_seen = true;
      auto idx = [&](const char* name) {
        return static_cast<size_t>(std::find(f.begin(), f.end(), name) - f.begin());
      };
      if (idx("filename") < f.size() && idx("category") < f.size()) {
        esc50 = true;
        header_cols = f.size();
        f_file = idx("filename");
        f_fold = idx("fold");  // optional: f.size() when absent, never a valid column below
        f_cat = idx("category");
        continue;
      }
    }
    if (esc50) {
      if (f.size() <= std::max(f_file, f_cat))
        throw DatasetError(where + ": expected the columns of the header (filename, fold, category)");
      auto& a = by_id_[stem_of(f[f_file])];
      a.labels.push_back(f[f_cat]);
      if (f_fold < header_cols && f_fold < f.size()) a.split = "fold" + f[f_fold];
    } else {
      if (f.size() < 4) throw DatasetError(where + ": expected YTID, start_seconds, end_seconds, \"labels\"");
      auto& a = by_id_[f[0]];
      std::stringstream ls(f[3]);
      for (std::string l; std::getline(ls, l, ',');)
        if (!l.empty()) a.labels.push_back(l);
    }
  }
}

void DatasetIndex::load_split_list(const std::string& name, const std::string& path) {
  std::istringstream in(read_all(path));
  std::string line;
  while (std::getline(in, line)) {
    const std::string first = line.substr(0, line.find_first_of(" \t\r"));
    if (first.empty() || first[0] == '#') continue;
    // A file in several lists (UCF101's trainlist01 and testlist02) is in each of them: "train1,test2".
    add_split(by_id_[stem_of(first)].split, name);
  }
}

std::set<std::string> DatasetIndex::labels() const {
  std::set<std::string> out;
  for (const auto& [id, a] : by_id_) out.insert(a.labels.begin(), a.labels.end());
  return out;
}

SourceAnnotations DatasetIndex::lookup(const std::string& path) const {
  const std::string stem = stem_of(path);
  auto it = by_id_.find(stem);
  if (it != by_id_.end()) return it->second;
  const size_t us = stem.rfind('_');
  if (us != std::string::npos && us + 1 < stem.size() &&
      std::all_of(stem.begin() + static_cast<std::ptrdiff_t>(us) + 1, stem.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    it = by_id_.find(stem.substr(0, us));
    if (it != by_id_.end()) return it->second;
  }
  return {};
}

std::string canonical_split(const std::string& name) {
  std::string s;
  for (char c : name)
    if (!std::isspace(static_cast<unsigned char>(c)))
      s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "training") return "train";
  if (s == "testing") return "test";
  if (s == "validation" || s == "validate") return "val";
  return s;
}

std::set<std::string> split_names(const std::string& list) {
  std::set<std::string> out;
  size_t from = 0;
  while (from <= list.size()) {
    const size_t comma = std::min(list.find(',', from), list.size());
    std::string n = canonical_split(list.substr(from, comma - from));
    if (!n.empty()) out.insert(std::move(n));
    from = comma + 1;
  }
  return out;
}

bool is_split_name(const std::string& name) {
  const std::string s = canonical_split(name);
  return s == "train" || s == "test" || s == "val";
}

void add_split(std::string& list, const std::string& name) {
  if (list.empty())
    list = name;
  else if (("," + list + ",").find("," + name + ",") == std::string::npos)
    list += "," + name;
}

std::vector<std::string> read_media_list(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  const std::filesystem::path base = std::filesystem::path(path).parent_path();
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (line.find("://") != std::string::npos) {
      out.push_back(line);
      continue;
    }
    std::filesystem::path p = line;
    if (p.is_relative()) p = base / p;
    out.push_back(p.string());
  }
  return out;
}

}  // namespace vatt::nodes
