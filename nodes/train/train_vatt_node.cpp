// `train_vatt`: the pretraining step as a graph sink. Each batch of tokenised clips becomes one optimiser
// step (model/trainer.h: forward, symmetric NCE + MIL-NCE, backward, scheduled Adam, bf16 where fast);
// checkpoints every N steps and at the end, resume from the latest one (the step counter and data cursor
// continue); a NaN/Inf loss skips the step and is counted, K in a row fail the run with a clear message.
//
//   --in(batch of tokenised_clip)--> train_vatt
//                                    --errors-->  (batches that do not fit the model: shapes named)
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "model/trainer.h"
#include "model/word_vectors.h"
#include "nodes/register_all.h"
#include "nodes/train/eval_input.h"
#include "nodes/train/train_clip.h"
#include "nodes/train/vocab.h"
#include "pipeline/services.h"

namespace vatt::nodes {
namespace {

using Clock = std::chrono::steady_clock;

class TrainNode final : public pipeline::Node {
 public:
  explicit TrainNode(const pipeline::NodeConfig& cfg) {
    const auto& o = cfg.options;
    opts_.config = o.get_string("config");
    // The schedule first, so that a `set` entry can still override it.
    opts_.overrides = {"lr.schedule=" + o.get_string("schedule")};
    for (const auto& s : o.get_list("set")) opts_.overrides.push_back(s);
    const double drop = o.get_float("droptoken"), drop_v = o.get_float("droptoken_video"),
                 drop_a = o.get_float("droptoken_audio");
    opts_.overrides.push_back("droptoken.video=" + std::to_string(drop_v >= 0 ? drop_v : drop));
    opts_.overrides.push_back("droptoken.audio=" + std::to_string(drop_a >= 0 ? drop_a : drop));
    if (o.get_int("frames") > 0) opts_.overrides.push_back("frames=" + std::to_string(o.get_int("frames")));
    if (o.get_int("crop") > 0) opts_.overrides.push_back("crop=" + std::to_string(o.get_int("crop")));
    if (o.get_int("audio_samples") > 0)
      opts_.overrides.push_back("audio_samples=" + std::to_string(o.get_int("audio_samples")));
    vocab_size_ = o.get_int("vocab_size");
    opts_.word_vectors = o.get_string("word_vectors");
    opts_.freeze_words = o.get_bool("freeze_words");
    vocab_path_ = o.get_string("vocab");
    opts_.steps = o.get_int("steps");
    opts_.warmup = o.get_int("warmup");
    opts_.lr = o.get_float("lr");
    opts_.lr_end = o.get_float("lr_end");
    opts_.precision = o.get_string("precision");
    opts_.device = o.get_string("device");
    opts_.threads = static_cast<int>(o.get_int("threads"));
    opts_.checkpoint_dir = o.get_string("checkpoint_dir");
    opts_.checkpoint_every = o.get_int("checkpoint_every");
    opts_.max_bad_steps = static_cast<int>(o.get_int("max_bad_steps"));
    opts_.seed = static_cast<uint64_t>(o.get_int("seed"));
    opts_.audio_noise = o.get_float("audio_noise");
    opts_.hard_negatives = o.get_int("hard_negatives");
    opts_.negatives_memory = o.get_int("negatives_memory");
    log_every_ = o.get_int("log_every");
    services_ = cfg.services;
    const auto& w = cfg.worker;
    opts_.rank = w.rank;
    opts_.world_size = w.world_size;
    opts_.master_addr = w.master_addr;
    opts_.master_port = w.master_port;
  }

  void open() override {
    start_ = Clock::now();
    // The vocabulary is a file the graph names (tokenise's, opened before this node: nodes open sources
    // first, so a vocabulary tokenise builds exists by now), not something each clip carries.
    if (!vocab_path_.empty()) {
      std::error_code ec;
      if (!std::filesystem::exists(vocab_path_, ec))
        throw std::runtime_error("vocab " + vocab_path_ +
                                 ": no such file (tokenise writes it; give both nodes "
                                 "the same path, e.g. vocab: \"${tok.vocab}\")");
      vocab_ = std::make_shared<const Vocabulary>(Vocabulary::load(vocab_path_));
    }
    start(vocab_size_ > 0 ? vocab_size_ : vocab_ ? static_cast<int64_t>(vocab_->size()) : 0);
  }

