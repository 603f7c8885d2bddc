// vatt launch: starts N local data-parallel workers of one graph (`vatt run GRAPH ... --world-size N
// --rank R`), each in its own process with the torchrun-style environment. When one worker fails, the others
// are stopped (SIGTERM, then SIGKILL after a grace period) and the launcher reports which worker failed and
// how; running the same command again resumes from the last checkpoint. SIGINT/SIGTERM are passed on.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tools/vatt/cli_common.h"

namespace vatt::cli {
namespace {

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) {
  g_signal = sig;
}

/// A TCP port that is free now (the kernel's pick for port 0).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 29500;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 29500;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

int cmd_launch(const Args& args) {
  po::options_description opts("vatt launch options");
  int nproc = 2, port = 0;
  double grace = 10;
  std::vector<std::string> rest;
  opts.add_options()                                                                  //
      ("nproc,n", po::value(&nproc), "workers to start on this machine (default 2)")  //
      ("master-port", po::value(&port), "rendezvous port (default: a free one)")      //
      ("grace", po::value(&grace), "seconds the other workers get to stop after one fails (then SIGKILL)");
  po::options_description hidden;
  hidden.add_options()("rest", po::value(&rest), "GRAPH and vatt run options");
  po::positional_options_description pos;
  pos.add("rest", -1);
  po::variables_map vm;
  if (auto rc = parse_args(args,
                           "usage: vatt launch [-n N] GRAPH [vatt run options ...]\n"
                           "Starts N data-parallel workers of GRAPH on this machine (Gloo on CPU, NCCL on "
                           "GPUs); each reads its own shard of the data.\n"
                           "Put vatt run options after `--`, e.g. vatt launch -n 2 g.yaml -- --set a.b=1",
                           opts, pos, vm, hidden))
    return *rc;
  if (rest.empty() || nproc < 1) {
    std::fprintf(stderr, "vatt launch: expected a GRAPH and -n >= 1\n");
    return 2;
  }
  if (port <= 0) port = free_port();
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::fprintf(stderr, "vatt launch: cannot find the vatt executable (/proc/self/exe)\n");
    return 1;
  }
  self[n] = '\0';

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::map<pid_t, int> ranks;
  for (int r = 0; r < nproc; ++r) {
    std::vector<std::string> argv = {self, "run"};
    argv.insert(argv.end(), rest.begin(), rest.end());
    argv.insert(argv.end(), {"--world-size", std::to_string(nproc), "--rank", std::to_string(r),
                             "--master-addr", "127.0.0.1", "--master-port", std::to_string(port)});
    const bool progress_given = std::find(rest.begin(), rest.end(), "--progress") != rest.end();
    if (r > 0 && !progress_given)
      argv.insert(argv.end(), {"--progress", "0"});  // one progress line: rank 0's
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("vatt launch: fork");
      for (auto& [p, rk] : ranks) kill(p, SIGKILL);
      return 1;
    }
    if (pid == 0) {
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      execv(self, cargv.data());
      std::perror("vatt launch: exec");
      _exit(127);
    }
    ranks[pid] = r;
  }
  std::fprintf(stderr, "vatt launch: %d workers of %s (rendezvous 127.0.0.1:%d)\n", nproc, rest[0].c_str(),
               port);

  int exit_code = 0;
  bool stopping = false;
  auto stop_all = [&](int sig) {
    for (auto& [p, rk] : ranks) kill(p, sig);
  };
  auto deadline = std::chrono::steady_clock::time_point::max();
  bool forwarded = false;
  while (!ranks.empty()) {
    if (g_signal && !forwarded) {
      forwarded = true;
      stop_all(g_signal);  // each worker drains, checkpoints and exits 130/143
      if (!exit_code) exit_code = 128 + g_signal;
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      const int rank = ranks[pid];
      ranks.erase(pid);
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && !stopping && !forwarded) {
        std::fprintf(stderr,
                     "vatt launch: worker %d failed (%s); stopping the other %zu worker(s). Run the same "
                     "command again to resume from the last checkpoint.\n",
                     rank, describe(status).c_str(), ranks.size());
        exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        stopping = true;
        stop_all(SIGTERM);
        deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(grace * 1000));
      }
      continue;
    }
    if (stopping && std::chrono::steady_clock::now() > deadline) {
      stop_all(SIGKILL);
      deadline = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!exit_code) std::fprintf(stderr, "vatt launch: all %d workers finished\n", nproc);
  return exit_code;
}

}  // namespace vatt::cli
