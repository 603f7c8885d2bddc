// vatt vocab build / show: the word vocabulary, from a clip store's texts or from the subtitle
// files of a folder of videos.
#include <cstdio>

#include "nodes/train/vocab_build.h"
#include "storage/clip_store.h"
#include "tools/vatt/cli_common.h"

namespace vatt::cli {

int cmd_vocab(const Args& args) {
  po::options_description opts("vatt vocab options");
  std::string action, db, uri, out, file;
  size_t max_size = nodes::Vocabulary::kMaxSize;
  uint64_t min_count = 1;
  int top = 20;
  opts.add_options()                                                                                  //
      ("db", po::value(&db), "build from the texts of this clip store")                               //
      ("uri", po::value(&uri), "build from the .srt/.vtt transcripts under this folder (recursive)")  //
      ("out", po::value(&out), "vocabulary file to write")                                            //
      ("max-size", po::value(&max_size), "most entries, <pad> and <unk> included (<= 65536)")         //
      ("min-count", po::value(&min_count), "drop words seen fewer times")                             //
      ("top", po::value(&top), "show: how many of the most frequent words to print");
  po::options_description hidden;
  hidden.add_options()("action", po::value(&action)->required(), "build or show")("file", po::value(&file),
                                                                                  "file");
  po::positional_options_description pos;
  pos.add("action", 1).add("file", 1);
  po::variables_map vm;
  if (auto rc = parse_args(
          args,
          "usage: vatt vocab build (--db STORE | --uri DIR) --out FILE [--max-size N] [--min-count N]\n"
          "       vatt vocab show FILE [--top N]\n"
          "Builds the word vocabulary (<pad>=0, <unk>=1, at most 2^16 words, most frequent "
          "first).",
          opts, pos, vm, hidden))
    return *rc;
  try {
    if (action == "show") {
      if (file.empty()) throw std::invalid_argument("vocab show needs a FILE");
      auto v = nodes::Vocabulary::load(file);
      std::printf("%s: %zu entries\n", file.c_str(), v.size());
      for (int32_t i = 0; i < static_cast<int32_t>(v.size()) && i < top + 2; ++i)
        std::printf("%6d  %s\n", i, v.word(i).c_str());
      return 0;
    }
    if (action != "build")
      throw std::invalid_argument("unknown action '" + action + "'; expected build or show");
    if (out.empty() || db.empty() == uri.empty())
      throw std::invalid_argument("vocab build needs --out and exactly one of --db or --uri");
    if (!db.empty() && !storage::ClipStore::exists_at(db))
      throw std::invalid_argument(db + ": not a clip store");
    nodes::VocabBuildStats stats;
    auto v = nodes::build_vocabulary(
        db.empty() ? uri : db, max_size, min_count, &stats,
        [](const std::string& why) { std::fprintf(stderr, "vatt vocab: skipped %s\n", why.c_str()); });
    v.save(out);
    std::printf("%s: %zu entries from %zu text segments (%zu distinct words seen)\n", out.c_str(), v.size(),
                stats.texts, stats.distinct_words);
    if (stats.texts == 0)
      std::fprintf(stderr, "vatt vocab: warning: no text found; the vocabulary has only <pad> and <unk>\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vatt vocab: %s\n", e.what());
    return dynamic_cast<const std::invalid_argument*>(&e) ? 2 : 1;
  }
  return 0;
}

}  // namespace vatt::cli
