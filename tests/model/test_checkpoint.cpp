// Checkpoints (bit-exact round trip of weights, Adam moments, step, RNG and config; atomic replacement;
// latest-checkpoint lookup) and safetensors export/import, including loading the file with PyTorch's
// safetensors package.
#include <gtest/gtest.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/stat.h>
#include <cstdio>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "model/checkpoint.h"
#include "model/optimiser.h"
#include "model/safetensors.h"
#include "model/train_step.h"

namespace vatt::model {
namespace {

// POSIX, not std::filesystem: libtorch.so exports std::filesystem symbols that interpose ours and crash.
std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.push_back(e->d_name);
    ::closedir(d);
  }
  return names;
}

struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern =
        (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : "/tmp") + "/vatt_ckpt_XXXXXX";
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    for (const auto& n : list_dir(path)) ::unlink((path + "/" + n).c_str());
    ::rmdir(path.c_str());
  }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

// A tiny model after a few real steps, so that the Adam moments and BatchNorm statistics are non-trivial.
struct Trained {
  ModelConfig config = make_config("tiny", {"dropout=0.1"});
  Vatt model{nullptr};
  std::unique_ptr<torch::optim::Adam> adam;
  Trained() {
    torch::set_num_threads(
        1);  // tiny tensors: a second OpenMP thread only adds waiting when cores are shared
    torch::manual_seed(3);
    model = Vatt(config);
    adam = make_adam(model->parameters(), config.optim);
    auto batch = random_batch(config, 3, torch::kCPU, 2);
    for (int s = 0; s < 3; ++s) train_step(*model, *adam, batch, s, /*bf16=*/false);
  }
};

void expect_same_tensors(VattImpl& a, VattImpl& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  auto ba = a.named_buffers(), bb = b.named_buffers();
  ASSERT_EQ(ba.size(), bb.size());
  for (const auto& x : ba) EXPECT_TRUE(torch::equal(x.value(), bb[x.key()])) << x.key();
}

TEST(Checkpoint, RoundTripIsBitExactForWeightsMomentsStepRngAndConfig) {
  TempDir dir;
  Trained t;
  const auto path = checkpoint_path(dir.path, 3);
  save_checkpoint(path, *t.model, t.adam.get(), 3, std::string("cursor\0blob", 11));
  auto draw_after_save = torch::rand({4});

  auto meta = read_checkpoint_meta(path);
  EXPECT_EQ(config_to_text(meta.config), config_to_text(t.config));
  torch::manual_seed(123);  // a different model and RNG state, overwritten by the load
  Vatt restored(meta.config);
  auto adam = make_adam(restored->parameters(), meta.config.optim);
  auto loaded = load_checkpoint(path, *restored, adam.get());
  EXPECT_EQ(loaded.step, 3);
  EXPECT_EQ(loaded.user_blob, std::string("cursor\0blob", 11));
  EXPECT_TRUE(torch::equal(torch::rand({4}), draw_after_save));  // RNG restored to the moment of the save
  expect_same_tensors(*t.model, *restored);

  // Adam moments and step counts, parameter by parameter.
  auto pa = t.model->parameters(), pb = restored->parameters();
  int compared = 0;
  for (size_t i = 0; i < pa.size(); ++i) {
    auto ia = t.adam->state().find(pa[i].unsafeGetTensorImpl());
    auto ib = adam->state().find(pb[i].unsafeGetTensorImpl());
    ASSERT_EQ(ia == t.adam->state().end(), ib == adam->state().end()) << i;
    if (ia == t.adam->state().end()) continue;
    auto& sa = static_cast<torch::optim::AdamParamState&>(*ia->second);
    auto& sb = static_cast<torch::optim::AdamParamState&>(*ib->second);
    EXPECT_EQ(sa.step(), sb.step());
    EXPECT_TRUE(torch::equal(sa.exp_avg(), sb.exp_avg()));
    EXPECT_TRUE(torch::equal(sa.exp_avg_sq(), sb.exp_avg_sq()));
    ++compared;
  }
  EXPECT_GT(compared, 10);

  // The next training step continues identically from the original and from the restored state.
  torch::manual_seed(9);
  auto batch = random_batch(t.config, 3, torch::kCPU, 2);
  auto rng = at::detail::getDefaultCPUGenerator().get_state();
  auto s1 = train_step(*t.model, *t.adam, batch, 3, false);
  auto gen = at::detail::getDefaultCPUGenerator();  // a handle: set_state reaches the global generator
  gen.set_state(rng);
  auto s2 = train_step(*restored, *adam, batch, 3, false);
  EXPECT_EQ(s1.loss, s2.loss);
  expect_same_tensors(*t.model, *restored);
}

