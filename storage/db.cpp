// RocksDB wrapper: column families per record kind, atomic write sets, ordered prefix scans.
#include "storage/db.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <stdlib.h>

#include <rocksdb/write_batch.h>
#include <filesystem>

namespace vatt::storage {

namespace {
constexpr Family kFamilies[] = {Family::Sources, Family::Clips, Family::Texts, Family::Embeddings,
                                Family::Runs};
}

const char* family_name(Family f) {
  switch (f) {
    case Family::Sources:
      return "sources";
    case Family::Clips:
      return "clips";
    case Family::Texts:
      return "texts";
    case Family::Embeddings:
      return "embeddings";
    case Family::Runs:
      return "runs";
  }
  return "?";
}

struct Db::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // [0] = default, then kFamilies order
  rocksdb::ColumnFamilyHandle* cf(Family f) const { return handles[1 + static_cast<int>(f)]; }
  std::string secondary_dir;  // ReadOnly: the secondary instance's own folder
  ~Impl() {
    for (auto* h : handles)
      if (db && h) db->DestroyColumnFamilyHandle(h);
    db.reset();
    if (!secondary_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(secondary_dir, ec);
    }
  }
};

static void check(const rocksdb::Status& s, const std::string& path, const char* what) {
  if (!s.ok()) throw StorageError(path + ": " + what + ": " + s.ToString());
}

Db::Db(const std::string& path, Access access)
    : impl_(std::make_unique<Impl>()), path_(path), access_(access) {
  rocksdb::DBOptions opts;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (Family f : kFamilies) cfs.emplace_back(family_name(f), rocksdb::ColumnFamilyOptions());
  rocksdb::DB* raw = nullptr;
  if (access == Access::ReadWrite) {
    opts.create_if_missing = true;
    opts.create_missing_column_families = true;
    check(rocksdb::DB::Open(opts, path, cfs, &impl_->handles, &raw), path, "cannot open database");
  } else {
    // A secondary instance: no LOCK taken; its own small folder holds its info log, removed at close.
    opts.max_open_files = -1;  // required by secondary instances
    char tmpl[] = "/tmp/vatt-reader-XXXXXX";
    if (!mkdtemp(tmpl)) throw StorageError(path + ": cannot make a folder for a read-only open");
    impl_->secondary_dir = tmpl;
    check(rocksdb::DB::OpenAsSecondary(opts, path, impl_->secondary_dir, cfs, &impl_->handles, &raw), path,
          "cannot open database for reading");
  }
  impl_->db.reset(raw);
  if (access == Access::ReadOnly) catch_up();
}

void Db::catch_up() {
  if (access_ != Access::ReadOnly) return;
  check(impl_->db->TryCatchUpWithPrimary(), path_, "cannot follow the writer");
}

void Db::writable(const char* what) const {
  if (access_ == Access::ReadOnly)
    throw StorageError(path_ + ": " + what + ": the database was opened read-only");
}

Db::~Db() = default;

void Db::put(Family f, std::string_view key, std::string_view value, bool sync) {
  writable("write");
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  check(impl_->db->Put(wo, impl_->cf(f), rocksdb::Slice(key.data(), key.size()),
                       rocksdb::Slice(value.data(), value.size())),
        path_, "write failed");
}

std::optional<std::string> Db::get(Family f, std::string_view key) const {
  std::string v;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(f), rocksdb::Slice(key.data(), key.size()), &v);
  if (s.IsNotFound()) return std::nullopt;
  check(s, path_, "read failed");
  return v;
}

void Db::write(const WriteSet& w, bool sync) {
  writable("write");
  rocksdb::WriteBatch b;
  for (const auto& p : w.puts_) b.Put(impl_->cf(p.f), p.key, p.value);
  for (const auto& e : w.erases_) b.Delete(impl_->cf(e.f), e.key);
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  check(impl_->db->Write(wo, &b), path_, "batch write failed");
}

void Db::scan(Family f, std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) const {
  scan_from(f, prefix, prefix, fn);
}

void Db::scan_from(Family f, std::string_view prefix, std::string_view start,
                   const std::function<bool(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(f)));
  for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
    auto k = it->key();
    if (!k.starts_with(rocksdb::Slice(prefix.data(), prefix.size()))) break;
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(it->value().data(), it->value().size())))
      break;
  }
  check(it->status(), path_, "scan failed");
}

}  // namespace vatt::storage
