// The lake's commit point under a misbehaving store (memory_object_store.h): failed, lost,
// torn and ambiguous writes, and short reads. Whatever a store does, a batch exists only with
// its manifest, a manifest never names a part that is not there in full, and a rerun ends
// with the same lake as an undisturbed run.
#include <gtest/gtest.h>

#include <set>

#include "lake/lake.h"
#include "lake/memory_object_store.h"
#include "testing.h"

namespace strata::lake {
namespace {

using Fault = MemoryObjectStore::Fault;

// A batch of two data parts and one quarantined record: four commits (part, part,
// quarantine file, manifest), in that order.
constexpr int kCommitsPerBatch = 4;

Result<Manifest> WriteBatch(Lake* lake) {
  STRATA_ASSIGN_OR_RETURN(auto batch, lake->BeginBatch("shop", "orders", "2024-01-01"));
  for (int part = 0; part < 2; ++part) {
    std::string key;
    STRATA_ASSIGN_OR_RETURN(auto w, batch->NewPart("jsonl", &key));
    std::string lines;
    for (int i = 0; i < 1000; ++i) lines += R"({"order_id":)" + std::to_string(part * 1000 + i) + "}\n";
    STRATA_RETURN_IF_ERROR(w->Append(lines));
    STRATA_ASSIGN_OR_RETURN(ObjectInfo info, w->Commit());
    batch->AddFile({key, "jsonl", 1000, info.size, info.sha256});
  }
  batch->Quarantine({{"line", 7}}, "malformed JSON", "{oops");
  Manifest m;
  m.records_received = 2001;
  m.records_landed = 2000;
  return batch->Commit(m);
}

// The objects of a lake, manifests reduced to their keys (they record when they were made).
std::map<std::string, std::string> Contents(const MemoryObjectStore& store) {
  auto objects = store.Objects();
  for (auto& [key, bytes] : objects) {
    if (key.find("/_manifests/") != std::string::npos) bytes = "(manifest)";
  }
  return objects;
}

// What an undisturbed run leaves.
std::map<std::string, std::string> Undisturbed(const std::string& scratch) {
  auto store = std::make_unique<MemoryObjectStore>(scratch);
  MemoryObjectStore* raw = store.get();
  Lake lake(std::move(store));
  EXPECT_TRUE(WriteBatch(&lake).ok());
  EXPECT_EQ(raw->commits(), kCommitsPerBatch);
  return Contents(*raw);
}

// Every file of every committed batch passes the manifest checks; returns the batches.
std::vector<Manifest> CheckedBatches(Lake* lake) {
  auto manifests = lake->Manifests("shop", "orders");
  EXPECT_TRUE(manifests.ok()) << manifests.status().ToString();
  if (!manifests.ok()) return {};
  for (const auto& m : *manifests) {
    for (const auto& f : m.files) {
      auto path = lake->CheckedPath(m, f);
      EXPECT_TRUE(path.ok()) << path.status().ToString();
    }
  }
  return *manifests;
}

TEST(StoreFaults, AFailedWriteAnywhereLeavesNoBatchAndARerunLandsItOnce) {
  testing::TempDir dir;
  const auto want = Undisturbed(dir.path());
  for (int n = 1; n <= kCommitsPerBatch; ++n) {
    SCOPED_TRACE("failed commit " + std::to_string(n));
    auto store = std::make_unique<MemoryObjectStore>(dir.path());
    MemoryObjectStore* raw = store.get();
    Lake lake(std::move(store));
    raw->FaultCommit(n, Fault::kFailWrite);
    auto first = WriteBatch(&lake);
    ASSERT_FALSE(first.ok());
    EXPECT_NE(first.status().message().find("injected fault"), std::string::npos) << first.status().message();
    EXPECT_TRUE(lake.Manifests("shop", "orders")->empty());
    EXPECT_FALSE(lake.Latest("shop", "orders")->has_value());

    auto second = WriteBatch(&lake);
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_EQ(second->sequence, 1);
    EXPECT_EQ(CheckedBatches(&lake).size(), 1u);
    EXPECT_EQ(Contents(*raw), want);
  }
}

TEST(StoreFaults, AnAmbiguousWriteLeavesNoOrphanAfterTheRerun) {
  testing::TempDir dir;
  const auto want = Undisturbed(dir.path());
  // The object lands, but the writer hears an error (a connection dropped after the upload).
  for (int n = 1; n < kCommitsPerBatch; ++n) {
    SCOPED_TRACE("ambiguous commit " + std::to_string(n));
    auto store = std::make_unique<MemoryObjectStore>(dir.path());
    MemoryObjectStore* raw = store.get();
    Lake lake(std::move(store));
    raw->FaultCommit(n, Fault::kFailAfterWrite);
    ASSERT_FALSE(WriteBatch(&lake).ok());
    EXPECT_TRUE(lake.Manifests("shop", "orders")->empty());
    ASSERT_TRUE(WriteBatch(&lake).ok());
    EXPECT_EQ(CheckedBatches(&lake).size(), 1u);
    EXPECT_EQ(Contents(*raw), want);  // the orphan of the first attempt is gone
  }
  // An ambiguous manifest commit did commit: the batch exists, and the next one follows it.
  auto store = std::make_unique<MemoryObjectStore>(dir.path());
  MemoryObjectStore* raw = store.get();
  Lake lake(std::move(store));
  raw->FaultCommit(kCommitsPerBatch, Fault::kFailAfterWrite);
  ASSERT_FALSE(WriteBatch(&lake).ok());
  EXPECT_EQ(Contents(*raw), want);
  auto next = lake.BeginBatch("shop", "orders", "2024-01-01");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ((*next)->sequence(), 2);
  EXPECT_EQ(CheckedBatches(&lake).size(), 1u);
}

TEST(StoreFaults, AManifestNeverNamesALostOrTornPart) {
  testing::TempDir dir;
  const auto want = Undisturbed(dir.path());
  for (Fault fault : {Fault::kLoseWrite, Fault::kTornWrite}) {
    for (int n = 1; n < kCommitsPerBatch; ++n) {  // the parts and the quarantine file
      SCOPED_TRACE((fault == Fault::kLoseWrite ? "lost commit " : "torn commit ") + std::to_string(n));
      auto store = std::make_unique<MemoryObjectStore>(dir.path());
      MemoryObjectStore* raw = store.get();
      Lake lake(std::move(store));
      raw->FaultCommit(n, fault);
      auto first = WriteBatch(&lake);
      ASSERT_FALSE(first.ok()) << "a manifest was committed over a part the store did not keep";
      EXPECT_NE(first.status().message().find("the batch is not committed"), std::string::npos)
          << first.status().message();
      EXPECT_TRUE(lake.Manifests("shop", "orders")->empty());
      ASSERT_TRUE(WriteBatch(&lake).ok());
      EXPECT_EQ(CheckedBatches(&lake).size(), 1u);
      EXPECT_EQ(Contents(*raw), want);
    }
  }
}

TEST(StoreFaults, ALostManifestMeansNoBatchAndTheRerunTakesItsPlace) {
  testing::TempDir dir;
  const auto want = Undisturbed(dir.path());
  auto store = std::make_unique<MemoryObjectStore>(dir.path());
  MemoryObjectStore* raw = store.get();
  Lake lake(std::move(store));
  raw->FaultCommit(kCommitsPerBatch, Fault::kLoseWrite);  // the store said yes, then lost it
  ASSERT_TRUE(WriteBatch(&lake).ok());
  // The manifest is the commit point: its parts alone make no batch.
  EXPECT_TRUE(lake.Manifests("shop", "orders")->empty());
  EXPECT_TRUE(lake.Tables()->empty());
  auto again = WriteBatch(&lake);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->sequence, 1);
  EXPECT_EQ(CheckedBatches(&lake).size(), 1u);
  EXPECT_EQ(Contents(*raw), want);
}

TEST(StoreFaults, ATornManifestIsAnErrorNamingIt) {
  testing::TempDir dir;
  auto store = std::make_unique<MemoryObjectStore>(dir.path());
  MemoryObjectStore* raw = store.get();
  Lake lake(std::move(store));
  raw->FaultCommit(kCommitsPerBatch, Fault::kTornWrite);
  ASSERT_TRUE(WriteBatch(&lake).ok());
  auto manifests = lake.Manifests("shop", "orders");
  ASSERT_FALSE(manifests.ok());
  EXPECT_NE(manifests.status().message().find("raw/shop/orders/_manifests/b00000001.json"), std::string::npos)
      << manifests.status().message();
}

TEST(StoreFaults, ShortReadsFailTheManifestChecks) {
  testing::TempDir dir;
  auto store = std::make_unique<MemoryObjectStore>(dir.path());
  MemoryObjectStore* raw = store.get();
  Lake lake(std::move(store));
  auto m = WriteBatch(&lake);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const ManifestFile& part = m->files[1];
  ASSERT_TRUE(lake.CheckedPath(*m, part).ok());

  raw->TruncateReads(part.key, part.bytes - 1);
  auto path = lake.CheckedPath(*m, part);
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), Status::Code::kCorruption);
  EXPECT_NE(path.status().message().find(part.key + " (batch b00000001) reads as " + std::to_string(part.bytes - 1) +
                                         " bytes"),
            std::string::npos)
      << path.status().message();
  EXPECT_TRUE(lake.CheckedPath(*m, m->files[0]).ok());  // the other part is untouched

  // A part moved away behind the lake's back is missing, not silently skipped.
  raw->ClearFaults();
  ASSERT_TRUE(raw->Move(part.key, "elsewhere/part").ok());
  path = lake.CheckedPath(*m, part);
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.status().message().find("is missing"), std::string::npos) << path.status().message();
}

TEST(StoreFaults, ReadablePathsEndWithTheirKeys) {
  testing::TempDir dir;
  auto store = std::make_unique<MemoryObjectStore>(dir.path());
  Lake lake(std::move(store));
  auto m = WriteBatch(&lake);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  for (const auto& f : m->files) {
    auto path = lake.CheckedPath(*m, f);
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    EXPECT_EQ(*path, dir.Sub("objects/" + f.key));
    EXPECT_EQ(testing::Slurp(*path), *lake.store()->Get(f.key));
  }
}

}  // namespace
}  // namespace strata::lake
