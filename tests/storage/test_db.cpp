// The RocksDB layer: column families survive reopening, write sets are atomic, scans are ordered by key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "storage/db.h"
#include "storage/keys.h"

namespace vatt::storage {
namespace {

std::string temp_dir(const char* name) {
  auto p = std::filesystem::temp_directory_path() / ("vatt-db-" + std::to_string(getpid()) + "-" + name);
  std::filesystem::remove_all(p);
  return p.string();
}

TEST(Keys, BigEndianOrderEqualsNumericOrder) {
  EXPECT_LT(key_u64x2(1, 255), key_u64x2(1, 256));
  EXPECT_LT(key_u64x2(1, 0xffffffffull), key_u64x2(2, 0));
  EXPECT_EQ(get_u64(key_u64x2(7, 0x0102030405060708ull), 8), 0x0102030405060708ull);
  EXPECT_THROW(get_u64("short"), std::out_of_range);
}

TEST(Db, ValuesPersistAcrossReopenPerFamily) {
  auto dir = temp_dir("persist");
  {
    Db db(dir);
    db.put(Family::Clips, "k", "clip");
    db.put(Family::Texts, "k", "text", true);
  }
  Db db(dir);
  EXPECT_EQ(db.get(Family::Clips, "k").value_or(""), "clip");
  EXPECT_EQ(db.get(Family::Texts, "k").value_or(""), "text");
  EXPECT_FALSE(db.get(Family::Runs, "k").has_value());
  std::filesystem::remove_all(dir);
}

TEST(Db, ScanIsOrderedAndStopsAtThePrefix) {
  auto dir = temp_dir("scan");
  Db db(dir);
  for (uint64_t s : {3, 1, 2})
    for (uint64_t c : {300, 2, 10}) db.put(Family::Clips, key_u64x2(s, c), std::to_string(s * 1000 + c));
  std::string prefix;
  put_u64(prefix, 2);
  std::vector<uint64_t> seen;
  db.scan(Family::Clips, prefix, [&](std::string_view k, std::string_view) {
    seen.push_back(get_u64(k, 8));
    return true;
  });
  EXPECT_EQ(seen, (std::vector<uint64_t>{2, 10, 300}));
  std::filesystem::remove_all(dir);
}

TEST(Db, WriteSetAppliesAllOfItsWrites) {
  auto dir = temp_dir("batch");
  Db db(dir);
  db.put(Family::Sources, "old", "x");
  WriteSet w;
  w.put(Family::Clips, "a", "1");
  w.put(Family::Texts, "a", "2");
  w.erase(Family::Sources, "old");
  db.write(w, true);
  EXPECT_EQ(db.get(Family::Clips, "a").value_or(""), "1");
  EXPECT_EQ(db.get(Family::Texts, "a").value_or(""), "2");
  EXPECT_FALSE(db.get(Family::Sources, "old").has_value());
  std::filesystem::remove_all(dir);
}

TEST(Db, UnopenablePathNamesThePath) {
  try {
    Db db("/proc/no-such-dir/db");
    FAIL() << "opened";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/no-such-dir/db"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vatt::storage
