// `tokenise`: the text of each clip as vocabulary ids: its own aligned text plus the 4 nearest segments
// in time (the MIL-NCE candidates, already chosen by the source), each normalised and clipped/padded to 16
// words; missing candidates repeat the clip's own text; a clip without text gets all-zero ids and has_text =
// false. When the vocabulary file does not exist and `build_from` names a corpus (a folder of videos with
// transcripts, or a clip store), it is built from there first (and saved), so training from a folder needs no
// separate `vatt vocab build`. With `word_vectors` the vocabulary is the vectors file's instead (train_vatt
// then copies the vectors into the word embedding); transcript words it lacks become <unk>, counted in the log.
//
//   --in(clip)--> tokenise --out(tokenised_clip)-->
#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <memory>

#include "nodes/media/clip.h"
#include "nodes/register_all.h"
#include "nodes/train/train_clip.h"
#include "nodes/train/vocab.h"
#include "nodes/train/vocab_build.h"

namespace vatt::nodes {
namespace {

constexpr pipeline::Output<TokenisedClip> kOut{0};  // outputs[0], `out`, of the contract below

class TokeniseNode final : public pipeline::Node {
 public:
  explicit TokeniseNode(const pipeline::NodeConfig& cfg)
      : path_(cfg.options.get_string("vocab")),
        build_from_(cfg.options.get_string("build_from")),
        max_size_(static_cast<size_t>(cfg.options.get_int("max_size"))),
        min_count_(static_cast<uint64_t>(cfg.options.get_int("min_count"))),
        word_vectors_(cfg.options.get_string("word_vectors")),
        corpus_order_(cfg.options.get_string("vectors_order") == "corpus") {}

  void open() override {
    std::error_code ec;
    if (!word_vectors_.empty() && !std::filesystem::exists(path_, ec)) {
      // The vocabulary of the vectors (the paper's fixed word2vec vocabulary); the corpus only says what it
      // lacks (and, with vectors_order: corpus, which words come first).
      std::map<std::string, uint64_t> corpus;
      if (!build_from_.empty())
        corpus = count_corpus_words(build_from_, nullptr, [](const std::string& why) {
          spdlog::warn("tokenise: vocabulary: skipped {}", why);
        });
      VectorVocabStats st;
      auto v = vocabulary_from_vectors(word_vectors_, corpus, corpus_order_, max_size_, &st);
      save(v);
      spdlog::info("tokenise: vocabulary {} from the word vectors {} ({} order): {} entries", path_,
                   word_vectors_, corpus_order_ ? "corpus" : "file", v.size());
      if (!build_from_.empty())
        spdlog::info(
            "tokenise: {} of {} word occurrences in {} ({} of {} distinct words) have no vector and "
            "become <unk>",
            st.unknown_words, st.corpus_words, build_from_, st.unknown_distinct, st.corpus_distinct);
      vocab_ = std::make_shared<const Vocabulary>(std::move(v));
      return;
    }
    if (!build_from_.empty() && !std::filesystem::exists(path_, ec)) {
      VocabBuildStats st;
      auto v = build_vocabulary(build_from_, max_size_, min_count_, &st, [](const std::string& why) {
        spdlog::warn("tokenise: vocabulary: skipped {}", why);
      });
      if (st.texts == 0)
        throw std::runtime_error("tokenise: no transcript text under " + build_from_ +
                                 " to build the vocabulary " + path_ + " from");
      save(v);
      spdlog::info("tokenise: built vocabulary {} from {}: {} entries from {} text segments", path_,
                   build_from_, v.size(), st.texts);
      vocab_ = std::make_shared<const Vocabulary>(std::move(v));
      return;
    }
    vocab_ = std::make_shared<const Vocabulary>(Vocabulary::load(path_));
  }

  void save(const Vocabulary& v) const {
    const auto parent = std::filesystem::path(path_).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    v.save(path_);
  }

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    auto clip = in.shared<Clip>();
    TokenisedClip t;
    t.clip = clip;
    t.text_ids.assign(TokenisedClip::kCandidates * TokenisedClip::kWords, Vocabulary::kPad);
    bool any = false;
    for (int k = 0; k < TokenisedClip::kCandidates; ++k) {
      if (clip->text.empty()) break;
      // Fewer than 5 segments in the video: repeat the clip's own text (a positive, never a foreign one).
      const auto& seg = clip->text[static_cast<size_t>(k) < clip->text.size() ? static_cast<size_t>(k) : 0];
      auto ids = vocab_->encode(seg.text, TokenisedClip::kWords);
      std::copy(ids.begin(), ids.end(), t.text_ids.begin() + k * TokenisedClip::kWords);
      if (k == 0) any = ids[0] != Vocabulary::kPad;
    }
    t.has_text = any;
    if (!any) std::fill(t.text_ids.begin(), t.text_ids.end(), Vocabulary::kPad);
    out.send(kOut, in.key(), std::move(t));
  }

 private:
  std::string path_, build_from_;
  size_t max_size_;
  uint64_t min_count_;
  std::string word_vectors_;
  bool corpus_order_;
  std::shared_ptr<const Vocabulary> vocab_;
};

}  // namespace

void register_tokenise(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "tokenise";
  c.doc = "clip text -> [5,16] vocabulary ids (own text + 4 nearest segments) and a text mask";
  c.inputs = {{"in", "clip", "clips with aligned text"}};
  c.outputs = {{"out", "tokenised_clip", "the clip with its text ids"}};
  c.max_concurrency = 0;
  c.options = {
      pipeline::required_option(
          "vocab", pipeline::OptionType::String,
          "vocabulary file (written by `vatt vocab build`, or built here from build_from)"),
      pipeline::string_option(
          "build_from", "",
          "when the vocabulary file does not exist: build it from the transcripts of this "
          "folder of videos or clip store; empty = the file must exist"),
      pipeline::int_option("max_size", static_cast<int64_t>(Vocabulary::kMaxSize),
                           "build_from: most entries, <pad> and <unk> included", 3,
                           static_cast<int64_t>(Vocabulary::kMaxSize)),
      pipeline::int_option("min_count", 1, "build_from: drop words seen fewer times", 1),
      pipeline::string_option("word_vectors", "",
                              "when the vocabulary file does not exist: take it from this word-vector file "
                              "(word2vec text/binary, GloVe; give train_vatt the same file); build_from then "
                              "only counts what the transcripts lack"),
      pipeline::string_option("vectors_order", "file",
                              "word_vectors: which words make the cut at max_size: file (the file's order, "
                              "most frequent first in word2vec/GloVe) or corpus (the transcripts' most "
                              "frequent first)",
                              {"file", "corpus"}),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<TokeniseNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
