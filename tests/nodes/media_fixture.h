// Test media generated at test time by tools/gen_media (vatt-gen-media) into the build tree, once for all
// test processes (ctest runs each test alone; a file lock makes concurrent ones wait for the first to
// finish).
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace vatt::test {

/// The folder holding every file vatt-gen-media writes with --bad (see tools/gen_media/gen_media.cpp for the
/// exact time-lines). Regenerated when the generator binary changes.
inline const std::string& media_dir() {
  static const std::string dir = [] {
    namespace fs = std::filesystem;
    const std::string d = std::string(VATT_BINARY_DIR) + "/test-media";
    const std::string gen = std::string(VATT_BINARY_DIR) + "/tools/vatt-gen-media";
    const std::string want = std::to_string(fs::last_write_time(gen).time_since_epoch().count());
    const int fd = ::open((d + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + d + ".lock");
    std::string have;
    std::ifstream(d + "/.stamp") >> have;
    if (have != want) {
      fs::remove_all(d);
      const std::string cmd = "'" + gen + "' '" + d + "' --bad";
      if (std::system(cmd.c_str()) != 0) {
        flock(fd, LOCK_UN);
        ::close(fd);
        throw std::runtime_error("failed: " + cmd);
      }
      std::ofstream(d + "/.stamp") << want;
    }
    flock(fd, LOCK_UN);
    ::close(fd);
    return d;
  }();
  return dir;
}

inline std::string media(const std::string& name) {
  return media_dir() + "/" + name;
}

}  // namespace vatt::test
