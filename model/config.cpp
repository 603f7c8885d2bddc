// Named VATT configurations and the name=value override table. One table lists every field once, so
// overriding, printing and the "known fields" error message can never disagree.
#include "model/config.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace vatt::model {
namespace {

enum class Kind { kInt, kDouble, kBool, kChoice };

/// kChoice fields point at an enum class with int as its underlying type; `choices[i]` names value i.
struct Field {
  std::string name;
  Kind kind;
  void* ptr;
  std::vector<std::string> choices = {};
};

// The table is built over a given config so that one definition serves reading and writing.
std::vector<Field> field_table(ModelConfig& c) {
  std::vector<Field> f;
  auto backbone = [&f](const std::string& prefix, BackboneConfig& b) {
    f.push_back({prefix + ".layers", Kind::kInt, &b.layers});
    f.push_back({prefix + ".hidden", Kind::kInt, &b.hidden});
    f.push_back({prefix + ".mlp", Kind::kInt, &b.mlp});
    f.push_back({prefix + ".heads", Kind::kInt, &b.heads});
  };
  backbone("video", c.video);
  backbone("audio", c.audio);
  backbone("text", c.text);
  f.push_back({"modality_agnostic", Kind::kBool, &c.modality_agnostic});
  backbone("shared", c.shared);
  f.push_back({"post_proj_dim", Kind::kInt, &c.post_proj_dim});
  f.push_back({"frames", Kind::kInt, &c.frames});
  f.push_back({"crop", Kind::kInt, &c.crop});
  f.push_back({"patch_t", Kind::kInt, &c.patch_t});
  f.push_back({"patch_hw", Kind::kInt, &c.patch_hw});
  f.push_back({"audio_samples", Kind::kInt, &c.audio_samples});
  f.push_back({"audio_patch", Kind::kInt, &c.audio_patch});
  f.push_back({"text_words", Kind::kInt, &c.text_words});
  f.push_back({"text_candidates", Kind::kInt, &c.text_candidates});
  f.push_back({"vocab_size", Kind::kInt, &c.vocab_size});
  f.push_back({"word_dim", Kind::kInt, &c.word_dim});
  f.push_back({"dropout", Kind::kDouble, &c.dropout});
  f.push_back({"dropout.attention", Kind::kBool, &c.attention_dropout});
  f.push_back({"dropout.output", Kind::kBool, &c.output_dropout});
  f.push_back({"init", Kind::kChoice, &c.init, {"official", "torch"}});
  f.push_back({"ln_eps", Kind::kDouble, &c.ln_eps});
  f.push_back({"droptoken.video", Kind::kDouble, &c.droptoken_video});
  f.push_back({"droptoken.audio", Kind::kDouble, &c.droptoken_audio});
  f.push_back({"droptoken.mode", Kind::kChoice, &c.droptoken_mode, {"shared", "per_sample"}});
  f.push_back({"droptoken.count", Kind::kChoice, &c.droptoken_count, {"tokens", "table"}});
  f.push_back({"rel_buckets", Kind::kInt, &c.rel_buckets});
  f.push_back({"rel_max_distance", Kind::kInt, &c.rel_max_distance});
  f.push_back({"head_va_dim", Kind::kInt, &c.head_va_dim});
  f.push_back({"head_vt_dim", Kind::kInt, &c.head_vt_dim});
  f.push_back({"bn_momentum", Kind::kDouble, &c.bn_momentum});
  f.push_back({"bn_eps", Kind::kDouble, &c.bn_eps});
  f.push_back({"temperature", Kind::kDouble, &c.temperature});
  f.push_back({"lambda", Kind::kDouble, &c.mil_nce_lambda});
  f.push_back({"lr.schedule", Kind::kChoice, &c.optim.schedule, {"code", "paper"}});
  f.push_back({"lr.peak", Kind::kDouble, &c.optim.peak_lr});
  f.push_back({"lr.end", Kind::kDouble, &c.optim.end_lr});
  f.push_back({"lr.warmup_steps", Kind::kInt, &c.optim.warmup_steps});
  f.push_back({"lr.total_steps", Kind::kInt, &c.optim.total_steps});
  f.push_back({"adam.beta1", Kind::kDouble, &c.optim.beta1});
  f.push_back({"adam.beta2", Kind::kDouble, &c.optim.beta2});
  f.push_back({"adam.eps", Kind::kDouble, &c.optim.eps});
  f.push_back({"adam.weight_decay", Kind::kDouble, &c.optim.weight_decay});
  return f;
}

std::string format_double(double v) {
  // Short where that is exact (0.07, not 0.070000000000000007), 17 digits where it is not, so that a
  // config printed into a checkpoint parses back to the same bits.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string field_value(const Field& f) {
  switch (f.kind) {
    case Kind::kInt:
      return std::to_string(*static_cast<int64_t*>(f.ptr));
    case Kind::kDouble:
      return format_double(*static_cast<double*>(f.ptr));
    case Kind::kBool:
      return *static_cast<bool*>(f.ptr) ? "true" : "false";
    case Kind::kChoice:
      return f.choices.at(static_cast<size_t>(*static_cast<int*>(f.ptr)));
  }
  return "";
}

[[noreturn]] void bad_value(const std::string& field, const std::string& value, const std::string& expected) {
  throw std::invalid_argument("config field '" + field + "': cannot parse '" + value + "' as " + expected);
}

void set_field(const Field& f, const std::string& value) {
  try {
    size_t used = 0;
    switch (f.kind) {
      case Kind::kInt: {
        const long long v = std::stoll(value, &used);
        if (used != value.size()) bad_value(f.name, value, "an integer");
        *static_cast<int64_t*>(f.ptr) = v;
        return;
      }
      case Kind::kDouble: {
        const double v = std::stod(value, &used);
        if (used != value.size() || !std::isfinite(v)) bad_value(f.name, value, "a finite number");
        *static_cast<double*>(f.ptr) = v;
        return;
      }
      case Kind::kBool:
        if (value == "true" || value == "1") {
          *static_cast<bool*>(f.ptr) = true;
        } else if (value == "false" || value == "0") {
          *static_cast<bool*>(f.ptr) = false;
        } else {
          bad_value(f.name, value, "true/false");
        }
        return;
      case Kind::kChoice: {
        std::string expected;
        for (size_t i = 0; i < f.choices.size(); ++i) {
          if (f.choices[i] == value) {
            *static_cast<int*>(f.ptr) = static_cast<int>(i);
            return;
          }
          expected += (i == 0 ? "" : i + 1 == f.choices.size() ? " or " : ", ") + f.choices[i];
        }
        bad_value(f.name, value, expected);
      }
    }
  } catch (const std::invalid_argument& e) {
    // std::stoll/stod throw a bare invalid_argument("stoll"); turn it into one that names the field.
    if (std::string(e.what()).rfind("config field", 0) == 0) throw;
    bad_value(f.name, value, f.kind == Kind::kInt ? "an integer" : "a number");
  } catch (const std::out_of_range&) {
    bad_value(f.name, value, "a value in range");
  }
}

ModelConfig tiny_config() {
  ModelConfig c;
  c.name = "tiny";
  const BackboneConfig tiny{2, 64, 128, 2};
  c.video = c.audio = c.text = c.shared = tiny;
  c.post_proj_dim = 64;
  c.frames = 8;
  c.crop = 32;
  c.audio_samples = 4096;
  c.vocab_size = 100;
  c.word_dim = 16;
  c.head_va_dim = 32;
  c.head_vt_dim = 16;
  c.optim.warmup_steps = 10;
  c.optim.total_steps = 100;
  return c;
}

bool is_size_letter(char ch) {
  return ch == 's' || ch == 'b' || ch == 'm' || ch == 'l';
}

}  // namespace

