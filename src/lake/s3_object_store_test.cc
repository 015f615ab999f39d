// The ObjectStore contract on both backends (a local folder; S3 through a real S3 protocol
// server behind a front that checks every SigV4 signature with AWS's signer), and the S3
// store's own duties: signing, conditional writes, multipart uploads, listing pages, retries
// and the faults a network and a store produce.
#include "lake/s3_object_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <thread>

#include "core/hash.h"
#include "lake/lake.h"
#include "lake/s3_test_server.h"
#include "testing.h"

namespace strata::lake {
namespace {

// ---- the contract on both backends ----------------------------------------------------------

class StoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "s3") {
      server_ = std::make_unique<S3TestServer>();
      store_ = server_->Open();
    } else {
      store_ = *OpenObjectStore(dir_.Sub("lake"));
    }
    ASSERT_NE(store_, nullptr);
  }
  testing::TempDir dir_;
  std::unique_ptr<S3TestServer> server_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_P(StoreContract, ObjectsAreImmutableAndChecksummed) {
  auto info = store_->Put("a/dt=2024-01-01/b.txt", "abc");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 3);
  // sha256("abc"), computed independently.
  EXPECT_EQ(info->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto again = store_->Put("a/dt=2024-01-01/b.txt", "two");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(*store_->Get("a/dt=2024-01-01/b.txt"), "abc");
  EXPECT_EQ(store_->Stat("a/dt=2024-01-01/b.txt")->size, 3);
  EXPECT_FALSE(store_->Put("../escape", "x").ok());
  EXPECT_EQ(store_->Get("a/missing").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->Stat("a/missing").status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(*store_->Exists("a/missing"));
}

TEST_P(StoreContract, AnUncommittedWriterLeavesNothing) {
  {
    auto w = *store_->NewWriter("x/y.bin");
    ASSERT_TRUE(w->Append("partial").ok());
    EXPECT_TRUE(std::filesystem::exists(w->staging_path()));
  }
  EXPECT_FALSE(*store_->Exists("x/y.bin"));
  EXPECT_TRUE(store_->List("x/")->empty());
}

TEST_P(StoreContract, AProducerMayWriteTheStagingFileItself) {
  auto w = *store_->NewWriter("p/file.bin");
  testing::WriteText(w->staging_path(), "written by DuckDB");
  auto info = w->Commit();
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->sha256, Sha256::Of("written by DuckDB"));
  EXPECT_EQ(*store_->Get("p/file.bin"), "written by DuckDB");
}

TEST_P(StoreContract, ListsByPrefixInKeyOrderAndDeletesAndMoves) {
  for (const char* k : {"t/b", "t/a", "t/c/d", "u/a", "tt/x"}) ASSERT_TRUE(store_->Put(k, k).ok());
  auto listed = store_->List("t/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<std::string> keys;
  for (const auto& o : *listed) keys.push_back(o.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"t/a", "t/b", "t/c/d"}));
  EXPECT_EQ((*listed)[2].size, 5);
  ASSERT_TRUE(store_->Delete("t/a").ok());
  ASSERT_TRUE(store_->Delete("t/a").ok());  // already gone: fine
  ASSERT_TRUE(store_->Move("t/b", "moved/b").ok());
  EXPECT_FALSE(*store_->Exists("t/b"));
  EXPECT_EQ(*store_->Get("moved/b"), "t/b");
  EXPECT_TRUE(store_->Move("t/b", "moved/b").ok());  // a move done before
  EXPECT_EQ(store_->Move("u/a", "moved/b").code(), Status::Code::kAlreadyExists);
  auto path = store_->ReadablePath("t/c/d");
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(testing::Slurp(*path), "t/c/d");
  EXPECT_EQ(path->substr(path->size() - 5), "t/c/d");
}

