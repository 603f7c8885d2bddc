// Runs the real `vatt` binary as a child process, for tests of the command line (exit codes, signals,
// output).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace vatt::test {

inline std::string vatt_binary() {
  return std::string(VATT_BINARY_DIR) + "/tools/vatt";
}

struct Result {
  int exit_code = -1;
  std::string output;  ///< stdout and stderr together
};

/// Runs vatt with `args`; when `signal_after_ms` >= 0 sends `signo` that long after the output shows `ready`
/// (so that a slow start under load cannot make the signal arrive before the handlers). Waits for the exit.
inline Result run_vatt(const std::vector<std::string>& args, int signal_after_ms = -1, int signo = SIGTERM,
                       const std::string& ready = "running graph") {
  char tmpl[] = "/tmp/vatt-test-out-XXXXXX";
  int fd = mkstemp(tmpl);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    std::string bin = vatt_binary();
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  if (signal_after_ms >= 0) {
    for (int i = 0; i < 3000; ++i) {
      std::ifstream in(tmpl);
      std::stringstream ss;
      ss << in.rdbuf();
      if (ss.str().find(ready) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(signal_after_ms));
    kill(pid, signo);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(tmpl);
  std::stringstream ss;
  ss << in.rdbuf();
  r.output = ss.str();
  close(fd);
  unlink(tmpl);
  return r;
}

inline std::string temp_path(const std::string& name) {
  return "/tmp/vatt-test-" + std::to_string(getpid()) + "-" + name;
}

}  // namespace vatt::test

namespace vatt::test {

/// A vatt process running in the background, its stdout and stderr going to a file.
struct Child {
  pid_t pid = -1;
  std::string out_path;

  std::string output() const {
    std::ifstream in(out_path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  /// Waits until the output contains `text` (true) or `timeout_s` passed or the process ended (false).
  bool wait_for(const std::string& text, double timeout_s) const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < end) {
      if (output().find(text) != std::string::npos) return true;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) return output().find(text) != std::string::npos;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  /// Waits for the exit (or reaps an already ended one); exit code, 128 + signal when killed.
  int wait() {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

inline Child spawn_vatt(const std::vector<std::string>& args) {
  char tmpl[] = "/tmp/vatt-test-bg-XXXXXX";
  const int fd = mkstemp(tmpl);
  Child c;
  c.out_path = tmpl;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<std::string> copy = args;
    std::string bin = vatt_binary();
    std::vector<char*> argv{bin.data()};
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(fd);
  return c;
}

}  // namespace vatt::test
