// Vocabulary from a clip store's texts or a folder's transcripts.
#include "nodes/train/vocab_build.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include "model/word_vectors.h"
#include "nodes/media/datasets.h"
#include "nodes/media/subtitles.h"
#include "storage/clip_store.h"

namespace vatt::nodes {

namespace fs = std::filesystem;

std::map<std::string, uint64_t> count_corpus_words(const std::string& uri, VocabBuildStats* stats,
                                                   const std::function<void(const std::string&)>& on_skip) {
  std::map<std::string, uint64_t> counts;
  VocabBuildStats st;
  auto count = [&](const std::string& text) {
    for (auto& w : normalise_words(text)) counts[w]++;
    ++st.texts;
  };
  if (storage::ClipStore::exists_at(uri)) {
    auto store = storage::ClipStore::open_shared(uri, storage::Access::ReadOnly);  // a writer may hold it
    // Each clip carries its own text and its neighbours': count every distinct segment of a source once.
    std::set<std::tuple<uint64_t, int64_t, int64_t, std::string>> seen;
    store->scan(std::nullopt, [&](const storage::ClipRecord& c) {
      for (const auto& t : c.text)
        if (seen.emplace(c.source_id, t.start_us, t.end_us, t.text).second) count(t.text);
      return true;
    });
  } else {
    std::error_code ec;
    std::vector<fs::path> files;
    const std::string path = uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
    auto ext = [](const fs::path& p) { return p.extension().string(); };
    if (fs::is_directory(path, ec)) {
      for (const auto& e : fs::recursive_directory_iterator(path))
        if (e.is_regular_file() && (ext(e.path()) == ".srt" || ext(e.path()) == ".vtt"))
          files.push_back(e.path());
    } else if (fs::is_regular_file(path, ec) && (ext(path) == ".txt" || ext(path) == ".list")) {
      // A list of media files (video_source's list format): the transcripts beside them.
      for (const auto& media : read_media_list(path))
        if (media.find("://") == std::string::npos)
          if (auto subs = find_subtitles(media); !subs.empty()) files.emplace_back(subs);
    } else if (fs::is_regular_file(path, ec)) {
      if (auto subs = find_subtitles(path); !subs.empty()) files.emplace_back(subs);
    } else {
      throw std::invalid_argument(
          uri + ": not a folder, list file or media file with transcripts, nor a clip store");
    }
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
    for (const auto& f : files) {
      try {
        for (const auto& seg : load_subtitles(f.string())) count(seg.text);
      } catch (const std::exception& bad) {  // one bad transcript is reported and skipped, the rest counts
        ++st.skipped_files;
        if (on_skip) on_skip(bad.what());
      }
    }
  }
  st.distinct_words = counts.size();
  if (stats) *stats = st;
  return counts;
}

Vocabulary build_vocabulary(const std::string& uri, size_t max_size, uint64_t min_count,
                            VocabBuildStats* stats, const std::function<void(const std::string&)>& on_skip) {
  return Vocabulary::build(count_corpus_words(uri, stats, on_skip), max_size, min_count);
}

Vocabulary vocabulary_from_vectors(const std::string& vectors, const std::map<std::string, uint64_t>& corpus,
                                   bool corpus_order, size_t max_size, VectorVocabStats* stats) {
  if (max_size < 3 || max_size > Vocabulary::kMaxSize)
    throw std::invalid_argument("vocabulary size must be in [3, 65536]");
  const size_t room = max_size - 2;  // <pad> and <unk> come first
  auto file_words = model::word_vector_words(vectors, corpus_order ? SIZE_MAX : room);
  if (file_words.empty()) throw std::runtime_error(vectors + ": no word vectors in the file");
  std::vector<std::string> words;
  if (corpus_order) {
    // The corpus's words that have a vector, most frequent first (ties in file order), then the file's others.
    std::vector<std::pair<uint64_t, size_t>> ranked;
    for (size_t i = 0; i < file_words.size(); ++i)
      if (auto it = corpus.find(file_words[i]); it != corpus.end()) ranked.emplace_back(it->second, i);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<uint8_t> taken(file_words.size(), 0);
    for (const auto& [count, i] : ranked) {
      if (words.size() >= room) break;
      words.push_back(file_words[i]);
      taken[i] = 1;
    }
    for (size_t i = 0; i < file_words.size() && words.size() < room; ++i)
      if (!taken[i]) words.push_back(file_words[i]);
  } else {
    words = std::move(file_words);
  }
  std::vector<uint64_t> counts;
  counts.reserve(words.size());
  for (const auto& w : words) {
    auto it = corpus.find(w);
    counts.push_back(it == corpus.end() ? 0 : it->second);
  }
  Vocabulary v = Vocabulary::from_words(words, counts);
  if (stats) {
    *stats = {};
    stats->words = v.size();
    for (const auto& [w, c] : corpus) {
      stats->corpus_words += c;
      ++stats->corpus_distinct;
      if (v.id(w) == Vocabulary::kUnk) {
        stats->unknown_words += c;
        ++stats->unknown_distinct;
      }
    }
  }
  return v;
}

}  // namespace vatt::nodes
