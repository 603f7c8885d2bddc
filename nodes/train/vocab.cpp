// Text normalisation and vocabulary: deterministic builds, strict loading.
#include "nodes/train/vocab.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace vatt::nodes {

std::vector<std::string> normalise_words(std::string_view text) {
  std::vector<std::string> words;
  std::string cur;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80 && std::isspace(c)) {
      if (!cur.empty()) words.push_back(std::move(cur));
      cur.clear();
    } else if (c < 0x80 && std::ispunct(c)) {
      continue;
    } else {
      cur.push_back(c < 0x80 ? static_cast<char>(std::tolower(c)) : ch);
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

Vocabulary::Vocabulary() {
  words_ = {"<pad>", "<unk>"};
  counts_ = {0, 0};
  ids_ = {{"<pad>", kPad}, {"<unk>", kUnk}};
}

Vocabulary Vocabulary::build(const std::map<std::string, uint64_t>& counts, size_t max_size,
                             uint64_t min_count) {
  if (max_size < 2 || max_size > kMaxSize)
    throw std::invalid_argument("vocabulary size must be in [2, 65536]");
  std::vector<std::pair<std::string, uint64_t>> items;
  for (const auto& [w, c] : counts)
    if (c >= min_count && !w.empty() && w != "<pad>" && w != "<unk>") items.emplace_back(w, c);
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  Vocabulary v;
  for (const auto& [w, c] : items) {
    if (v.words_.size() >= max_size) break;
    v.ids_[w] = static_cast<int32_t>(v.words_.size());
    v.words_.push_back(w);
    v.counts_.push_back(c);
  }
  return v;
}

Vocabulary Vocabulary::from_words(const std::vector<std::string>& words,
                                  const std::vector<uint64_t>& counts) {
  if (words.size() != counts.size())
    throw std::invalid_argument("vocabulary: words and counts differ in size");
  if (words.size() + 2 > kMaxSize) throw std::invalid_argument("vocabulary: more than 65536 entries");
  Vocabulary v;
  for (size_t i = 0; i < words.size(); ++i) {
    const auto& w = words[i];
    if (w.empty() || w.find_first_of("\t\n") != std::string::npos)
      throw std::invalid_argument("vocabulary: word " + std::to_string(i + 1) + " is empty or holds a tab");
    if (!v.ids_.emplace(w, static_cast<int32_t>(v.words_.size())).second)
      throw std::invalid_argument("vocabulary: duplicate or reserved word '" + w + "'");
    v.words_.push_back(w);
    v.counts_.push_back(counts[i]);
  }
  return v;
}

Vocabulary Vocabulary::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open vocabulary file");
  return parse(in, path);
}

Vocabulary Vocabulary::from_text(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  return parse(in, origin);
}

Vocabulary Vocabulary::parse(std::istream& in, const std::string& path) {
  Vocabulary v;
  std::string line;
  int lineno = 0;
  auto fail = [&](const std::string& why) {
    throw std::runtime_error(path + ":" + std::to_string(lineno) + ": " + why);
  };
  if (!std::getline(in, line) || (++lineno, line != "# vatt vocabulary v1"))
    fail("expected the header '# vatt vocabulary v1'");
  while (std::getline(in, line)) {
    ++lineno;
    auto tab = line.find('\t');
    if (tab == std::string::npos || tab == 0) fail("expected WORD<TAB>COUNT");
    std::string w = line.substr(0, tab);
    uint64_t c = 0;
    try {
      size_t used = 0;
      const std::string count = line.substr(tab + 1);
      if (count.empty() || !std::isdigit(static_cast<unsigned char>(count[0])))
        throw std::invalid_argument("not a number");  // stoull would wrap a leading '-' around
      c = std::stoull(count, &used);
      if (used != line.size() - tab - 1) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      fail("count of '" + w + "' is not a non-negative integer");
    }
    if (v.ids_.count(w)) fail("duplicate word '" + w + "'");
    if (v.words_.size() >= kMaxSize) fail("more than 65536 entries");
    v.ids_[w] = static_cast<int32_t>(v.words_.size());
    v.words_.push_back(w);
    v.counts_.push_back(c);
  }
  return v;
}

std::string Vocabulary::to_text() const {
  std::ostringstream out;
  out << "# vatt vocabulary v1\n";
  for (size_t i = 2; i < words_.size(); ++i) out << words_[i] << '\t' << counts_[i] << '\n';
  return out.str();
}

void Vocabulary::save(const std::string& path) const {
  // A temporary name of this process and call: data-parallel workers build the same vocabulary and save it
  // to the same path at once (a shared ".tmp" made the slower one's rename fail); the last rename wins, and
  // every one of them is the whole file.
  static std::atomic<uint64_t> calls{0};
  const std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(calls.fetch_add(1));
  {
    std::ofstream out(tmp);
    out << to_text();
    if (!out) throw std::runtime_error(tmp + ": cannot write vocabulary");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": cannot replace vocabulary");
  }
}

int32_t Vocabulary::id(const std::string& word) const {
  auto it = ids_.find(word);
  return it == ids_.end() ? kUnk : it->second;
}

const std::string& Vocabulary::word(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= words_.size()) throw std::out_of_range("word id out of range");
  return words_[static_cast<size_t>(id)];
}

std::vector<int32_t> Vocabulary::encode(std::string_view text, size_t max_words) const {
  std::vector<int32_t> ids(max_words, kPad);
  auto words = normalise_words(text);
  for (size_t i = 0; i < std::min(max_words, words.size()); ++i) ids[i] = id(words[i]);
  return ids;
}

}  // namespace vatt::nodes