  // Builds the model (and joins the process group, resumes), its word embedding sized by `vocab_size` (0: the
  // config's).
  void start(int64_t vocab_size) {
    auto o = opts_;
    if (vocab_size > 0) o.overrides.push_back("vocab_size=" + std::to_string(vocab_size));
    if (!o.word_vectors.empty()) {
      if (!vocab_)
        throw std::runtime_error(
            "word_vectors needs the vocabulary: give vocab (tokenise's, with the same "
            "word_vectors)");
      const auto format = model::inspect_word_vectors(o.word_vectors);
      o.overrides.push_back("word_dim=" +
                            std::to_string(format.dim));  // the embedding is as wide as the file
      const int64_t rows = vocab_size > 0 ? vocab_size : static_cast<int64_t>(vocab_->size());
      o.vocab_words.assign(static_cast<size_t>(rows), std::string());  // rows past the vocabulary: no word
      for (size_t i = 0; i < vocab_->size() && i < o.vocab_words.size(); ++i)
        o.vocab_words[i] = vocab_->word(static_cast<int32_t>(i));
    }
    auto trainer = std::make_unique<model::Trainer>(o);
    {
      std::lock_guard<std::mutex> lk(mu_);
      trainer_ = std::move(trainer);
    }
    if (auto blob = trainer_->resume()) {
      resumed_at_ = trainer_->steps_done();
      skip_ = parse_cursor(*blob);
      resumed_batches_ = skip_;
      batches_seen_ = 0;
      if (resume_position_ != Clip::kNoPosition && opts_.world_size == 1 && services_) {
        // A clip-store reader starts at the position after the last trained clip: nothing is read twice.
        services_->publish(kResumePositionService, std::make_shared<uint64_t>(resume_position_));
        spdlog::info("train: resumed at step {} of {}; the data continues at read position {}",
                     trainer_->steps_done(), trainer_->total_steps(), resume_position_);
      } else {
        spdlog::info("train: resumed at step {} of {}; skipping the {} batches already trained on",
                     trainer_->steps_done(), trainer_->total_steps(), skip_);
      }
    }
    spdlog::info("train: {} parameters on {}{}, {} steps, vocabulary {}{}", trainer_->parameter_count(),
                 trainer_->device(), trainer_->bf16() ? " (bf16 autocast)" : " (fp32)",
                 trainer_->total_steps(), trainer_->vocab_size(),
                 opts_.world_size > 1
                     ? fmt::format(", worker {} of {} (data parallel)", opts_.rank, opts_.world_size)
                     : std::string());
    spdlog::info("train: {}", trainer_->schedule());
    open_steps_log();
    if (!o.word_vectors.empty() && trainer_->word_vectors_found() >= 0)
      spdlog::info("train: word embedding from {}: {} of {} vocabulary words have a vector{}", o.word_vectors,
                   trainer_->word_vectors_found(), o.vocab_words.size(),
                   o.freeze_words ? " (frozen)" : " (trained on)");
    else if (!o.word_vectors.empty())
      spdlog::info("train: word embedding from the checkpoint (from {}{})", o.word_vectors,
                   o.freeze_words ? ", frozen" : "");
  }

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    const auto arrived = Clock::now();
    if (have_last_) wait_s_ += std::chrono::duration<double>(arrived - last_end_).count();
    if (!done_ && trainer_ && trainer_->steps_done() >= trainer_->total_steps()) {
      // Resumed from a checkpoint of a finished run: nothing to train (and no extra step).
      done_ = true;
      saved_at_ = trainer_->steps_done();
      spdlog::info("train: the checkpoint in {} already has all {} steps; nothing to do",
                   opts_.checkpoint_dir, trainer_->total_steps());
      out.stop_run("already trained: " + std::to_string(trainer_->steps_done()) + " steps");
      return finish_call();
    }
    const auto& items = in.as<pipeline::Batch>().items;
    const uint64_t last = last_position(items);
    ++batches_seen_;
    if (batches_seen_ == 1 && resume_position_ != Clip::kNoPosition && last != Clip::kNoPosition) {
      // The reader knows positions: it started at resume_position_ (or, if it could not, the position
      // tells which batches were trained already). The batch count continues the checkpoint's.
      by_position_ = true;
      skip_ = 0;
      batches_seen_ = resumed_batches_ + 1;
    }
    if (by_position_ && last < resume_position_) return finish_call();
    if (skip_ > 0) {
      --skip_;
      return finish_call();
    }
    if (done_) return finish_call();
    if (last != Clip::kNoPosition) next_position_ = last + 1;  // this batch is consumed, trained or not
    model::HostBatch b;
    try {
      b = to_host(items);
      if (data_.is_null()) {
        const auto& t = items[0].as<TokenisedClip>();
        data_ = nlohmann::json::parse(describe_input(*t.clip, vocab_.get()));
      }
    } catch (const std::invalid_argument& e) {
      out.error("bad_batch", e.what());
      return finish_call();
    }
    model::TrainerStep s;
    try {
      s = trainer_->step(b);
    } catch (const std::invalid_argument& e) {
      out.error("bad_batch", e.what());
      return finish_call();
    } catch (const std::exception& e) {
      // K non-finite losses in a row, or a collective that failed (a data-parallel peer died): stop the run.
      fatal_ =
          std::string("training aborted at step ") + std::to_string(trainer_->steps_done()) + ": " + e.what();
      done_ = true;
      spdlog::error("train: {}", fatal_);
      out.fail_run(fatal_);
      return finish_call();
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      clips_ += static_cast<uint64_t>(b.batch);
      step_ms_sum_ += s.ms;
      ++steps_timed_;
      if (steps_timed_ == 1) {
        first_done_ = Clock::now();
      } else {
        steady_clips_ += static_cast<uint64_t>(b.batch);
      }
      if (!s.skipped) {
        loss_ = s.loss;
        nce_ = s.nce;
        mil_nce_ = s.mil_nce;
        lr_ = s.lr;
        grad_norm_ = s.grad_norm;
      }
    }
    const int64_t done = trainer_->steps_done();
    if (s.skipped) spdlog::warn("train: step {} skipped: loss is not finite", s.step);
    if (log_every_ > 0 && !s.skipped && (done % log_every_ == 0 || done == 1)) {
      spdlog::info(
          "train: step {}/{} loss {:.4f} (nce {:.4f}, mil-nce {:.4f}) lr {:.3g} grad-norm {:.3g} {:.0f} ms",
          done, trainer_->total_steps(), s.loss, s.nce, s.mil_nce, s.lr, s.grad_norm, s.ms);
      log_step(done, s);
    }
    if (opts_.checkpoint_every > 0 && done % opts_.checkpoint_every == 0 && !s.skipped) save();
    if (done >= trainer_->total_steps()) {
      done_ = true;
      save();
      out.stop_run("reached " + std::to_string(done) + " steps");
    }
    finish_call();
  }