TEST_P(StoreContract, ALakeBatchCommitsAndReadsBackTheSame) {
  Lake lake(std::move(store_));
  auto batch = *lake.BeginBatch("src", "t", "2024-01-02");
  std::string key;
  auto w = *batch->NewPart("jsonl", &key);
  ASSERT_TRUE(w->Append("{\"a\":1}\n").ok());
  auto info = w->Commit();
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  batch->AddFile({key, "jsonl", 1, info->size, info->sha256});
  Manifest m;
  m.records_received = m.records_landed = 1;
  ASSERT_TRUE(batch->Commit(m).ok());
  auto latest = lake.Latest("src", "t");
  ASSERT_TRUE(latest.ok() && latest->has_value()) << latest.status().ToString();
  auto path = lake.CheckedPath(**latest, (*latest)->files[0]);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(testing::Slurp(*path), "{\"a\":1}\n");
  EXPECT_EQ((*lake.BeginBatch("src", "t", "2024-01-03"))->sequence(), 2);
}

TEST_P(StoreContract, VerifyFindsTamperedFilesAndGcRemovesOnlyWhatNoManifestNames) {
  Lake lake(std::move(store_));
  ObjectStore* store = lake.store();
  auto batch = *lake.BeginBatch("src", "t", "2024-01-02");
  std::string key;
  auto w = *batch->NewPart("jsonl", &key);
  ASSERT_TRUE(w->Append("{\"a\":1}\n").ok());
  auto info = *w->Commit();
  batch->AddFile({key, "jsonl", 1, info.size, info.sha256});
  ASSERT_TRUE(batch->Commit(Manifest()).ok());
  // A failed attempt at batch 2: a part committed, no manifest; and one in another partition.
  {
    auto failed = *lake.BeginBatch("src", "t", "2024-01-03");
    std::string k2;
    auto w2 = *failed->NewPart("jsonl", &k2);
    ASSERT_TRUE(w2->Append("orphan").ok());
    ASSERT_TRUE(w2->Commit().ok());
  }
  ASSERT_TRUE(store->Put("raw/src/t/dt=2024-01-09/b00000002-0000.jsonl", "orphan too").ok());

  auto ok = lake.Verify();
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->batches, 1);
  EXPECT_EQ(ok->files, 1);
  EXPECT_TRUE(ok->problems.empty());

  auto dry = lake.CollectGarbage(/*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_EQ(dry->removed, (std::vector<std::string>{"raw/src/t/dt=2024-01-03/b00000002-0000.jsonl",
                                                    "raw/src/t/dt=2024-01-09/b00000002-0000.jsonl"}));
  EXPECT_TRUE(*store->Exists("raw/src/t/dt=2024-01-09/b00000002-0000.jsonl"));
  auto gc = lake.CollectGarbage(/*dry_run=*/false);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->removed.size(), 2u);
  EXPECT_FALSE(*store->Exists("raw/src/t/dt=2024-01-09/b00000002-0000.jsonl"));
  EXPECT_TRUE(*store->Exists(key));  // committed: never collected
  EXPECT_TRUE(lake.CollectGarbage(false)->removed.empty());

  // A committed file replaced behind the lake's back is reported, with its batch.
  ASSERT_TRUE(store->Delete(key).ok());
  ASSERT_TRUE(store->Put(key, "{\"a\":666}\n").ok());
  auto bad = lake.Verify();
  ASSERT_TRUE(bad.ok());
  ASSERT_EQ(bad->problems.size(), 1u);
  EXPECT_EQ(bad->problems[0].key, key);
  EXPECT_EQ(bad->problems[0].batch, "src.t b00000001");
  EXPECT_NE(bad->problems[0].reason.find("bytes, its manifest says"), std::string::npos) << bad->problems[0].reason;
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::Values("local", "s3"));

