// Data-parallel building blocks on a real 2-process Gloo group over 127.0.0.1: all-reduce, all-gather with
// its backward, synchronised BatchNorm and a whole training step's loss must equal one process with the whole
// batch. The parent test re-runs this binary twice (ranks 0 and 1) on the worker test below; each worker also
// computes the single-process reference itself and asserts agreement. Tolerance: 1e-5 relative (absolute
// 1e-6) on fp32 values: the two sides sum the same numbers in different orders, and SyncBatchNorm computes
// the variance as E[x^2] - mean^2 where BatchNorm1d uses two passes.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "model/distributed.h"
#include "model/loss.h"
#include "model/optimiser.h"
#include "model/schedule.h"
#include "model/train_step.h"

extern char** environ;

namespace vatt::model {
namespace {

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-6))
      << what << ": max diff " << (a - b).abs().max().item<double>();
}

TEST(Distributed, SyncBatchNormWithoutGroupIsBatchNorm1d) {
  torch::manual_seed(5);
  SyncBatchNorm sync(6, 0.1, 1e-5);
  torch::nn::BatchNorm1d ref(torch::nn::BatchNorm1dOptions(6).momentum(0.1).eps(1e-5));
  auto x = torch::randn({7, 6}) * 3 + 1;
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(torch::equal(sync(x), ref(x)));
  EXPECT_TRUE(torch::equal(sync->running_mean, ref->running_mean));
  EXPECT_TRUE(torch::equal(sync->running_var, ref->running_var));
  EXPECT_TRUE(torch::equal(sync->num_batches_tracked, ref->num_batches_tracked));
  sync->eval();
  ref->eval();
  EXPECT_TRUE(torch::equal(sync(x), ref(x)));
  // Same names as BatchNorm1d, so checkpoints and safetensors keep their layout.
  std::vector<std::string> a, b;
  for (const auto& p : sync->named_parameters()) a.push_back(p.key());
  for (const auto& p : sync->named_buffers()) a.push_back(p.key());
  for (const auto& p : ref->named_parameters()) b.push_back(p.key());
  for (const auto& p : ref->named_buffers()) b.push_back(p.key());
  EXPECT_EQ(a, b);
}

TEST(Distributed, BadArguments) {
  // The environment (RANK, WORLD_SIZE, MASTER_*) is read by pipeline/worker.h
  // (tests/pipeline/test_worker.cpp).
  DistConfig bad;
  bad.backend = "mpi";
  EXPECT_THROW(ProcessGroup::create(bad), std::invalid_argument);
}

