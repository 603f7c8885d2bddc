// c10d process group (TCPStore + Gloo) and the collectives training needs, with autograd where they sit in
// the forward pass. Gloo's headers are not in the torch wheel: gloo_shim/ declares the few names that
// ProcessGroupGloo.hpp mentions (see gloo_shim/gloo/shim.h).
#include "model/distributed.h"

// The wheel's libtorch_cpu is built with USE_C10D_GLOO; the header hides the class unless it is defined.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
// NCCL (GPUs) when LibTorch was built with it and nccl.h is found (the CUDA toolkit, or the nvidia-nccl wheel
// beside torch; see model/CMakeLists.txt).
#if defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define VATT_HAVE_NCCL 1
#endif

#include <cstdlib>
#include <map>
#include <stdexcept>

namespace vatt::model {
namespace {

void wait_all(const std::vector<c10::intrusive_ptr<c10d::Work>>& works) {
  for (const auto& w : works) w->wait();
}

bool active(const ProcessGroup* group) {
  return group && group->world_size() > 1;
}

}  // namespace

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
};

std::shared_ptr<ProcessGroup> ProcessGroup::create(const DistConfig& config) {
  if (config.world_size < 1 || config.rank < 0 || config.rank >= config.world_size)
    throw std::invalid_argument("process group: rank " + std::to_string(config.rank) +
                                " outside world size " + std::to_string(config.world_size));
#ifdef VATT_HAVE_NCCL
  if (config.backend != "gloo" && config.backend != "nccl")
    throw std::invalid_argument("process group: unknown backend '" + config.backend +
                                "'; expected gloo or nccl");
#else
  if (config.backend != "gloo")
    throw std::invalid_argument("process group: unknown backend '" + config.backend +
                                "'; this build has gloo (NCCL needs nccl.h at build time)");
#endif
  if (config.master_port <= 0 || config.master_port > 65535)
    throw std::invalid_argument("process group: bad master port " + std::to_string(config.master_port));
  std::shared_ptr<ProcessGroup> pg(new ProcessGroup());
  pg->impl_ = std::make_unique<Impl>();
  pg->rank_ = config.rank;
  pg->world_size_ = config.world_size;
  pg->backend_ = config.backend;
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<uint16_t>(config.master_port);
    opts.isServer = config.rank == 0;
    opts.numWorkers = static_cast<size_t>(config.world_size);
    opts.waitWorkers = true;
    opts.timeout = config.timeout;
    pg->impl_->store = c10::make_intrusive<c10d::TCPStore>(config.master_addr, opts);

#ifdef VATT_HAVE_NCCL
    if (config.backend == "nccl") {
      // One GPU per rank: the caller selects it (CUDA device = local rank) before the first collective.
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = config.timeout;
      pg->impl_->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(pg->impl_->store, config.rank,
                                                                       config.world_size, nccl_options);
      return pg;
    }
#endif
    auto options = c10d::ProcessGroupGloo::Options::create(config.timeout);
    // Gloo binds one address per rank. On one machine (master on loopback) that is the loopback; otherwise
    // GLOO_SOCKET_IFNAME names the interface, as in PyTorch, or the hostname's address is used.
    const std::string& addr = config.master_addr;
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (addr == "localhost" || addr.rfind("127.", 0) == 0)
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    pg->impl_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(pg->impl_->store, config.rank,
                                                                     config.world_size, options);
  } catch (const std::exception& e) {
    throw std::runtime_error("process group: rendezvous at " + config.master_addr + ":" +
                             std::to_string(config.master_port) + " as rank " + std::to_string(config.rank) +
                             " of " + std::to_string(config.world_size) + " failed: " + e.what());
  }
  return pg;
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  // One collective per tensor: a multi-tensor allreduce means "one copy per local device" to c10d.
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& t : tensors) {
    if (!t.is_contiguous()) throw std::invalid_argument("all_reduce_sum: tensors must be contiguous");
    std::vector<at::Tensor> one{t};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    works.push_back(impl_->backend->allreduce(one, opts));
  }
  wait_all(works);
}

torch::Tensor ProcessGroup::all_gather(const torch::Tensor& x) {
  auto input = x.contiguous();
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < world_size_; ++r) outputs[0].push_back(torch::empty_like(input));
  std::vector<at::Tensor> inputs{input};
  impl_->backend->allgather(outputs, inputs)->wait();
  return torch::cat(outputs[0], 0);
}

void ProcessGroup::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    works.push_back(impl_->backend->broadcast(one, opts));
  }
  wait_all(works);
}

void ProcessGroup::barrier() {
  impl_->backend->barrier()->wait();
}

