#include "core/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "testing.h"

namespace strata {
namespace {

ino_t Inode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(WriteFileAtomic, CreatesParentsAndReplacesContent) {
  testing::TempDir dir;
  std::string path = dir.Sub("a/b/c.txt");
  ASSERT_TRUE(WriteFileAtomic(path, "one").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "two", Durability::kAtomicOnly).ok());
  EXPECT_EQ(*ReadFile(path), "two");
}

TEST(WriteFileIfChanged, LeavesAnIdenticalFileAloneAndRewritesADifferentOne) {
  testing::TempDir dir;
  std::string path = dir.Sub("compiled/m.sql");
  auto first = WriteFileIfChanged(path, "select 1\n");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(*first);
  ino_t before = Inode(path);

  auto same = WriteFileIfChanged(path, "select 1\n");
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(*same);
  EXPECT_EQ(Inode(path), before);  // not replaced

  // Same length, different bytes: compared by content, not by size.
  auto changed = WriteFileIfChanged(path, "select 2\n");
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(*ReadFile(path), "select 2\n");

  auto longer = WriteFileIfChanged(path, "select 22\n");
  ASSERT_TRUE(longer.ok() && *longer);
  EXPECT_EQ(*ReadFile(path), "select 22\n");
}

}  // namespace
}  // namespace strata
