// Declarations of the few Gloo types that LibTorch's ProcessGroupGloo.hpp names. The PyPI torch wheel ships
// Gloo compiled into libtorch_cpu but not its headers; model/distributed.cpp only passes these types around
// by pointer and calls ProcessGroupGloo's exported functions, so declarations are all it needs.
// Nothing here is ever defined, constructed or called from our code.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace gloo {

class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);
};

namespace transport {
class Device;
class UnboundBuffer;
}  // namespace transport

namespace rendezvous {
// Same virtual interface as Gloo's (v1, without GLOO_STORE_HAS_STORE_V2), so that ProcessGroupGloo's inline
// GlooStore compiles; we never instantiate it.
class Store {
 public:
  virtual ~Store() = default;
  virtual void set(const std::string& key, const std::vector<char>& data) = 0;
  virtual std::vector<char> get(const std::string& key) = 0;
  virtual void wait(const std::vector<std::string>& keys) = 0;
  virtual void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) = 0;
};
}  // namespace rendezvous

}  // namespace gloo