void average_gradients(const std::vector<torch::Tensor>& params, ProcessGroup* group, int64_t bucket_bytes) {
  if (!active(group)) return;
  torch::NoGradGuard no_grad;
  // Buckets per (dtype, device) in parameter order, so that every rank builds the same ones.
  std::map<std::string, std::vector<std::vector<torch::Tensor>>> buckets;
  std::map<std::string, int64_t> fill;
  for (const auto& p : params) {
    if (!p.requires_grad()) continue;
    auto& g = p.mutable_grad();
    if (!g.defined()) g = torch::zeros_like(p);
    const std::string key = std::string(c10::toString(g.scalar_type())) + "@" + g.device().str();
    const int64_t bytes = g.numel() * static_cast<int64_t>(g.element_size());
    auto& list = buckets[key];
    if (list.empty() || fill[key] + bytes > bucket_bytes) {
      list.emplace_back();
      fill[key] = 0;
    }
    list.back().push_back(g);
    fill[key] += bytes;
  }
  std::vector<std::vector<torch::Tensor>> groups;
  std::vector<torch::Tensor> flats;
  for (auto& [key, list] : buckets)
    for (auto& grads : list) {
      std::vector<torch::Tensor> views;
      for (const auto& g : grads) views.push_back(g.reshape({-1}));
      flats.push_back(torch::cat(views));
      groups.push_back(grads);
    }
  group->all_reduce_sum(flats);
  const double inv = 1.0 / group->world_size();
  for (size_t i = 0; i < flats.size(); ++i) {
    flats[i].mul_(inv);
    int64_t off = 0;
    for (auto& g : groups[i]) {
      g.copy_(flats[i].narrow(0, off, g.numel()).view_as(g));
      off += g.numel();
    }
  }
}

void broadcast_parameters(torch::nn::Module& module, ProcessGroup* group) {
  if (!active(group)) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  for (auto& p : module.parameters()) tensors.push_back(p);
  for (auto& b : module.buffers()) tensors.push_back(b);
  group->broadcast(tensors, 0);
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

ProcessGroup* saved_group(AutogradContext* ctx) {
  return reinterpret_cast<ProcessGroup*>(ctx->saved_data["group"].toInt());
}

struct AllGatherFn : torch::autograd::Function<AllGatherFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, int64_t group) {
    ctx->saved_data["group"] = group;
    ctx->saved_data["rows"] = x.size(0);
    return reinterpret_cast<ProcessGroup*>(group)->all_gather(x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto* group = saved_group(ctx);
    const int64_t rows = ctx->saved_data["rows"].toInt();
    std::vector<torch::Tensor> g{grads[0].contiguous().clone()};
    group->all_reduce_sum(g);
    return {g[0].narrow(0, group->rank() * rows, rows), torch::Tensor()};
  }
};

struct AllReduceSumFn : torch::autograd::Function<AllReduceSumFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, int64_t group) {
    ctx->saved_data["group"] = group;
    std::vector<torch::Tensor> t{x.contiguous().clone()};
    reinterpret_cast<ProcessGroup*>(group)->all_reduce_sum(t);
    return t[0];
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    std::vector<torch::Tensor> g{grads[0].contiguous().clone()};
    saved_group(ctx)->all_reduce_sum(g);
    return {g[0], torch::Tensor()};
  }
};

}  // namespace

torch::Tensor all_gather_with_grad(const torch::Tensor& x, ProcessGroup* group) {
  if (!active(group)) return x;
  return AllGatherFn::apply(x, reinterpret_cast<int64_t>(group));
}

torch::Tensor all_reduce_sum_with_grad(const torch::Tensor& x, ProcessGroup* group) {
  if (!active(group)) return x;
  return AllReduceSumFn::apply(x, reinterpret_cast<int64_t>(group));
}

SyncBatchNormImpl::SyncBatchNormImpl(int64_t features, double momentum, double eps)
    : momentum_(momentum), eps_(eps) {
  weight = register_parameter("weight", torch::ones({features}));
  bias = register_parameter("bias", torch::zeros({features}));
  running_mean = register_buffer("running_mean", torch::zeros({features}));
  running_var = register_buffer("running_var", torch::ones({features}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

torch::Tensor SyncBatchNormImpl::forward(const torch::Tensor& x) {
  if (!is_training() || !active(group_)) {
    // torch::nn::BatchNorm1d's own forward, step for step.
    if (is_training()) {
      torch::NoGradGuard no_grad;
      num_batches_tracked.add_(1);
    }
    return torch::batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum_, eps_,
                             at::globalContext().userEnabledCuDNN());
  }
  const int64_t c = x.size(1);
  std::vector<int64_t> dims{0}, shape{1, c};
  if (x.dim() == 3) {
    dims.push_back(2);
    shape.push_back(1);
  }
  auto xf = x.to(torch::kFloat);
  auto count = torch::full({1}, static_cast<double>(x.numel() / c), xf.options());
  auto stats = all_reduce_sum_with_grad(torch::cat({xf.sum(dims), (xf * xf).sum(dims), count}), group_);
  auto n = stats.narrow(0, 2 * c, 1);
  auto mean = stats.narrow(0, 0, c) / n;
  auto var = (stats.narrow(0, c, c) / n - mean * mean).clamp_min(0.0);
  auto y =
      (xf - mean.view(shape)) * torch::rsqrt(var.view(shape) + eps_) * weight.view(shape).to(torch::kFloat) +
      bias.view(shape).to(torch::kFloat);
  {
    torch::NoGradGuard no_grad;
    const double total = n.item<double>();
    const double unbias = total > 1 ? total / (total - 1) : 1.0;
    running_mean.mul_(1 - momentum_).add_(mean.detach().to(running_mean.dtype()) * momentum_);
    running_var.mul_(1 - momentum_).add_(var.detach().to(running_var.dtype()) * (unbias * momentum_));
    num_batches_tracked.add_(1);
  }
  return y.to(x.scalar_type());
}

int set_batch_norm_group(torch::nn::Module& module, ProcessGroup* group) {
  int n = 0;
  for (auto& m : module.modules(/*include_self=*/true))
    if (auto bn = std::dynamic_pointer_cast<SyncBatchNormImpl>(m)) {
      bn->set_process_group(group);
      ++n;
    }
  return n;
}

}  // namespace vatt::model