BackboneConfig backbone_size(char letter) {
  switch (letter) {
    case 's':
      return {6, 512, 2048, 8};
    case 'b':
      return {12, 768, 3072, 12};
    case 'm':
      return {12, 1024, 4096, 16};
    case 'l':
      return {24, 1024, 4096, 16};
    default:
      throw std::invalid_argument(std::string("unknown backbone size '") + letter +
                                  "': expected s, b, m or l");
  }
}

std::vector<std::string> named_configs() {
  std::vector<std::string> names;
  const char letters[] = {'s', 'b', 'm', 'l'};
  for (char v : letters)
    for (char a : letters)
      for (char t : letters) names.push_back(std::string{v, a, t});
  for (const char* s : {"ma-small", "ma-base", "ma-medium", "ma-large"}) names.emplace_back(s);
  names.emplace_back("tiny");
  return names;
}

void apply_override(ModelConfig& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("config override '" + assignment + "': expected name=value");
  const std::string name = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  const auto fields = field_table(config);
  for (const auto& f : fields) {
    if (f.name == name) {
      set_field(f, value);
      return;
    }
  }
  std::string known;
  for (const auto& f : fields) known += (known.empty() ? "" : ", ") + f.name;
  throw std::invalid_argument("unknown config field '" + name + "'; known fields: " + known);
}

