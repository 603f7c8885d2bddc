// Word-vector files in their three formats (word2vec text and binary, GloVe text) give the same vectors; the
// word list in file order; entries that are malformed are named by file and line/entry; a Trainer built with
// vectors starts from them and keeps them fixed through its steps when frozen.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "model/trainer.h"
#include "model/word_vectors.h"

namespace vatt::model {
namespace {

const std::vector<std::string> kWords = {"the", "dog", "runs", "<unk>", "beach", "dog", "sand"};

float value(size_t word, int64_t j) {
  return static_cast<float>(word) * 0.25f - 0.5f + static_cast<float>(j) * 0.125f;
}

std::string temp_path(const std::string& name) {
  return "/tmp/vatt-wv-" + std::to_string(getpid()) + "-" + name;
}

// Writes kWords with `dim` values each; `format`: "w2v" (text + header), "glove" (text, no header), "bin".
std::string write_vectors(const std::string& format, int64_t dim) {
  const std::string path = temp_path(format + (format == "bin" ? ".bin" : ".txt"));
  std::ofstream out(path, std::ios::binary);
  if (format != "glove") out << kWords.size() << ' ' << dim << '\n';
  for (size_t i = 0; i < kWords.size(); ++i) {
    out << kWords[i] << ' ';
    for (int64_t j = 0; j < dim; ++j) {
      const float v = value(i, j);
      if (format == "bin") {
        out.write(reinterpret_cast<const char*>(&v), 4);
      } else {
        out << v << (j + 1 < dim ? " " : "");
      }
    }
    out << '\n';
  }
  return path;
}

TEST(WordVectors, ThreeFormatsReadAlike) {
  const std::vector<std::string> vocab = {"<pad>", "<unk>", "dog", "sand", "cat"};
  std::vector<float> first;
  for (const char* format : {"w2v", "glove", "bin"}) {
    const auto path = write_vectors(format, 6);
    const auto f = inspect_word_vectors(path);
    EXPECT_EQ(f.dim, 6) << format;
    EXPECT_EQ(f.binary, std::string(format) == "bin") << format;
    EXPECT_EQ(f.header, std::string(format) != "glove") << format;
    // File order, first occurrences, the reserved names left out.
    EXPECT_EQ(word_vector_words(path, 100), (std::vector<std::string>{"the", "dog", "runs", "beach", "sand"}))
        << format;
    EXPECT_EQ(word_vector_words(path, 2), (std::vector<std::string>{"the", "dog"})) << format;
    const auto t = read_word_vectors(path, vocab, 6);
    EXPECT_EQ(t.entries, 7) << format;
    EXPECT_EQ(t.found_count, 2) << format;  // dog, sand; cat is not in the file
    EXPECT_EQ(t.found, (std::vector<uint8_t>{0, 0, 1, 1, 0})) << format;
    EXPECT_FLOAT_EQ(t.values[2 * 6 + 3], value(1, 3)) << format;  // the first "dog" wins
    EXPECT_FLOAT_EQ(t.values[3 * 6 + 5], value(6, 5)) << format;
    EXPECT_FLOAT_EQ(t.values[4 * 6 + 0], 0.0f) << format;
    if (first.empty()) first = t.values;
    EXPECT_EQ(t.values, first) << format << " differs from word2vec text";
    std::remove(path.c_str());
  }
}

TEST(WordVectors, MalformedEntriesAreNamed) {
  auto expect_error = [](const std::string& path, const std::string& where, int64_t dim = 0) {
    try {
      read_word_vectors(path, {"<pad>", "<unk>", "dog"}, dim);
      ADD_FAILURE() << path << " accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(where), std::string::npos) << e.what();
    }
  };
  const auto text = temp_path("bad.txt");
  std::ofstream(text) << "dog 1 2 3\ncat 1 2\n";
  expect_error(text, text + ":2: expected a word and 3 values, got 2");
  std::ofstream(text) << "dog 1 2 3\ncat 1 x 3\n";
  expect_error(text, text + ":2: value 2 'x' is not a number");
  std::ofstream(text) << "dog 1 2 3\n";
  expect_error(text, text + ":1: vectors have 3 values, the model's word embedding 300", 300);
  // A binary file cut inside a vector.
  const auto bin = write_vectors("bin", 4);
  std::ifstream in(bin, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(bin, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 10);
  expect_error(bin, "entry 7 ('sand'): the file ends inside its 4 floats");
  expect_error(temp_path("missing.txt"), "cannot open word-vector file");
  std::remove(text.c_str());
  std::remove(bin.c_str());
}

// The word-embedding rows of "dog" (id 2) and "sand" (id 3) after `steps` steps, trained with the vectors.
std::vector<float> rows_after(const std::string& vectors, bool freeze, int steps, const std::string& dir) {
  TrainerOptions o;
  o.config = "tiny";
  o.overrides = {"dropout=0"};
  o.steps = 10;
  o.warmup = 0;
  o.lr = 1e-2;
  o.precision = "fp32";
  o.device = "cpu";
  o.threads = 2;
  o.checkpoint_dir = dir;
  o.word_vectors = vectors;
  o.freeze_words = freeze;
  o.vocab_words = {"<pad>", "<unk>", "dog", "sand"};
  for (int i = 4; i < 100; ++i) o.vocab_words.push_back("w" + std::to_string(i));
  Trainer t(o);
  EXPECT_EQ(t.word_vectors_found(), 2);
  HostBatch b;
  b.batch = 4, b.frames = 8, b.height = b.width = 32, b.samples = 4096;
  std::mt19937 rng(3);
  b.video.resize(static_cast<size_t>(4 * 8 * 32 * 32 * 3));
  for (auto& v : b.video) v = static_cast<uint8_t>(rng() & 255);
  b.audio.resize(static_cast<size_t>(4 * 4096));
  for (auto& a : b.audio) a = static_cast<float>(rng() % 1000) / 1000.0f - 0.5f;
  b.text.assign(static_cast<size_t>(4 * 5 * 16), 0);
  for (size_t i = 0; i < b.text.size(); i += 16) b.text[i] = 2 + static_cast<int32_t>(i / 16 % 2);
  b.text_mask.assign(4, 1.0f);
  for (int s = 0; s < steps; ++s) EXPECT_FALSE(t.step(b).skipped);
  for (const auto& [name, v] : read_checkpoint_parameters(t.checkpoint("")))
    if (name == "text.embedding.weight") return std::vector<float>(v.begin() + 2 * 16, v.begin() + 4 * 16);
  ADD_FAILURE() << "no text.embedding.weight";
  return {};
}

TEST(WordVectors, TrainerStartsFromTheVectorsAndKeepsThemWhenFrozen) {
  const auto path = write_vectors("bin", 16);  // the tiny model's word width
  char tmpl[] = "/tmp/vatt_wv_trainer_XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  std::vector<float> want;
  for (size_t word : {1, 6})
    for (int64_t j = 0; j < 16; ++j) want.push_back(value(word, j));
  EXPECT_EQ(rows_after(path, true, 0, dir + "/a"), want);  // copied in
  EXPECT_EQ(rows_after(path, true, 3, dir + "/b"), want);  // frozen: three steps leave them as they were
  const auto trained = rows_after(path, false, 3, dir + "/c");
  ASSERT_EQ(trained.size(), want.size());
  EXPECT_NE(trained, want);  // not frozen: the steps move them
  std::remove(path.c_str());
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace vatt::model
