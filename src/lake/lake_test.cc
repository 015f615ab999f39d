#include "lake/lake.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "lake/jsonl_writer.h"
#include "testing.h"

namespace strata::lake {
namespace {

std::unique_ptr<Lake> OpenLake(const std::string& dir) {
  auto store = OpenObjectStore(dir);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return std::make_unique<Lake>(std::move(*store));
}

TEST(LocalObjectStore, ObjectsAreImmutable) {
  testing::TempDir dir;
  auto store = *OpenObjectStore(dir.path());
  ASSERT_TRUE(store->Put("a/b.txt", "one").ok());
  auto again = store->Put("a/b.txt", "two");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(*store->Get("a/b.txt"), "one");
}

TEST(LocalObjectStore, UncommittedWriterLeavesNothing) {
  testing::TempDir dir;
  auto store = *OpenObjectStore(dir.path());
  {
    auto w = *store->NewWriter("x/y.bin");
    ASSERT_TRUE(w->Append("partial").ok());
    EXPECT_TRUE(std::filesystem::exists(w->staging_path()));
  }  // destroyed without Commit
  EXPECT_FALSE(*store->Exists("x/y.bin"));
  EXPECT_TRUE(store->List("x/")->empty());
  EXPECT_TRUE(std::filesystem::is_empty(dir.Sub("x")));
}

TEST(LocalObjectStore, CommitReportsSizeAndChecksum) {
  testing::TempDir dir;
  auto store = *OpenObjectStore(dir.path());
  auto info = store->Put("k", "abc");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 3);
  // sha256("abc"), computed independently.
  EXPECT_EQ(info->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_FALSE(store->Put("../escape", "x").ok());
}

TEST(Lake, BatchWithoutManifestDoesNotExist) {
  testing::TempDir dir;
  auto lake = OpenLake(dir.path());
  {
    auto batch = *lake->BeginBatch("src", "t", "2024-01-01");
    std::string key;
    auto w = *batch->NewPart("jsonl.zst", &key);
    ASSERT_TRUE(w->Append("data").ok());
    ASSERT_TRUE(w->Commit().ok());
    // no batch->Commit(): a crash before the manifest
  }
  EXPECT_FALSE(lake->Latest("src", "t")->has_value());
  EXPECT_TRUE(lake->Tables()->empty());

  // The next attempt reuses the batch id and clears the leftover part.
  auto batch = *lake->BeginBatch("src", "t", "2024-01-01");
  EXPECT_EQ(batch->batch_id(), "b00000001");
  EXPECT_TRUE(lake->store()->List("raw/src/t/dt=2024-01-01/")->empty());
}

TEST(Lake, ManifestCommitsStateAndQuarantine) {
  testing::TempDir dir;
  auto lake = OpenLake(dir.path());
  auto batch = *lake->BeginBatch("src", "events", "2024-01-02");
  std::string key;
  JsonlZstdWriter w(*batch->NewPart("jsonl.zst", &key));
  ASSERT_TRUE(w.AddLine(R"({"a":1})").ok());
  ASSERT_TRUE(w.AddLine(R"({"a":2})").ok());
  auto info = w.Finish();
  ASSERT_TRUE(info.ok());
  batch->AddFile({key, "jsonl.zst", 2, info->size, info->sha256});
  batch->Quarantine({{"file", "f.jsonl"}, {"line", 3}}, "malformed JSON", "{oops");
  Manifest m;
  m.records_received = 3;
  m.records_landed = 2;
  m.state = {{"consumed", {{"f.jsonl", 1}}}};
  m.schema = {{"a", "BIGINT"}};
  ASSERT_TRUE(batch->Commit(m).ok());

  auto latest = lake->Latest("src", "events");
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  const Manifest& got = **latest;
  EXPECT_EQ(got.batch_id, "b00000001");
  EXPECT_EQ(got.logical_date, "2024-01-02");
  EXPECT_EQ(got.records_received, 3);
  EXPECT_EQ(got.records_quarantined, 1);
  ASSERT_EQ(got.files.size(), 1u);
  EXPECT_EQ(got.files[0].key, "raw/src/events/dt=2024-01-02/b00000001-0000.jsonl.zst");
  ASSERT_TRUE(got.quarantine.has_value());
  EXPECT_EQ(got.state["consumed"]["f.jsonl"], 1);
  std::string q = *lake->store()->Get(got.quarantine->key);
  EXPECT_NE(q.find("\"reason\":\"malformed JSON\""), std::string::npos) << q;
  EXPECT_NE(q.find("\"line\":3"), std::string::npos);
  EXPECT_NE(q.find("\"record\":\"{oops\""), std::string::npos);
  // The compressed part decompresses to the lines (checked with the zstd tool).
  auto r = testing::RunCommand({"/usr/bin/zstd", "-dc", dir.Sub(got.files[0].key)});
  EXPECT_EQ(r.out, "{\"a\":1}\n{\"a\":2}\n");

  auto next = *lake->BeginBatch("src", "events", "2024-01-03");
  EXPECT_EQ(next->sequence(), 2);
  EXPECT_EQ(lake->Tables()->size(), 1u);
}

}  // namespace
}  // namespace strata::lake
