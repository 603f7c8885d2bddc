// The pure-PyTorch port (python/vatt_torch.py) against the C++ model: one exported checkpoint, one input,
// every embedding and backbone feature equal within 1e-5, for the modality-specific and the VATT-MA
// layouts; the port's tokenizer against the vocabulary in the file. Runs the Python of tools/setup.sh's .venv.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/embedder.h"
#include "model/vatt.h"

namespace vatt::model {
namespace {

template <class T>
void write_raw(const std::string& path, const std::vector<T>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
  ASSERT_TRUE(out.good()) << path;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void check_port(const std::string& tag, const std::vector<std::string>& overrides) {
  const std::string py = std::string(VATT_SOURCE_DIR) + "/.venv/bin/python";
  if (access(py.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << py << " (tools/setup.sh makes it)";
  const std::string dir = "/tmp/vatt-torch-port-" + tag + "-" + std::to_string(getpid());
  ASSERT_EQ(std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()), 0);

  torch::manual_seed(11);
  auto config = make_config("tiny", overrides);
  Vatt model(config);
  {
    // Official init zeroes biases and LayerNorm/BatchNorm start at 1/0: move every float parameter and
    // buffer off its start so that a tensor the port reads wrongly (or not at all) shows.
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.05);
    for (auto& b : model->buffers())
      if (b.is_floating_point()) b.copy_(b + torch::rand_like(b) * 0.5);
  }
  const std::string ckpt = dir + "/ckpt-000000000007.pt";
  save_checkpoint(ckpt, *model, nullptr, 7);
  const std::string vocab = "# vatt vocabulary v1\nthe\t5\ndog\t3\nruns\t2\n";
  export_safetensors(ckpt, dir + "/vatt.safetensors",
                     {{"vatt.vocab", vocab}, {"vatt.input", "{\"frames\": 8, \"crop\": 32}"}});

  HostBatch b;
  b.batch = 3, b.frames = config.frames, b.height = b.width = config.crop, b.samples = config.audio_samples;
  auto video = torch::randint(0, 256, {b.batch, b.frames, b.height, b.width, 3}, torch::kUInt8);
  b.video.assign(video.data_ptr<uint8_t>(), video.data_ptr<uint8_t>() + video.numel());
  auto audio = torch::rand({b.batch, b.samples}) * 2 - 1;
  b.audio.assign(audio.data_ptr<float>(), audio.data_ptr<float>() + audio.numel());
  // Text: different lengths, so padding masks differ per row; ids up to vocab_size - 1.
  b.text.assign(static_cast<size_t>(b.batch * config.text_words), 0);
  for (int64_t i = 0; i < b.batch; ++i)
    for (int64_t w = 0; w < 3 + 5 * i && w < config.text_words; ++w)
      b.text[static_cast<size_t>(i * config.text_words + w)] =
          static_cast<int32_t>(1 + (7 * i + 13 * w) % (config.vocab_size - 1));
  b.text_mask.assign(static_cast<size_t>(b.batch), 1.0f);

  EmbedderOptions eo;
  eo.checkpoint = dir + "/vatt.safetensors";
  eo.precision = "fp32";
  Embedder embedder(eo);
  const Embeddings e = embedder.embed(b);
  write_raw(dir + "/video.u8", b.video);
  write_raw(dir + "/audio.f32", b.audio);
  write_raw(dir + "/text.i32", b.text);
  write_raw(dir + "/video_va.f32", e.video_va);
  write_raw(dir + "/audio_va.f32", e.audio_va);
  write_raw(dir + "/video_vt.f32", e.video_vt);
  write_raw(dir + "/text_vt.f32", e.text_vt);
  write_raw(dir + "/video_agg.f32", e.video_feature);
  write_raw(dir + "/audio_agg.f32", e.audio_feature);

  const std::string script = std::string(VATT_SOURCE_DIR) + "/tests/model/check_torch_port.py";
  const std::string cmd =
      py + " " + script + " " + dir + " " + std::to_string(b.batch) + " > " + dir + "/py.log 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string log = read_all(dir + "/py.log");
  EXPECT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("port ok"), std::string::npos) << log;
  std::printf("[%s] %s", tag.c_str(), log.c_str());
  std::system(("rm -rf " + dir).c_str());
}

TEST(TorchPort, ModalitySpecificEmbeddingsEqualTheCppModel) {
  check_port("mod", {});
}

TEST(TorchPort, ModalityAgnosticEmbeddingsEqualTheCppModel) {
  check_port("ma", {"modality_agnostic=true", "post_proj_dim=48"});
}

}  // namespace
}  // namespace vatt::model
