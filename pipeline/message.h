// The unit that flows on graph edges: a key plus a shared, immutable, type-erased payload.
// Copying a Message copies a pointer, never the payload, so fan-out and queues cost no data copies.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

namespace vatt::pipeline {

/// Identifies a message: which source (a file, a stream, a node's own sequence) and its position in it.
/// A node that receives a message and emits a derived one keeps the key (e.g. an augmented clip); a node that
/// starts a new sequence (a source, `batch`) gives new keys.
struct Key {
  uint64_t source = 0;
  uint64_t seq = 0;
  bool operator==(const Key& o) const { return source == o.source && seq == o.seq; }
  bool operator<(const Key& o) const { return source != o.source ? source < o.source : seq < o.seq; }
};

/// Demangled C++ type name, for error messages.
std::string type_name(const std::type_info& t);

/// Thrown by Message::as<T>() when the payload has another type; the runtime turns it into an error message.
class PayloadTypeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Message {
 public:
  Message() = default;

  /// Wraps `value` (moved into one shared allocation) under `key`.
  template <class T>
  static Message make(Key key, T value) {
    Message m = make(std::move(value));
    m.key_ = key;
    m.has_key_ = true;
    return m;
  }
  /// Wraps `value` without a key: the runtime gives it the input's key (key-preserving ports) or the next key
  /// of the emitting node's own sequence (new-key ports).
  template <class T>
  static Message make(T value) {
    Message m;
    m.data_ = std::make_shared<const T>(std::move(value));
    m.type_ = &typeid(T);
    return m;
  }
  /// Shares an existing immutable payload (no copy).
  template <class T>
  static Message share(Key key, std::shared_ptr<const T> value) {
    Message m;
    m.key_ = key;
    m.has_key_ = true;
    m.data_ = std::move(value);
    m.type_ = &typeid(T);
    return m;
  }

  const Key& key() const { return key_; }
  bool has_key() const { return has_key_; }
  void set_key(Key k) {
    key_ = k;
    has_key_ = true;
  }
  bool empty() const { return !data_; }

  template <class T>
  bool holds() const {
    return type_ && *type_ == typeid(T);
  }
  /// The payload as T; throws PayloadTypeError naming both types when it is something else.
  template <class T>
  const T& as() const {
    if (!holds<T>()) {
      throw PayloadTypeError("message payload is " + (type_ ? type_name(*type_) : std::string("empty")) +
                             ", expected " + type_name(typeid(T)));
    }
    return *static_cast<const T*>(data_.get());
  }
  template <class T>
  std::shared_ptr<const T> shared() const {
    (void)as<T>();
    return std::static_pointer_cast<const T>(data_);
  }
  std::string payload_type() const { return type_ ? type_name(*type_) : "empty"; }
  /// The payload's C++ type; null when empty.
  const std::type_info* payload_typeid() const { return type_; }

 private:
  Key key_;
  bool has_key_ = false;
  std::shared_ptr<const void> data_;
  const std::type_info* type_ = nullptr;
};

/// Payload of the `errors` port of every node: what failed, where, and why.
struct ErrorRecord {
  std::string node;    ///< id of the node that reported it
  std::string kind;    ///< short class, counted in the summary ("exception", "corrupt_file", ...)
  std::string reason;  ///< human-readable, names the file/field and what was expected
  Key key;             ///< key of the message being processed when it happened
};

/// Payload of `batch` outputs: the grouped messages in arrival (or restored) order.
struct Batch {
  std::vector<Message> items;
};

/// Payload of the synthetic `counter` source: its value and an optional blob (to load memory in tests).
struct Count {
  int64_t value = 0;
  std::vector<uint8_t> blob;
};

}  // namespace vatt::pipeline