// ---- S3 only ---------------------------------------------------------------------------------

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(S3Store, AWrongSecretIsRefusedAndTheRightOneAccepted) {
  S3TestServer server;
  S3Options bad = server.Options();
  bad.credentials.secret_access_key = "not-the-secret";
  bad.retry.max_attempts = 1;
  auto store = *OpenS3ObjectStore(bad);
  auto put = store->Put("k", "v");
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.status().message().find("SignatureDoesNotMatch"), std::string::npos) << put.status().message();
  EXPECT_EQ(put.status().message().find("not-the-secret"), std::string::npos);  // never shown
  EXPECT_NE(server.Stats().find("\"rejected_signatures\":1"), std::string::npos) << server.Stats();
  EXPECT_TRUE(server.Open()->Put("k", "v").ok());
}

TEST(S3Store, CredentialsComeFromTheEnvironmentOrTheSharedFile) {
  testing::TempDir dir;
  testing::WriteText(dir.Sub("credentials"),
                     "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n"
                     "[ci]\naws_access_key_id=AKIDCI\naws_secret_access_key=s2\naws_session_token = tok\n");
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", dir.Sub("credentials").c_str(), 1);
  ::setenv("AWS_PROFILE", "ci", 1);
  auto c = S3CredentialsFromEnvironment();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDCI");
  EXPECT_EQ(c->session_token, "tok");
  ::setenv("AWS_PROFILE", "nope", 1);
  auto none = S3CredentialsFromEnvironment();
  EXPECT_EQ(none.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(none.status().message().find("s2"), std::string::npos);
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "s3", 1);
  EXPECT_EQ(S3CredentialsFromEnvironment()->access_key_id, "AKIDENV");
  for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE"}) {
    ::unsetenv(v);
  }
}

TEST(S3Store, LocationsParse) {
  auto o = ParseS3Location("s3://bucket/a/b/?region=eu-west-1&endpoint=http://127.0.0.1:9000&cache_mb=64");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->bucket, "bucket");
  EXPECT_EQ(o->prefix, "a/b");
  EXPECT_EQ(o->region, "eu-west-1");
  EXPECT_TRUE(o->path_style);  // a custom endpoint
  EXPECT_EQ(o->cache_bytes, int64_t{64} << 20);
  EXPECT_FALSE(ParseS3Location("s3:///x").ok());
  EXPECT_FALSE(ParseS3Location("s3://b/p?colour=red").ok());
  EXPECT_FALSE(ParseS3Location("s3://b/p?path_style=maybe").ok());
  auto aws = ParseS3Location("s3://b");
  ASSERT_TRUE(aws.ok());
  EXPECT_FALSE(aws->path_style);
  EXPECT_EQ(aws->prefix, "");
}

TEST(S3Store, LargeObjectsUploadInPartsAndReadBackWhole) {
  S3TestServer server;
  S3Options o = server.Options();
  o.multipart_threshold = 1 << 20;
  o.part_size = 5 << 20;
  auto store = *OpenS3ObjectStore(o);
  const std::string data = RandomBytes((12 << 20) + 123, 7);  // three parts
  auto info = store->Put("big/object.bin", data);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->sha256, Sha256::Of(data));
  EXPECT_EQ(*store->Get("big/object.bin"), data);
  EXPECT_NE(server.Stats().find("\"uploads\":[]"), std::string::npos) << server.Stats();
  // A second multipart write of the key loses, and leaves no upload behind.
  auto again = store->Put("big/object.bin", RandomBytes(3 << 20, 8));
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists);
  EXPECT_NE(server.Stats().find("\"uploads\":[]"), std::string::npos) << server.Stats();
}

