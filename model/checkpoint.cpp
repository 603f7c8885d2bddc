// Checkpoints as one LibTorch archive, written to a temporary file, fsync'ed and renamed into place.
#include "model/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/stat.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace vatt::model {
namespace {

constexpr int64_t kFormatVersion = 1;

torch::Tensor read_tensor(torch::serialize::InputArchive& in, const std::string& key,
                          const std::string& path) {
  torch::Tensor t;
  if (!in.try_read(key, t)) throw std::runtime_error("checkpoint " + path + ": no entry '" + key + "'");
  return t;
}

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw std::runtime_error("checkpoint: cannot open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("checkpoint: fsync " + path + ": " + std::strerror(err));
}

int cuda_devices() {
  return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

constexpr const char* kPrefix = "ckpt-";
constexpr const char* kSuffix = ".pt";

}  // namespace

torch::Tensor bytes_tensor(const std::string& s) {
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  if (!s.empty()) std::memcpy(t.data_ptr(), s.data(), s.size());
  return t;
}

std::string tensor_bytes(const torch::Tensor& t) {
  auto c = t.to(torch::kCPU).contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()));
}

std::string config_to_text(const ModelConfig& config) {
  std::string s = "name=" + config.name + "\n";
  for (const auto& [k, v] : config_fields(config)) s += k + "=" + v + "\n";
  return s;
}

ModelConfig config_from_text(const std::string& text) {
  std::istringstream in(text);
  std::string line, name;
  std::vector<std::string> overrides;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("name=", 0) == 0)
      name = line.substr(5);
    else
      overrides.push_back(line);
  }
  if (name.empty()) throw std::invalid_argument("stored config has no name= line");
  return make_config(name, overrides);
}

void save_checkpoint(const std::string& path, const VattImpl& model, const torch::optim::Optimizer* adam,
                     int64_t step, const std::string& user_blob, const NegativeBank* negatives,
                     const std::map<std::string, torch::Tensor>& extra) {
  torch::NoGradGuard no_grad;
  torch::serialize::OutputArchive out;
  out.write("format", torch::tensor({kFormatVersion}, torch::kInt64));
  out.write("config", bytes_tensor(config_to_text(model.config())));
  out.write("step", torch::tensor({step}, torch::kInt64));
  out.write("user_blob", bytes_tensor(user_blob));
  {
    // Generator state is read under its lock: another thread drawing at the same time must not tear it.
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    out.write("rng.cpu", gen.get_state());
  }
  for (int i = 0; i < cuda_devices(); ++i) {
    auto gen = at::globalContext().defaultGenerator(torch::Device(torch::kCUDA, static_cast<int8_t>(i)));
    std::lock_guard<std::mutex> lock(gen.mutex());
    out.write("rng.cuda." + std::to_string(i), gen.get_state());
  }
  // Tensors are written as they are (device included); load copies them into the model's own tensors.
  for (const auto& p : model.named_parameters()) out.write("model." + p.key(), p.value());
  for (const auto& b : model.named_buffers()) out.write("model." + b.key(), b.value(), /*is_buffer=*/true);
  if (adam) {
    torch::serialize::OutputArchive opt;
    adam->save(opt);
    out.write("optimizer", opt);
  }
  for (const auto& [name, t] : extra) out.write("extra." + name, t);
  if (negatives) {
    torch::serialize::OutputArchive bank;
    negatives->save(bank);
    out.write("negatives", bank);
  }

  // POSIX rather than std::filesystem: libtorch.so exports its own std::filesystem symbols, which
  // interpose ours at run time and crash (remove_all jumped to a null pointer).
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    out.save_to(tmp);
  } catch (const std::exception& e) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("checkpoint: cannot write " + tmp + ": " + e.what());
  }
  fsync_path(tmp, false);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("checkpoint: cannot rename " + tmp + " to " + path + ": " + std::strerror(err));
  }
  fsync_path(dir, true);  // the rename itself is durable only once the directory is
}