  void flush(pipeline::Emitter&) override {
    if (trainer_ && saved_at_ != trainer_->steps_done() && fatal_.empty()) save();
  }

  std::optional<Progress> progress() const override {
    std::lock_guard<std::mutex> lk(mu_);
    if (!trainer_) return std::nullopt;
    return Progress{static_cast<uint64_t>(resumed_at_), static_cast<uint64_t>(trainer_->steps_done()),
                    static_cast<uint64_t>(trainer_->total_steps())};
  }

  std::map<std::string, double> gauges() const override {
    std::lock_guard<std::mutex> lk(mu_);
    std::map<std::string, double> g;
    if (!trainer_) return g;
    const double wall = std::chrono::duration<double>(Clock::now() - start_).count();
    g["step"] = static_cast<double>(trainer_->steps_done());
    g["loss"] = loss_;
    g["nce"] = nce_;
    g["mil_nce"] = mil_nce_;
    g["lr"] = lr_;
    g["grad_norm"] = grad_norm_;
    g["skipped_steps"] = static_cast<double>(trainer_->skipped_steps());
    g["clips_per_s"] = wall > 0 ? static_cast<double>(clips_) / wall : 0;
    // After the first step (model built, pipeline filled): the rate a long run sees, and the model's share.
    const double steady =
        steps_timed_ > 1 ? std::chrono::duration<double>(Clock::now() - first_done_).count() : 0;
    g["steady_clips_per_s"] = steady > 0 ? static_cast<double>(steady_clips_) / steady : 0;
    g["step_ms_mean"] = steps_timed_ ? step_ms_sum_ / static_cast<double>(steps_timed_) : 0;
    g["data_wait_fraction"] = wall > 0 ? std::min(1.0, wait_s_ / wall) : 0;
    return g;
  }