TEST(Checkpoint, ReplacesAtomicallyAndFindsTheLatest) {
  TempDir dir;
  Trained t;
  const auto& d = dir.path;
  EXPECT_FALSE(latest_checkpoint(d).has_value());
  EXPECT_FALSE(latest_checkpoint(d + "/absent").has_value());
  save_checkpoint(checkpoint_path(d, 5), *t.model, t.adam.get(), 5);
  save_checkpoint(checkpoint_path(d, 40), *t.model, nullptr, 40);
  save_checkpoint(checkpoint_path(d, 40), *t.model, nullptr, 41);       // overwrite in place
  std::ofstream(checkpoint_path(d, 90) + ".tmp.1234") << "torn write";  // an interrupted save
  std::ofstream(dir / "notes.txt") << "x";
  EXPECT_EQ(checkpoint_path(d, 40), dir / "ckpt-000000000040.pt");
  ASSERT_TRUE(latest_checkpoint(d).has_value());
  EXPECT_EQ(*latest_checkpoint(d), checkpoint_path(d, 40));
  EXPECT_EQ(read_checkpoint_meta(checkpoint_path(d, 40)).step, 41);
  int temps = 0;
  for (const auto& name : list_dir(d)) temps += name.find(".tmp.") != std::string::npos;
  EXPECT_EQ(temps, 1);  // only the fake torn file: save leaves no temporary behind

  // A checkpoint of another shape is refused, naming the tensor.
  Vatt other(make_config("tiny", {"video.hidden=32"}));
  try {
    load_checkpoint(checkpoint_path(d, 40), *other, nullptr);
    FAIL() << "expected a shape error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("video."), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_checkpoint(checkpoint_path(d, 40), *t.model, t.adam.get()),
               std::runtime_error);  // no Adam
  EXPECT_THROW(read_checkpoint_meta(checkpoint_path(d, 90) + ".tmp.1234"), std::runtime_error);
}

TEST(Safetensors, RoundTripAndErrorsNameTheTensor) {
  TempDir dir;
  Trained t;
  const auto path = dir / "tiny.safetensors";
  save_safetensors(path, *t.model);
  std::ifstream in(path, std::ios::binary);
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t{len[i]} << (8 * i);
  EXPECT_EQ((8 + n) % 8, 0u);  // data starts 8-byte aligned

  std::map<std::string, std::string> meta;
  auto file = read_safetensors(path, &meta);
  EXPECT_EQ(meta["format"], "pt");
  EXPECT_EQ(file.size(), t.model->named_parameters().size() + t.model->named_buffers().size());
  EXPECT_EQ(file.at("heads.video_va.1.num_batches_tracked").scalar_type(), torch::kLong);
  EXPECT_EQ(file.at("video.patch.proj.weight").sizes(), (std::vector<int64_t>{64, 3, 4, 16, 16}));

  auto config = read_safetensors_config(path);
  EXPECT_EQ(config_to_text(config), config_to_text(t.config));
  torch::manual_seed(77);
  Vatt restored(config);
  load_safetensors(path, *restored);
  expect_same_tensors(*t.model, *restored);

  Vatt other(make_config("tiny", {"text.layers=3", "head_vt_dim=8"}));
  try {
    load_safetensors(path, *other);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("missing tensor 'text.t5.layers.2."), std::string::npos) << msg;
    EXPECT_NE(msg.find("tensor 'heads.text_vt.weight' has shape [16, 64], the model expects [8, 64]"),
              std::string::npos)
        << msg;
  }
  Vatt fewer(make_config("tiny", {"video.layers=1"}));
  try {
    load_safetensors(path, *fewer);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected tensor 'video.encoder.layers.1."), std::string::npos)
        << e.what();
  }
}

// A PyTorch user loads the file with safetensors.torch.load_file and sees the same names, shapes and values.
TEST(Safetensors, LoadsInPythonWithSafetensorsTorch) {
  const std::string python = std::string(VATT_SOURCE_DIR) + "/.venv/bin/python";
  if (::access(python.c_str(), X_OK) != 0)
    GTEST_SKIP() << python << " is absent (tools/setup.sh installs it)";
  TempDir dir;
  Trained t;
  const auto path = dir / "tiny.safetensors";
  save_safetensors(path, *t.model);
  double sum = 0, abs_sum = 0;
  int64_t numel = 0;
  auto tensors = read_safetensors(path);
  for (const auto& [name, x] : tensors) {
    sum += x.to(torch::kDouble).sum().item<double>();
    abs_sum += x.to(torch::kDouble).abs().sum().item<double>();
    numel += x.numel();
  }
  const std::string script =
      "import sys, torch\n"
      "from safetensors import safe_open\n"
      "from safetensors.torch import load_file\n"
      "t = load_file(sys.argv[1])\n"
      "meta = safe_open(sys.argv[1], 'pt').metadata()\n"
      "assert 'name=tiny' in meta['vatt.config'], meta\n"
      "s = sum(float(v.double().sum()) for v in t.values())\n"
      "a = sum(float(v.double().abs().sum()) for v in t.values())\n"
      "n = sum(v.numel() for v in t.values())\n"
      "w = t['video.patch.proj.weight']\n"
      "print(len(t), n, repr(s), repr(a), str(w.dtype), tuple(w.shape), repr(float(w[1, 2, 3, 4, 5])))\n";
  const auto script_path = dir / "check.py";
  std::ofstream(script_path) << script;
  const std::string cmd = python + " " + script_path + " " + path + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  ASSERT_EQ(::pclose(pipe), 0) << out;
  std::istringstream line(out);
  size_t count;
  int64_t py_numel;
  double py_sum, py_abs;
  std::string dtype, shape, value;
  line >> count >> py_numel >> py_sum >> py_abs >> dtype;
  std::getline(line, shape, ')');
  line >> value;
  EXPECT_EQ(count, tensors.size()) << out;
  EXPECT_EQ(py_numel, numel);
  EXPECT_NEAR(py_sum, sum, 1e-9 * abs_sum);  // same values, summed in another order
  EXPECT_NEAR(py_abs, abs_sum, 1e-9 * abs_sum);
  EXPECT_EQ(dtype, "torch.float32");
  EXPECT_EQ(shape, " (64, 3, 4, 16, 16");
  EXPECT_EQ(std::stod(value), t.model->video->patch->proj->weight[1][2][3][4][5].item<double>());
}

}  // namespace
}  // namespace vatt::model