namespace {

CheckpointMeta read_meta(torch::serialize::InputArchive& in, const std::string& path) {
  auto format = read_tensor(in, "format", path);
  if (format.item<int64_t>() != kFormatVersion)
    throw std::runtime_error("checkpoint " + path + ": format " + std::to_string(format.item<int64_t>()) +
                             ", expected " + std::to_string(kFormatVersion));
  CheckpointMeta meta;
  try {
    meta.config = config_from_text(tensor_bytes(read_tensor(in, "config", path)));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("checkpoint " + path + ": bad config: " + e.what());
  }
  meta.step = read_tensor(in, "step", path).item<int64_t>();
  meta.user_blob = tensor_bytes(read_tensor(in, "user_blob", path));
  return meta;
}

torch::serialize::InputArchive open_archive(const std::string& path) {
  torch::serialize::InputArchive in;
  try {
    in.load_from(path, torch::Device(torch::kCPU));
  } catch (const std::exception& e) {
    throw std::runtime_error("checkpoint: cannot read " + path + ": " + e.what());
  }
  return in;
}

}  // namespace

CheckpointMeta read_checkpoint_meta(const std::string& path) {
  auto in = open_archive(path);
  return read_meta(in, path);
}

CheckpointMeta load_checkpoint(const std::string& path, VattImpl& model, torch::optim::Adam* adam,
                               bool restore_rng, NegativeBank* negatives) {
  auto in = open_archive(path);
  auto meta = read_meta(in, path);
  {
    torch::NoGradGuard no_grad;
    auto restore = [&](const std::string& name, torch::Tensor& dst) {
      auto src = read_tensor(in, "model." + name, path);
      if (src.sizes() != dst.sizes())
        throw std::runtime_error("checkpoint " + path + ": tensor '" + name + "' has shape " +
                                 c10::str(src.sizes()) + ", the model expects " + c10::str(dst.sizes()));
      dst.copy_(src);
    };
    for (auto& p : model.named_parameters()) restore(p.key(), p.value());
    for (auto& b : model.named_buffers()) restore(b.key(), b.value());
  }
  if (adam) {
    torch::serialize::InputArchive opt;
    if (!in.try_read("optimizer", opt))
      throw std::runtime_error("checkpoint " + path + ": no optimizer state");
    adam->load(opt);
    // Adam::load restores the moments on the CPU; they must live with their parameters.
    for (auto& group : adam->param_groups())
      for (auto& p : group.params()) {
        auto it = adam->state().find(p.unsafeGetTensorImpl());
        if (it == adam->state().end()) continue;
        auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
        if (s.exp_avg().defined() && s.exp_avg().device() != p.device()) {
          s.exp_avg(s.exp_avg().to(p.device()));
          s.exp_avg_sq(s.exp_avg_sq().to(p.device()));
          if (s.max_exp_avg_sq().defined()) s.max_exp_avg_sq(s.max_exp_avg_sq().to(p.device()));
        }
      }
  }
  if (negatives) {
    torch::serialize::InputArchive bank;
    if (in.try_read("negatives", bank)) negatives->load(bank, "checkpoint " + path);
  }
  if (restore_rng) {
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(read_tensor(in, "rng.cpu", path));
    }
    for (int i = 0; i < cuda_devices(); ++i) {
      torch::Tensor state;
      if (!in.try_read("rng.cuda." + std::to_string(i), state))
        continue;  // saved on a machine with fewer GPUs
      auto gen = at::globalContext().defaultGenerator(torch::Device(torch::kCUDA, static_cast<int8_t>(i)));
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(state);
    }
  }
  return meta;
}

std::map<std::string, torch::Tensor> load_checkpoint_extra(const std::string& path,
                                                           const std::vector<std::string>& names) {
  auto in = open_archive(path);
  std::map<std::string, torch::Tensor> out;
  for (const auto& n : names) {
    torch::Tensor t;
    if (in.try_read("extra." + n, t)) out[n] = t;
  }
  return out;
}

void load_checkpoint_optimizer(const std::string& path, torch::optim::Optimizer& optimizer) {
  auto in = open_archive(path);
  torch::serialize::InputArchive opt;
  if (!in.try_read("optimizer", opt)) throw std::runtime_error("checkpoint " + path + ": no optimizer state");
  optimizer.load(opt);
}

std::string checkpoint_path(const std::string& dir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "%s%012lld%s", kPrefix, static_cast<long long>(step), kSuffix);
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::optional<std::string> latest_checkpoint(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return std::nullopt;
  std::optional<std::string> best;
  int64_t best_step = -1;
  const std::string prefix = kPrefix, suffix = kSuffix;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;  // also skips "ckpt-N.pt.tmp.PID" of an interrupted write
    const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    const int64_t step = std::stoll(digits);
    if (step > best_step) {
      best_step = step;
      best = checkpoint_path(dir, step);
    }
  }
  ::closedir(d);
  return best;
}

}  // namespace vatt::model