 private:
  void finish_call() {
    last_end_ = Clock::now();
    have_last_ = true;
  }

  // CHECKPOINT_DIR/steps.jsonl: one JSON object per logged step, for reports. A resumed run first drops the
  // lines of steps after its checkpoint (logged before a crash, trained again now), so no step appears twice;
  // a fresh run starts the file anew. Rank 0 only, like the checkpoints.
  void open_steps_log() {
    if (opts_.checkpoint_dir.empty() || opts_.rank != 0) return;
    std::filesystem::create_directories(opts_.checkpoint_dir);
    const std::string path = opts_.checkpoint_dir + "/steps.jsonl";
    std::string kept;
    if (resumed_at_ > 0) {
      std::ifstream in(path);
      for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
            j["step"].get<int64_t>() <= resumed_at_)
          kept += line + "\n";  // a torn last line (a crash mid-write) does not parse and is dropped
      }
    }
    {
      std::ofstream out(path + ".tmp", std::ios::trunc);
      out << kept;
    }
    std::filesystem::rename(path + ".tmp", path);
    steps_log_.open(path, std::ios::app);
  }

  void log_step(int64_t done, const model::TrainerStep& s) {
    if (!steps_log_.is_open()) return;
    nlohmann::json j;
    const double wall = std::chrono::duration<double>(Clock::now() - start_).count();
    j["step"] = done;
    j["loss"] = s.loss;
    j["nce"] = s.nce;
    j["mil_nce"] = s.mil_nce;
    j["lr"] = s.lr;
    j["grad_norm"] = s.grad_norm;
    j["step_ms"] = s.ms;
    {
      std::lock_guard<std::mutex> lk(mu_);
      j["clips_per_s"] = wall > 0 ? static_cast<double>(clips_) / wall : 0.0;
      j["data_wait"] = wall > 0 ? wait_s_ / wall : 0.0;
    }
    steps_log_ << j.dump() << '\n';
    steps_log_.flush();
  }

  // The blob stored with each checkpoint: the data cursor, and what a user of the model needs besides the
  // weights: the vocabulary its text ids come from and how its inputs were cut (frame rate, sample rate,
  // clip length, frames and crop; video uint8 RGB mapped to [-1, 1], audio mono float in [-1, 1]).
  std::string blob() const {
    nlohmann::json j = data_.is_null() ? nlohmann::json::object() : data_;
    j["format"] = "vatt-train-1";
    j["batches"] = batches_seen_;
    if (next_position_ != Clip::kNoPosition) j["position"] = next_position_;
    return j.dump();
  }

  // The read position after the batch's last clip; kNoPosition when a clip has none (decoded media).
  static uint64_t last_position(const std::vector<pipeline::Message>& items) {
    uint64_t last = 0;
    for (const auto& m : items) {
      const uint64_t p = m.as<TokenisedClip>().clip->position;
      if (p == Clip::kNoPosition) return Clip::kNoPosition;
      last = std::max(last, p);
    }
    return items.empty() ? Clip::kNoPosition : last;
  }

  void save() {
    const auto path = trainer_->checkpoint(blob());
    saved_at_ = trainer_->steps_done();
    if (!path.empty()) spdlog::info("train: checkpoint {}", path);
  }

  // The data cursor of a checkpoint's blob (and its data description, kept for the next checkpoints).
  int64_t parse_cursor(const std::string& blob) {
    auto j = nlohmann::json::parse(blob, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("batches") || !j["batches"].is_number_integer()) return 0;
    const auto batches = j["batches"].get<int64_t>();
    if (j.contains("position") && j["position"].is_number_unsigned())
      resume_position_ = next_position_ = j["position"].get<uint64_t>();
    j.erase("batches");
    j.erase("position");
    j.erase("format");
    if (j.contains("input")) data_ = std::move(j);
    return batches;
  }

  // Copies the batch's clips into one contiguous host batch (frames must all have the trainer's shapes).
  model::HostBatch to_host(const std::vector<pipeline::Message>& items) const {
    model::HostBatch b;
    b.batch = static_cast<int64_t>(items.size());
    if (items.empty()) throw std::invalid_argument("empty batch");
    const auto& first = *items[0].as<TokenisedClip>().clip;
    b.frames = first.frames_t;
    b.height = first.height;
    b.width = first.width;
    b.samples = first.audio ? static_cast<int64_t>(first.audio->size()) : 0;
    const size_t fsize = static_cast<size_t>(b.frames * b.height * b.width * 3);
    b.video.resize(fsize * items.size());
    b.audio.resize(static_cast<size_t>(b.samples) * items.size());
    b.text.resize(items.size() * TokenisedClip::kCandidates * TokenisedClip::kWords);
    b.text_mask.resize(items.size());
    b.sources.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      const auto& t = items[i].as<TokenisedClip>();
      const Clip& c = *t.clip;
      if (c.frames_t != b.frames || c.height != b.height || c.width != b.width || !c.frames ||
          c.frames->size() != fsize)
        throw std::invalid_argument("clip " + std::to_string(c.clip_index) + " of " + c.uri + " has frames " +
                                    std::to_string(c.frames_t) + "x" + std::to_string(c.height) + "x" +
                                    std::to_string(c.width) + ", the batch has " + std::to_string(b.frames) +
                                    "x" + std::to_string(b.height) + "x" + std::to_string(b.width));
      if (!c.audio || static_cast<int64_t>(c.audio->size()) != b.samples)
        throw std::invalid_argument("clip " + std::to_string(c.clip_index) + " of " + c.uri + " has " +
                                    std::to_string(c.audio ? c.audio->size() : 0) +
                                    " audio samples, the batch has " + std::to_string(b.samples));
      std::copy(c.frames->begin(), c.frames->end(), b.video.begin() + static_cast<std::ptrdiff_t>(i * fsize));
      std::copy(c.audio->begin(), c.audio->end(),
                b.audio.begin() + static_cast<std::ptrdiff_t>(i * b.samples));
      std::copy(t.text_ids.begin(), t.text_ids.end(),
                b.text.begin() + static_cast<std::ptrdiff_t>(i * t.text_ids.size()));
      b.text_mask[i] = t.has_text ? 1.0f : 0.0f;
      b.sources[i] = c.source_id;
    }
    return b;
  }

  model::TrainerOptions opts_;
  int64_t vocab_size_ = 0;
  std::string vocab_path_;
  std::shared_ptr<const Vocabulary> vocab_;
  int64_t resumed_at_ = 0;
  nlohmann::json data_;  // input description + vocabulary, from the first batch
  int64_t log_every_ = 10;
  std::unique_ptr<model::Trainer> trainer_;
  int64_t skip_ = 0, batches_seen_ = 0, saved_at_ = -1, resumed_batches_ = 0;
  pipeline::Services* services_ = nullptr;
  // Read positions (Clip::position): the one after the last clip trained on, and the checkpoint's.
  uint64_t next_position_ = Clip::kNoPosition, resume_position_ = Clip::kNoPosition;
  bool by_position_ = false;
  std::ofstream steps_log_;
  bool done_ = false;
  std::string fatal_;
  Clock::time_point start_, last_end_;
  bool have_last_ = false;
  double wait_s_ = 0;
  mutable std::mutex mu_;
  uint64_t clips_ = 0, steady_clips_ = 0, steps_timed_ = 0;
  double step_ms_sum_ = 0;
  Clock::time_point first_done_;
  double loss_ = NAN, nce_ = NAN, mil_nce_ = NAN, lr_ = 0, grad_norm_ = 0;
};

}  // namespace