// Runs as one rank of two when VATT_TEST_RANK is set (started by TwoGlooProcessesMatchOneProcess).
TEST(Distributed, DISABLED_Worker) {
  const char* rank_env = std::getenv("VATT_TEST_RANK");
  const char* port_env = std::getenv("VATT_TEST_PORT");
  ASSERT_TRUE(rank_env && port_env) << "started by Distributed.TwoGlooProcessesMatchOneProcess only";
  torch::set_num_threads(1);  // two ranks share the machine's cores
  DistConfig config;
  config.rank = std::atoi(rank_env);
  config.world_size = 2;
  config.master_port = std::atoi(port_env);
  config.timeout = std::chrono::seconds(60);
  auto group = ProcessGroup::create(config);
  const int r = group->rank(), w = group->world_size();
  ASSERT_EQ(w, 2);

  // all-reduce and plain all-gather
  std::vector<torch::Tensor> t{torch::full({3}, r + 1.0), torch::arange(4, torch::kLong) * (r + 1)};
  group->all_reduce_sum(t);
  EXPECT_TRUE(torch::equal(t[0], torch::full({3}, 3.0)));
  EXPECT_TRUE(torch::equal(t[1], torch::arange(4, torch::kLong) * 3));
  EXPECT_TRUE(torch::equal(group->all_gather(torch::full({2, 2}, r * 1.0)),
                           torch::cat({torch::zeros({2, 2}), torch::ones({2, 2})})));

  // all_gather_with_grad: a contrastive loss of the global batch; averaged gradients equal the one-process
  // gradient of the same loss.
  torch::manual_seed(1);  // identical global data and weights on both ranks (and in the reference)
  auto xv = torch::randn({8, 5}), xa = torch::randn({8, 5});
  auto wv = torch::randn({5, 4}).requires_grad_(), wa = torch::randn({5, 4}).requires_grad_();
  auto rows = torch::indexing::Slice(4 * r, 4 * r + 4);
  auto zv = all_gather_with_grad(xv.index({rows}).mm(wv), group.get());
  auto za = all_gather_with_grad(xa.index({rows}).mm(wa), group.get());
  expect_close(zv, xv.mm(wv), "gathered embeddings");
  symmetric_mil_nce(zv, za.unsqueeze(1), {}, 0.1).backward();
  average_gradients({wv, wa}, group.get(), /*bucket_bytes=*/64);  // several buckets
  auto rv = wv.detach().clone().requires_grad_(), ra = wa.detach().clone().requires_grad_();
  symmetric_mil_nce(xv.mm(rv), xa.mm(ra).unsqueeze(1), {}, 0.1).backward();
  expect_close(wv.grad(), rv.grad(), "video weight gradient");
  expect_close(wa.grad(), ra.grad(), "audio weight gradient");

  // SyncBatchNorm: outputs, running statistics and gradients of the whole batch.
  auto x = torch::randn({8, 3}) * 2 + 0.5, coeff = torch::randn({8, 3});
  SyncBatchNorm bn(3, 0.1, 1e-5);
  torch::nn::BatchNorm1d ref(torch::nn::BatchNorm1dOptions(3).momentum(0.1).eps(1e-5));
  set_batch_norm_group(*bn, group.get());
  auto xl = x.index({rows}).clone().requires_grad_();
  auto yl = bn(xl);
  (yl * coeff.index({rows})).sum().backward();
  auto xr = x.clone().requires_grad_();
  auto yr = ref(xr);
  (yr * coeff).sum().backward();
  expect_close(yl, yr.index({rows}), "batch norm output");
  expect_close(bn->running_mean, ref->running_mean, "running mean");
  expect_close(bn->running_var, ref->running_var, "running var");
  expect_close(xl.grad(), xr.grad().index({rows}), "input gradient");
  average_gradients({bn->weight, bn->bias}, group.get());
  // The per-rank losses sum to the reference loss; averaging gives their mean, half the reference gradient.
  expect_close(bn->weight.grad() * w, ref->weight.grad(), "weight gradient");
  expect_close(bn->bias.grad() * w, ref->bias.grad(), "bias gradient");

  // A whole training step of `tiny` (no dropout or DropToken, so that both sides compute the same function):
  // the loss of the global batch equals one process's loss on the whole batch, and so do the new weights.
  auto c = make_config("tiny", {"dropout=0", "droptoken.video=0", "droptoken.audio=0"});
  torch::manual_seed(2);
  Vatt model(c), single(c);
  torch::manual_seed(3);
  auto batch = random_batch(c, 6, torch::kCPU, 3);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < model->parameters().size(); ++i)
      single->parameters()[i].copy_(model->parameters()[i]);
  }
  broadcast_parameters(*model, group.get());
  set_batch_norm_group(*model, group.get());
  auto adam = make_adam(model->parameters(), c.optim);
  auto adam_single = make_adam(single->parameters(), c.optim);
  auto half = [&](const torch::Tensor& v) { return v.index({torch::indexing::Slice(3 * r, 3 * r + 3)}); };
  TrainBatch local{half(batch.video), half(batch.audio), half(batch.text), half(batch.text_mask), {}};
  auto s = train_step(*model, *adam, local, 20, false, group.get());
  auto ref_step = train_step(*single, *adam_single, batch, 20, false);
  // 5e-5 relative: the two sides sum BatchNorm statistics and gradients in another order, and the glorot
  // initialisation's larger weights carry that rounding further than LibTorch's defaults did (2-3e-5 seen).
  EXPECT_NEAR(s.loss, ref_step.loss, 5e-5 * std::abs(ref_step.loss));
  EXPECT_NEAR(s.mil_nce, ref_step.mil_nce, 5e-5 * std::abs(ref_step.mil_nce));
  // Adam's first step moves each weight by about lr * sign(gradient), so a gradient near zero that rounds to
  // the other sign moves its weight by up to 2 lr: no weight may move more than Adam allows, and all but 0.1%
  // must agree within 1% of lr.
  const double lr = lr_at(c.optim, 20);
  auto p = model->named_parameters();
  int64_t off = 0, total = 0;
  for (const auto& q : single->named_parameters()) {
    auto diff = (p[q.key()] - q.value()).abs();
    EXPECT_LE(diff.max().item<double>(), 2.1 * lr) << q.key();
    off += (diff > 0.01 * lr).sum().item<int64_t>();
    total += diff.numel();
  }
  EXPECT_LT(off, total / 1000) << off << " of " << total << " weights differ by more than 1% of lr";
  group->barrier();
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(Distributed, TwoGlooProcessesMatchOneProcess) {
  const int port = free_port();
  ASSERT_GT(port, 0);
  std::vector<pid_t> pids;
  for (int rank = 0; rank < 2; ++rank) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    env_strings.push_back("VATT_TEST_RANK=" + std::to_string(rank));
    env_strings.push_back("VATT_TEST_PORT=" + std::to_string(port));
    env_strings.push_back("OMP_NUM_THREADS=1");
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string exe = "/proc/self/exe", filter = "--gtest_filter=Distributed.DISABLED_Worker",
                also = "--gtest_also_run_disabled_tests", brief = "--gtest_brief=1";
    char* argv[] = {exe.data(), filter.data(), also.data(), brief.data(), nullptr};
    pid_t pid;
    ASSERT_EQ(::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, envp.data()), 0);
    pids.push_back(pid);
  }
  // A rank that hangs (a collective without its peer) is killed after 120 s rather than hanging CTest.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::vector<int> status(2, 0);
  std::vector<bool> finished(2, false);
  while ((!finished[0] || !finished[1]) && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 2; ++i)
      if (!finished[i] && ::waitpid(pids[i], &status[i], WNOHANG) == pids[i]) finished[i] = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int i = 0; i < 2; ++i)
    if (!finished[i]) {
      ::kill(pids[i], SIGKILL);
      ::waitpid(pids[i], &status[i], 0);
      ADD_FAILURE() << "rank " << i << " did not finish within 120 s";
    }
  for (int i = 0; i < 2; ++i)
    EXPECT_TRUE(WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 0)
        << "rank " << i << " failed (status " << status[i] << "); its output is above";
}

}  // namespace
}  // namespace vatt::model