TEST(S3Store, ListingFollowsContinuationTokens) {
  S3TestServer server;
  S3Options o = server.Options();
  o.list_page_size = 2;
  auto store = *OpenS3ObjectStore(o);
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(store->Put("p/k" + std::to_string(i), "x").ok());
  ASSERT_TRUE(store->Put("q/k", "x").ok());
  auto listed = store->List("p/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 7u);
  EXPECT_EQ(listed->front().key, "p/k0");
  EXPECT_EQ(listed->back().key, "p/k6");
}

TEST(S3Store, TwoWritersOfOneKeyNeverOverwriteEachOther) {
  S3TestServer server;
  auto a = server.Open();
  auto b = server.Open();
  Result<ObjectInfo> ra = Status::Internal("unset"), rb = Status::Internal("unset");
  std::thread ta([&] { ra = a->Put("race/k", "from a"); });
  std::thread tb([&] { rb = b->Put("race/k", "from b"); });
  ta.join();
  tb.join();
  ASSERT_NE(ra.ok(), rb.ok()) << ra.status().ToString() << " / " << rb.status().ToString();
  const std::string winner = ra.ok() ? "from a" : "from b";
  EXPECT_EQ((ra.ok() ? rb : ra).status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(*a->Get("race/k"), winner);
}

// Each fault ends with the same objects as an undisturbed run.
TEST(S3Store, RetriesRideOutErrorsSlowDownsHangsAndDroppedConnections) {
  S3TestServer server;
  auto store = server.Open();
  server.SetFaults(R"([{"method": "PUT", "status": 503, "code": "SlowDown", "times": 2},
                      {"method": "GET", "status": 500, "times": 1},
                      {"method": "HEAD", "action": "hang", "ms": 8000, "times": 1}])");
  S3Options quick = server.Options();
  quick.timeout_ms = 1000;
  auto impatient = *OpenS3ObjectStore(quick);
  ASSERT_TRUE(store->Put("f/a", "alpha").ok());
  EXPECT_EQ(*store->Get("f/a"), "alpha");
  EXPECT_EQ(impatient->Stat("f/a")->size, 5);  // the hung HEAD times out and is retried

  // A connection dropped mid-upload: the retry lands the object once.
  server.SetFaults(R"([{"method": "PUT", "action": "drop", "times": 1}])");
  ASSERT_TRUE(store->Put("f/b", RandomBytes(300000, 1)).ok());
  EXPECT_EQ(*store->Get("f/b"), RandomBytes(300000, 1));

  // The write took effect but its answer was lost: the retry finds its own bytes and succeeds.
  server.SetFaults(R"([{"method": "PUT", "action": "lose_answer", "times": 1}])");
  auto c = store->Put("f/c", "gamma");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*store->Get("f/c"), "gamma");

  // Errors that outlast the retries fail the call, naming the store and the last error.
  server.SetFaults(R"([{"method": "PUT", "status": 500, "times": 100}])");
  auto d = store->Put("f/d", "delta");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(d.status().message().find("s3://lake/lake/f/d"), std::string::npos) << d.status().message();
  server.SetFaults("[]");
  EXPECT_FALSE(*store->Exists("f/d"));
  auto keys = store->List("f/");
  ASSERT_EQ(keys->size(), 3u);
}

TEST(S3Store, AFailedMultipartUploadIsAbortedAndLeavesNothing) {
  S3TestServer server;
  S3Options o = server.Options();
  o.multipart_threshold = 1 << 20;
  o.part_size = 5 << 20;
  auto store = *OpenS3ObjectStore(o);
  server.SetFaults(R"([{"method": "PUT", "query": "partNumber=2", "status": 500, "times": 100}])");
  auto put = store->Put("mp/x.bin", RandomBytes(11 << 20, 3));
  ASSERT_FALSE(put.ok());
  server.SetFaults("[]");
  EXPECT_NE(server.Stats().find("\"uploads\":[]"), std::string::npos) << server.Stats();
  EXPECT_FALSE(*store->Exists("mp/x.bin"));
  // The same write, undisturbed, then lands.
  ASSERT_TRUE(store->Put("mp/x.bin", RandomBytes(11 << 20, 3)).ok());
}

