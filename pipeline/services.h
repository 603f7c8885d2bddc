// Objects a running graph shares with the program around it, by name: a node publishes one (e.g. the live
// sources it reads, so that an HTTP API can add and remove them), the runner finds it. Handed to nodes in
// NodeConfig and to the runtime in RunOptions (no process-wide registry).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <typeindex>

namespace vatt::pipeline {

class Services {
 public:
  /// Publishes `obj` under `name` (replacing what was there).
  template <class T>
  void publish(const std::string& name, std::shared_ptr<T> obj) {
    std::lock_guard<std::mutex> lk(mu_);
    items_[name] = Item{std::type_index(typeid(T)), std::move(obj)};
    cv_.notify_all();
  }
  /// The object published under `name` as a T; null when there is none yet. Throws std::logic_error when it
  /// is of another type.
  template <class T>
  std::shared_ptr<T> find(const std::string& name) const {
    std::lock_guard<std::mutex> lk(mu_);
    return get<T>(name);
  }
  /// Waits up to `timeout` for `name` to be published.
  template <class T>
  std::shared_ptr<T> wait(const std::string& name, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, timeout, [&] { return items_.count(name) != 0; });
    return get<T>(name);
  }

 private:
  struct Item {
    std::type_index type = std::type_index(typeid(void));
    std::shared_ptr<void> obj;
  };
  template <class T>
  std::shared_ptr<T> get(const std::string& name) const {
    auto it = items_.find(name);
    if (it == items_.end()) return nullptr;
    if (it->second.type != std::type_index(typeid(T)))
      throw std::logic_error("service '" + name + "' has another type");
    return std::static_pointer_cast<T>(it->second.obj);
  }
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, Item> items_;
};

}  // namespace vatt::pipeline
