// A corpus (24 training + 12 held-out narrated videos, with its class-folder and captions layouts), its clip
// store and a tiny model trained 240 steps on it: made once per build tree and shared by the test executables
// that need a trained model (search, serve, eval).
// A lock file orders concurrent test processes.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "tests/graphs/run_vatt.h"

namespace vatt::test {

/// Tests copy the clip store before writing (RocksDB allows one process per database).
struct Trained {
  std::string dir, corpus, clips, ckpt;
};

inline const Trained& trained() {
  static Trained t = [] {
    Trained r;
    r.dir = "/tmp/vatt-test-search-fixture-v2-" + std::to_string(std::hash<std::string>()(VATT_BINARY_DIR));
    r.corpus = r.dir + "/corpus";
    r.clips = r.dir + "/clips.db";
    r.ckpt = r.dir + "/ckpt";
    std::filesystem::create_directories(r.dir);
    const int lock = ::open((r.dir + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
    flock(lock, LOCK_EX);
    if (!std::filesystem::exists(r.dir + "/done")) {
      std::filesystem::remove_all(r.dir);
      std::filesystem::create_directories(r.dir);
      const std::string gen = std::string(VATT_BINARY_DIR) + "/tools/vatt-gen-media --corpus " + r.corpus +
                              " --videos 24 --heldout 12 > " + r.dir + "/gen.log 2>&1";
      if (std::system(gen.c_str()) != 0) throw std::runtime_error("corpus generation failed: " + r.dir);
      auto ingest = run_vatt({"run", std::string(VATT_SOURCE_DIR) + "/graphs/" + "ingest.yaml", "--progress",
                              "0", "--set", "src.uri=" + r.corpus + "/train", "--set", "store.db=" + r.clips,
                              "--set", "store.store_media=true", "--set", "src.fps=2.5", "--set",
                              "src.short_side=40", "--set", "src.sample_rate=8000", "--set", "src.asr=off"});
      if (ingest.exit_code != 0) throw std::runtime_error("ingest failed:\n" + ingest.output);
      auto train =
          run_vatt({"run", std::string(VATT_SOURCE_DIR) + "/graphs/" + "pretrain.yaml", "--progress", "0",
                    "--set", "src.uri=" + r.clips, "--set", "train.checkpoint_dir=" + r.ckpt, "--set",
                    "train.steps=240", "--set", "batch.size=24", "--set", "train.checkpoint_every=0"});
      if (train.exit_code != 0) throw std::runtime_error("training failed:\n" + train.output);
      std::ofstream(r.dir + "/done") << "ok\n";
    }
    flock(lock, LOCK_UN);
    ::close(lock);
    return r;
  }();
  return t;
}

}  // namespace vatt::test