std::vector<std::pair<std::string, std::string>> config_fields(const ModelConfig& config) {
  ModelConfig copy = config;  // the table takes mutable pointers; reading through a copy keeps this const
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : field_table(copy)) out.emplace_back(f.name, field_value(f));
  return out;
}

ModelConfig make_config(const std::string& name, const std::vector<std::string>& overrides) {
  ModelConfig c;
  if (name == "tiny") {
    c = tiny_config();
  } else if (name.rfind("ma-", 0) == 0) {
    const std::string size = name.substr(3);
    char letter = 0;
    if (size == "small") letter = 's';
    if (size == "base") letter = 'b';
    if (size == "medium") letter = 'm';
    if (size == "large") letter = 'l';
    if (!letter)
      throw std::invalid_argument("unknown VATT-MA size '" + size +
                                  "': expected small, base, medium or large");
    c.modality_agnostic = true;
    c.shared = backbone_size(letter);
    // The released code's post-projection is 1024 wide; Small keeps its hidden width.
    c.post_proj_dim = letter == 's' ? c.shared.hidden : 1024;
  } else if (name.size() == 3 && is_size_letter(name[0]) && is_size_letter(name[1]) &&
             is_size_letter(name[2])) {
    c.video = backbone_size(name[0]);
    c.audio = backbone_size(name[1]);
    c.text = backbone_size(name[2]);
  } else {
    throw std::invalid_argument("unknown model config '" + name +
                                "': expected three letters from s/b/m/l (video, audio, text; e.g. mbs), "
                                "ma-small|ma-base|ma-medium|ma-large, or tiny");
  }
  c.name = name;
  for (const auto& o : overrides) apply_override(c, o);
  c.validate();
  return c;
}

void ModelConfig::validate() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("invalid model config: " + what);
  };
  auto check_backbone = [&](const std::string& n, const BackboneConfig& b) {
    require(b.layers >= 1, n + ".layers must be >= 1");
    require(b.hidden >= 1 && b.mlp >= 1 && b.heads >= 1, n + ".hidden, .mlp and .heads must be >= 1");
    require(b.hidden % b.heads == 0, n + ".hidden (" + std::to_string(b.hidden) + ") must be divisible by " +
                                         n + ".heads (" + std::to_string(b.heads) + ")");
  };
  if (modality_agnostic) {
    check_backbone("shared", shared);
    require(post_proj_dim >= 1, "post_proj_dim must be >= 1");
  } else {
    check_backbone("video", video);
    check_backbone("audio", audio);
    check_backbone("text", text);
  }
  require(patch_t >= 1 && patch_hw >= 1 && audio_patch >= 1, "patch sizes must be >= 1");
  require(frames >= patch_t && frames % patch_t == 0, "frames must be a positive multiple of patch_t");
  require(crop >= patch_hw && crop % patch_hw == 0, "crop must be a positive multiple of patch_hw");
  require(audio_samples >= audio_patch && audio_samples % audio_patch == 0,
          "audio_samples must be a positive multiple of audio_patch");
  require(text_words >= 1 && text_candidates >= 1, "text_words and text_candidates must be >= 1");
  require(vocab_size >= 2, "vocab_size must be >= 2 (0 = <pad>, 1 = <unk>)");
  require(word_dim >= 1, "word_dim must be >= 1");
  require(dropout >= 0 && dropout < 1, "dropout must be in [0, 1)");
  require(ln_eps > 0, "ln_eps must be > 0");
  require(droptoken_video >= 0 && droptoken_video < 1, "droptoken.video must be in [0, 1)");
  require(droptoken_audio >= 0 && droptoken_audio < 1, "droptoken.audio must be in [0, 1)");
  require(rel_buckets >= 4 && rel_buckets % 4 == 0, "rel_buckets must be a positive multiple of 4");
  require(rel_max_distance > rel_buckets / 4, "rel_max_distance must exceed the exact range rel_buckets/4");
  require(head_va_dim >= 1 && head_vt_dim >= 1, "head dims must be >= 1");
  require(bn_momentum > 0 && bn_momentum <= 1 && bn_eps > 0, "bn_momentum must be in (0, 1], bn_eps > 0");
  require(temperature > 0, "temperature must be > 0");
  require(mil_nce_lambda >= 0, "lambda must be >= 0");
  require(optim.warmup_steps >= 0 && optim.total_steps > optim.warmup_steps,
          "lr.total_steps must exceed lr.warmup_steps >= 0");
  require(optim.peak_lr >= 0 && optim.end_lr >= 0, "learning rates must be >= 0");
}

}  // namespace vatt::model