TEST(S3Store, AReadDroppedMidwayResumesWithoutRepeatingBytes) {
  S3TestServer server;
  auto store = server.Open();
  const std::string data = RandomBytes(3 << 20, 11);
  ASSERT_TRUE(store->Put("r/x", data).ok());
  server.SetFaults(R"([{"method": "GET", "action": "cut_body", "times": 2}])");
  auto got = store->Get("r/x");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), data.size());
  EXPECT_TRUE(*got == data);
  EXPECT_NE(server.Stats().find("\"faults\":2"), std::string::npos) << server.Stats();
}

TEST(S3Store, ReadablePathsComeFromABoundedCache) {
  S3TestServer server;
  S3Options o = server.Options();
  o.cache_bytes = 2 << 20;
  o.cache_grace_seconds = 0;
  auto store = *OpenS3ObjectStore(o);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store->Put("c/" + std::to_string(i), RandomBytes(1 << 20, i)).ok());
  std::vector<std::string> paths;
  for (int i = 0; i < 4; ++i) {
    auto p = store->ReadablePath("c/" + std::to_string(i));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(testing::Slurp(*p), RandomBytes(1 << 20, i));
    paths.push_back(*p);
  }
  int64_t cached = 0;
  for (const auto& p : paths) cached += std::filesystem::exists(p) ? 1 : 0;
  EXPECT_LE(cached, 2);                            // the oldest were evicted
  EXPECT_TRUE(std::filesystem::exists(paths[3]));  // never the one just read
}

// A key deleted and written again with other bytes of the same size is fetched again, never
// served from the copy of the old object.
TEST(S3Store, ACachedCopyServesOnlyTheObjectItWasCopiedFrom) {
  S3TestServer server;
  auto store = server.Open();
  ASSERT_TRUE(store->Put("c/k", "aaaa").ok());
  EXPECT_EQ(testing::Slurp(*store->ReadablePath("c/k")), "aaaa");
  EXPECT_EQ(testing::Slurp(*store->ReadablePath("c/k")), "aaaa");  // from the cache
  ASSERT_TRUE(store->Delete("c/k").ok());
  ASSERT_TRUE(store->Put("c/k", "bbbb").ok());
  EXPECT_EQ(testing::Slurp(*store->ReadablePath("c/k")), "bbbb");
  ASSERT_TRUE(store->Delete("c/k").ok());
  EXPECT_EQ(store->ReadablePath("c/k").status().code(), Status::Code::kNotFound);
}

TEST(S3Store, AnIncompleteUploadIsFoundAndAbortedByGc) {
  S3TestServer server;
  S3Options o = server.Options();
  o.multipart_threshold = 1 << 20;
  o.part_size = 5 << 20;
  auto store = *OpenS3ObjectStore(o);
  // The complete step never answers and never lands: as if the process died before it.
  server.SetFaults(R"([{"method": "POST", "query": "uploadId", "action": "hang", "ms": 100, "times": 100}])");
  S3Options quick = o;
  quick.retry.max_attempts = 1;
  quick.timeout_ms = 1000;
  auto dying = *OpenS3ObjectStore(quick);
  // (the abort after the failure is stopped too, by failing every DELETE)
  server.SetFaults(R"([{"method": "POST", "query": "uploadId", "status": 500, "times": 100},
                      {"method": "DELETE", "status": 500, "times": 100}])");
  EXPECT_FALSE(dying->Put("gc/x.bin", RandomBytes(6 << 20, 5)).ok());
  server.SetFaults("[]");
  EXPECT_EQ(server.Stats().find("\"uploads\":[]"), std::string::npos) << server.Stats();
  EXPECT_EQ(*AbortIncompleteUploads(store.get(), /*dry_run=*/true), 1);
  EXPECT_EQ(*AbortIncompleteUploads(store.get(), /*dry_run=*/false), 1);
  EXPECT_NE(server.Stats().find("\"uploads\":[]"), std::string::npos) << server.Stats();
  EXPECT_FALSE(*store->Exists("gc/x.bin"));
}

}  // namespace
}  // namespace strata::lake
