// The project's RocksDB database: one column family per record kind (sources, clips, texts,
// embeddings, runs). Durability: every write goes through the write-ahead log; `write()` applies a batch
// atomically (all of it or none survives a crash), and with `sync` it is on disk when write() returns.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vatt::storage {

enum class Family { Sources = 0, Clips, Texts, Embeddings, Runs };
const char* family_name(Family f);

/// Thrown with the path and RocksDB's status message when the database cannot be opened, read or written.
class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A set of writes applied atomically by Db::write.
class WriteSet {
 public:
  void put(Family f, std::string key, std::string value) {
    puts_.push_back({f, std::move(key), std::move(value)});
  }
  void erase(Family f, std::string key) { erases_.push_back({f, std::move(key)}); }
  bool empty() const { return puts_.empty() && erases_.empty(); }

 private:
  friend class Db;
  struct Put {
    Family f;
    std::string key, value;
  };
  struct Erase {
    Family f;
    std::string key;
  };
  std::vector<Put> puts_;
  std::vector<Erase> erases_;
};

/// How a process opens a database. RocksDB lets one process at a time hold a database for writing (its
/// LOCK file); readers do not need that: they open it as a secondary instance, which any number of processes
/// may do while one writer works (an ingest, a training and an evaluation on one store at once).
enum class Access {
  ReadWrite,  ///< creates the database if needed; one process at a time
  ReadOnly,   ///< the database as it is when opened (catch_up() sees what a writer added since); writes throw
};

class Db {
 public:
  /// Opens the database at `path` with every column family (ReadWrite creates it if needed). Throws
  /// StorageError.
  explicit Db(const std::string& path, Access access = Access::ReadWrite);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void put(Family f, std::string_view key, std::string_view value, bool sync = false);
  std::optional<std::string> get(Family f, std::string_view key) const;
  /// Applies every write of `w` atomically.
  void write(const WriteSet& w, bool sync = false);
  /// Calls `fn(key, value)` for each key starting with `prefix`, in byte order, until it returns false.
  void scan(Family f, std::string_view prefix,
            const std::function<bool(std::string_view, std::string_view)>& fn) const;
  /// The same, starting at key `start` (>= `prefix`) instead of the prefix's first key.
  void scan_from(Family f, std::string_view prefix, std::string_view start,
                 const std::function<bool(std::string_view, std::string_view)>& fn) const;
  const std::string& path() const { return path_; }
  bool read_only() const { return access_ == Access::ReadOnly; }
  /// ReadOnly: takes in what a writer has written since the open (or the last catch-up). ReadWrite: nothing.
  void catch_up();

 private:
  void writable(const char* what) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
  Access access_;
};

}  // namespace vatt::storage
