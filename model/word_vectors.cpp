// Word-vector files: one streaming reader for the three formats, used for the word list and for the table.
#include "model/word_vectors.h"

#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace vatt::model {
namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

std::vector<std::string> split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string s; in >> s;) out.push_back(s);
  return out;
}

// Calls `entry(word, values_or_null, where)` for every vector in the file; `values` is null when
// `want_values` is false (the word list needs no parsing of numbers). Stops when `entry` returns false.
void scan(const std::string& path, const WordVectorFormat& f, bool want_values,
          const std::function<bool(const std::string&, const float*, const std::string&)>& entry) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open word-vector file '" + path + "'");
  std::string line;
  std::vector<float> values(static_cast<size_t>(f.dim));
  if (f.binary) {
    std::getline(in, line);  // the header
    for (int64_t n = 1;; ++n) {
      std::string word;
      char ch = 0;
      while (in.get(ch) && (ch == '\n' || ch == '\r')) {
      }
      if (!in) return;  // clean end of file
      do {
        if (ch == ' ') break;
        word.push_back(ch);
      } while (in.get(ch));
      const std::string where = path + ": entry " + std::to_string(n) + " ('" + word + "')";
      in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
      if (in.gcount() != static_cast<std::streamsize>(values.size() * 4))
        throw std::runtime_error(where + ": the file ends inside its " + std::to_string(f.dim) + " floats");
      if (f.count >= 0 && n > f.count)
        throw std::runtime_error(where + ": more entries than the header's " + std::to_string(f.count));
      if (!entry(word, want_values ? values.data() : nullptr, where)) return;
      if (f.count >= 0 && n == f.count) return;
    }
  }
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && f.header) continue;
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    const auto space = line.find_first_of(" \t");
    const std::string word = line.substr(0, space);
    if (want_values || line_no <= 2) {
      const auto fields = split(space == std::string::npos ? std::string() : line.substr(space));
      if (static_cast<int64_t>(fields.size()) != f.dim)
        throw std::runtime_error(where + ": expected a word and " + std::to_string(f.dim) + " values, got " +
                                 std::to_string(fields.size()) + " values");
      for (int64_t j = 0; want_values && j < f.dim; ++j) {
        const auto& s = fields[static_cast<size_t>(j)];
        char* end = nullptr;
        values[static_cast<size_t>(j)] = std::strtof(s.c_str(), &end);
        if (end == s.c_str() || *end != '\0')
          throw std::runtime_error(where + ": value " + std::to_string(j + 1) + " '" + s +
                                   "' is not a number");
      }
    }
    if (!entry(word, want_values ? values.data() : nullptr, where)) return;
  }
}

}  // namespace

WordVectorFormat inspect_word_vectors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open word-vector file '" + path + "'");
  WordVectorFormat f;
  std::string first;
  std::getline(in, first);
  if (!first.empty() && first.back() == '\r') first.pop_back();
  const auto fields = split(first);
  if (fields.size() == 2 && all_digits(fields[0]) && all_digits(fields[1])) {
    f.header = true;
    f.count = std::stoll(fields[0]);
    f.dim = std::stoll(fields[1]);
    if (f.dim < 1) throw std::runtime_error(path + ":1: the header's width is 0");
    // Text or binary: the bytes after the header of a binary file hold raw floats, which are not all text.
    char buf[4096];
    in.read(buf, sizeof buf);
    const auto n = in.gcount();
    bool text = true;
    for (std::streamsize i = 0; i < n && text; ++i) {
      const auto c = static_cast<unsigned char>(buf[i]);
      if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t')) text = false;
    }
    f.binary = !text || (path.size() > 4 && path.compare(path.size() - 4, 4, ".bin") == 0);
    return f;
  }
  if (fields.size() < 2)
    throw std::runtime_error(path + ":1: expected a \"count dim\" header or a word and its values");
  f.dim = static_cast<int64_t>(fields.size()) - 1;
  return f;
}

std::vector<std::string> word_vector_words(const std::string& path, size_t max_words) {
  std::vector<std::string> words;
  std::unordered_set<std::string> seen;
  scan(path, inspect_word_vectors(path), false, [&](const std::string& w, const float*, const std::string&) {
    if (w != "<pad>" && w != "<unk>" && seen.insert(w).second) words.push_back(w);
    return words.size() < max_words;
  });
  return words;
}

WordVectorTable read_word_vectors(const std::string& path, const std::vector<std::string>& vocab,
                                  int64_t expected_dim) {
  const auto f = inspect_word_vectors(path);
  if (expected_dim > 0 && f.dim != expected_dim)
    throw std::runtime_error(path + ":1: vectors have " + std::to_string(f.dim) +
                             " values, the model's word "
                             "embedding " +
                             std::to_string(expected_dim) + " (train_vatt sizes it from the file)");
  std::unordered_map<std::string, size_t> ids;
  ids.reserve(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) ids.emplace(vocab[i], i);
  WordVectorTable t;
  t.dim = f.dim;
  t.values.assign(vocab.size() * static_cast<size_t>(f.dim), 0.0f);
  t.found.assign(vocab.size(), 0);
  scan(path, f, true, [&](const std::string& w, const float* v, const std::string&) {
    ++t.entries;
    auto it = w == "<pad>" || w == "<unk>" ? ids.end() : ids.find(w);  // vatt's ids 0 and 1 keep their rows
    if (it != ids.end() && !t.found[it->second]) {
      std::memcpy(&t.values[it->second * static_cast<size_t>(f.dim)], v, static_cast<size_t>(f.dim) * 4);
      t.found[it->second] = 1;
      ++t.found_count;
    }
    return true;
  });
  return t;
}

}  // namespace vatt::model
