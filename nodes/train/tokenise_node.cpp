// `tokenise`: SPEC §1 text of each clip as vocabulary ids: its own aligned text plus the 4 nearest segments
// in time (the MIL-NCE candidates, already chosen by the source), each normalised and clipped/padded to 16
// words; missing candidates repeat the clip's own text; a clip without text gets all-zero ids and has_text =
// false.
//
//   --in(clip)--> tokenise --out(tokenised_clip)-->
#include <memory>

#include "nodes/media/clip.h"
#include "nodes/register_all.h"
#include "nodes/train/train_clip.h"
#include "nodes/train/vocab.h"

namespace vatt::nodes {
namespace {

class TokeniseNode final : public pipeline::Node {
 public:
  explicit TokeniseNode(const pipeline::NodeConfig& cfg) : path_(cfg.options.get_string("vocab")) {}

  void open() override { vocab_ = std::make_unique<Vocabulary>(Vocabulary::load(path_)); }

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
    out.emit(0, pipeline::Message::make(in.key(), std::move(t)));
  }

 private:
  std::string path_;
  std::unique_ptr<Vocabulary> vocab_;
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
      pipeline::required_option("vocab", pipeline::OptionType::String,
                                "vocabulary file written by `vatt vocab build`"),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<TokeniseNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
