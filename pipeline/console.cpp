// Progress line + log lines on one terminal, serialised by one mutex.
#include "pipeline/console.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>

namespace vatt::pipeline {
namespace {

std::mutex g_mu;
std::string g_line;  // the progress line on screen now; empty when none

class ConsoleSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    std::lock_guard<std::mutex> lk(g_mu);
    if (!g_line.empty()) std::fputs("\r\033[K", stderr);
    std::fwrite(buf.data(), 1, buf.size(), stderr);
    if (!g_line.empty()) std::fputs(g_line.c_str(), stderr);
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

bool console_is_tty() {
  return isatty(STDERR_FILENO) == 1;
}

void install_console_logger() {
  auto logger = std::make_shared<spdlog::logger>("vatt", std::make_shared<ConsoleSink>());
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
  logger->set_level(spdlog::default_logger()->level());
  spdlog::set_default_logger(logger);
}

void console_progress(const std::string& line) {
  std::lock_guard<std::mutex> lk(g_mu);
  g_line = line;
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
}

void console_progress_done() {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_line.empty()) return;
  std::fputs("\n", stderr);
  std::fflush(stderr);
  g_line.clear();
}

}  // namespace vatt::pipeline