void register_train_vatt(pipeline::Registry& registry) {
  using pipeline::float_option;
  using pipeline::int_option;
  using pipeline::string_option;
  pipeline::NodeContract c;
  c.type = "train_vatt";
  c.doc = "VATT pretraining: one optimiser step per batch, checkpoints, resume, NaN/Inf skipping";
  c.inputs = {{"in", "batch", "batches of tokenised clips"}};
  c.progress_gauges = {"step", "loss", "lr", "clips_per_s", "data_wait_fraction"};
  c.options = {
      string_option("config", "tiny", "model configuration: sss..lll, ma-<size>, tiny"),
      pipeline::list_option("set", {}, "model config overrides FIELD=VALUE (see `vatt model info --json`)"),
      int_option("steps", 1000, "optimiser steps; the run ends there", 1),
      string_option("schedule", "code",
                    "learning-rate curve after the warm-up: code (the released code's half-period cosine) or "
                    "paper (a quarter period)",
                    {"code", "paper"}),
      int_option("warmup", -1, "warm-up steps; -1 = min(5000 (code) or 10000 (paper), steps/10)", -1),
      float_option("lr", 1e-4, "peak learning rate", 0),
      float_option("lr_end", 5e-5, "learning rate at the last step (the schedule's cosine from the peak)", 0),
      float_option("droptoken", 0.5, "DropToken rate for video and audio tokens (training only)", 0, 0.95),
      float_option("droptoken_video", -1, "DropToken rate for video tokens; -1 = droptoken", -1, 0.95),
      float_option("droptoken_audio", -1, "DropToken rate for audio tokens; -1 = droptoken", -1, 0.95),
      int_option("frames", 0, "frames per clip (0 = the config's)", 0),
      int_option("crop", 0, "frame side after augment (0 = the config's)", 0),
      int_option("audio_samples", 0, "audio samples per clip (0 = the config's)", 0),
      string_option(
          "vocab", "",
          "the vocabulary file the text ids come from (tokenise's vocab): it sizes the word embedding "
          "and goes into every checkpoint; empty = none (vocab_size or the config's size)"),
      string_option("word_vectors", "",
                    "pretrained word vectors (word2vec text/binary, GloVe) for the word embedding of a fresh "
                    "run; its width sets the embedding's; give tokenise the same file"),
      pipeline::bool_option("freeze_words", true,
                            "word_vectors: keep the word embedding fixed (the paper's)"),
      int_option("vocab_size", 0, "word-embedding rows (0 = the size of vocab, else the config's)", 0, 65536),
      string_option("precision", "auto", "auto (bf16 where fast), fp32 or bf16", {"auto", "fp32", "bf16"}),
      string_option("device", "auto", "auto, cpu, cuda or cuda:N"),
      int_option("threads", 0, "LibTorch intra-op threads (0 = all cores)", 0),
      string_option("checkpoint_dir", "", "where checkpoints go and resume comes from (empty: none)"),
      int_option("checkpoint_every", 0, "steps between checkpoints (0: only at the end)", 0),
      int_option("max_bad_steps", 5, "NaN/Inf losses in a row that abort the run", 1),
      int_option("seed", 0, "initialisation and noise seed", 0),
      int_option(
          "hard_negatives", 0,
          "beyond the paper: K hard negative texts per video from a memory bank of other videos' texts "
          "(0 = off)",
          0, 1024),
      int_option("negatives_memory", 4096, "hard negatives: texts kept in the memory bank", 1),
      float_option("audio_noise", 0.01, "Gaussian noise added to audio, std = this x max|x| per clip", 0),
      int_option("log_every", 10, "steps between log lines (0: none)", 0),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<TrainNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
