#include <gtest/gtest.h>
#include <sys/time.h>

#include <filesystem>
#include <fstream>

#include "ingest/connector.h"
#include "testing.h"

namespace strata::ingest {
namespace {

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteText(dir_.Sub("strata.yml"),
                       "name: t\nlake: lake\nsources:\n  clicks:\n    type: events\n    path: drop\n"
                       "    required_fields: [event_id, event_type, occurred_at, session_id]\n"
                       "    known_types: [page_view, purchase]\n");
    std::filesystem::create_directories(dir_.Sub("drop"));
    project_ = *Project::Load(dir_.path());
    lake_ = std::make_unique<lake::Lake>(*lake::OpenObjectStore(project_.lake_location));
  }

  Result<std::vector<TableResult>> Ingest(const std::string& date) {
    std::vector<TableResult> results;
    IngestOptions opts;
    opts.date = date;
    Status s = IngestSource(project_, lake_.get(), project_.sources[0], opts, &results);
    if (!s.ok()) return s;
    return results;
  }

  testing::TempDir dir_;
  Project project_;
  std::unique_ptr<lake::Lake> lake_;
};

TEST_F(EventsTest, EveryBadLineIsQuarantinedWithAReason) {
  const std::string good1 =
      R"({"event_id":"e1","event_type":"page_view","occurred_at":"2024-01-01 10:00:00","session_id":"s1"})";
  const std::string good2 =
      R"({"event_id":"e2","event_type":"purchase","occurred_at":"2024-01-01 10:05:00","session_id":"s1","order_id":7,"app_version":"2.1"})";
  testing::WriteText(
      dir_.Sub("drop/a.jsonl"),
      good1 + "\n" +
          R"({"event_id":"e3","event_type":"page_vi)"
          "\n" +  // truncated
          "not json at all\n" +
          R"({"event_id":"e4","event_type":"wishlist_add","occurred_at":"2024-01-01 10:00:00","session_id":"s2"})"
          "\n" +
          R"({"event_id":"e5","event_type":"page_view","session_id":"s2"})"
          "\n" +  // no occurred_at
          R"({"event_id":"e6","event_type":"page_view","occurred_at":"yesterday","session_id":"s2"})"
          "\n" +
          R"([1,2,3])"
          "\n" +
          good1 + "\n" +  // duplicate: lands as received (dedup is staging's job)
          good2 + "\n");
  auto r = Ingest("2024-01-01");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  const TableResult& t = (*r)[0];
  EXPECT_EQ(t.received, 9);
  EXPECT_EQ(t.landed, 3);
  EXPECT_EQ(t.quarantined, 6);
  EXPECT_TRUE(t.reconciled());

  auto m = **lake_->Latest("clicks", "events");
  ASSERT_TRUE(m.quarantine.has_value());
  std::string q = *lake_->store()->Get(m.quarantine->key);
  for (const char* reason :
       {"malformed JSON", "unknown event_type 'wishlist_add'", "missing required field 'occurred_at'",
        "is not a timestamp: 'yesterday'", "not a JSON object"}) {
    EXPECT_NE(q.find(reason), std::string::npos) << reason << "\n" << q;
  }
  EXPECT_NE(q.find(R"("position":{"file":"a.jsonl","line":2})"), std::string::npos) << q;
  // Schema drift is recorded: app_version appears in the batch schema.
  bool has_drift = false;
  for (const auto& c : m.schema) has_drift |= c.name == "app_version";
  EXPECT_TRUE(has_drift);
  // Accepted lines land byte for byte.
  auto z = testing::RunCommand({"/usr/bin/zstd", "-dc", project_.lake_location + "/" + m.files[0].key});
  EXPECT_EQ(z.out, good1 + "\n" + good1 + "\n" + good2 + "\n");
}

TEST_F(EventsTest, FilesAreConsumedOnceAndRerunIsANoOp) {
  testing::WriteText(
      dir_.Sub("drop/a.jsonl"),
      R"({"event_id":"e1","event_type":"page_view","occurred_at":"2024-01-01 10:00:00","session_id":"s1"})"
      "\n");
  auto first = Ingest("2024-01-01");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)[0].landed, 1);
  auto again = Ingest("2024-01-01");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)[0].batch_id.empty());
  EXPECT_EQ((*again)[0].received, 0);

  testing::WriteText(
      dir_.Sub("drop/b.jsonl"),
      R"({"event_id":"e2","event_type":"page_view","occurred_at":"2024-01-02 10:00:00","session_id":"s1"})"
      "\n");
  auto day2 = Ingest("2024-01-02");
  ASSERT_TRUE(day2.ok());
  EXPECT_EQ((*day2)[0].received, 1);
  EXPECT_EQ((*day2)[0].batch_id, "b00000002");
  EXPECT_EQ((**lake_->Latest("clicks", "events")).files[0].key.find("dt=2024-01-02") != std::string::npos, true);
}

TEST_F(EventsTest, CancellingMidSourceCommitsNothingAndARerunLandsEverythingOnce) {
  for (const char* f : {"a", "b", "c"}) {
    testing::WriteText(dir_.Sub(std::string("drop/") + f + ".jsonl"),
                       std::string(R"({"event_id":")") + f +
                           R"(","event_type":"page_view","occurred_at":"2024-01-01 10:00:00","session_id":"s1"})"
                           "\n");
  }
  CancelToken cancel;
  std::vector<TableResult> results;
  IngestOptions opts;
  opts.date = "2024-01-01";
  opts.cancel = &cancel;
  int files = 0;
  opts.on_progress = [&](const std::string&, int64_t) {
    if (++files == 1) cancel.Cancel("timeout");  // after the first of three files
  };
  Status s = IngestSource(project_, lake_.get(), project_.sources[0], opts, &results);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kAborted);
  EXPECT_NE(s.message().find("ingest cancelled (timeout) after file a.jsonl"), std::string::npos) << s.message();
  auto latest = lake_->Latest("clicks", "events");
  ASSERT_TRUE(latest.ok());
  EXPECT_FALSE(latest->has_value()) << "a cancelled batch was committed";

  auto rerun = Ingest("2024-01-01");
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  EXPECT_EQ((*rerun)[0].landed, 3);
  auto again = Ingest("2024-01-01");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].received, 0) << "files were consumed twice";
}

TEST_F(EventsTest, FilesDatedAfterTheRunWaitForTheirDate) {
  auto line = [](const std::string& id) {
    return R"({"event_id":")" + id +
           R"(","event_type":"page_view","occurred_at":"2024-01-01 10:00:00","session_id":"s"})"
           "\n";
  };
  testing::WriteText(dir_.Sub("drop/events-2024-01-01-23.jsonl"), line("a"));
  testing::WriteText(dir_.Sub("drop/events-2024-01-02-00.jsonl"), line("b"));
  testing::WriteText(dir_.Sub("drop/undated.jsonl"), line("c"));
  auto day1 = Ingest("2024-01-01");
  ASSERT_TRUE(day1.ok()) << day1.status().ToString();
  EXPECT_EQ((*day1)[0].landed, 2);  // the day's file and the undated one
  auto day2 = Ingest("2024-01-02");
  ASSERT_TRUE(day2.ok());
  EXPECT_EQ((*day2)[0].landed, 1);
  auto again = Ingest("2024-01-02");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].received, 0);
}

std::string Event(const std::string& id) {
  return R"({"event_id":")" + id +
         R"(","event_type":"page_view","occurred_at":"2024-01-01 10:00:00","session_id":"s"})";
}

void Append(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
}

// Sets a file's modification time `seconds` into the past.
void Age(const std::string& path, int seconds) {
  struct timeval times[2];
  gettimeofday(&times[0], nullptr);
  times[0].tv_sec -= seconds;
  times[1] = times[0];
  ASSERT_EQ(utimes(path.c_str(), times), 0);
}

// The lines landed in the lake for clicks.events, in batch order (zstd -dc of every part).
std::string Landed(lake::Lake* lake, const std::string& root) {
  std::string all;
  auto manifests = *lake->Manifests("clicks", "events");
  for (const auto& m : manifests) {
    for (const auto& f : m.files) all += testing::RunCommand({"/usr/bin/zstd", "-dc", root + "/" + f.key}).out;
  }
  return all;
}

// The campaign's case: a file still being written ended in half a line, which was quarantined
// as malformed, and what the writer wrote afterwards was never read.
TEST_F(EventsTest, AFileStillBeingWrittenIsFollowedLineByLineAndLosesNothing) {
  const std::string path = dir_.Sub("drop/live.jsonl");
  const std::string e3 = Event("e3");
  testing::WriteText(path, Event("e1") + "\n" + Event("e2") + "\n" + e3.substr(0, 30));
  auto first = Ingest("2024-01-01");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ((*first)[0].received, 2);
  EXPECT_EQ((*first)[0].quarantined, 0) << "an unfinished line is not malformed";
  ASSERT_EQ((*first)[0].warnings.size(), 1u);
  EXPECT_NE((*first)[0].warnings[0].find("without its newline"), std::string::npos) << (*first)[0].warnings[0];

  // The writer finishes the line and appends two more, the last again unfinished.
  Append(path, e3.substr(30) + "\n" + Event("e4") + "\n" + Event("e5").substr(0, 10));
  auto second = Ingest("2024-01-01");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ((*second)[0].received, 2);
  EXPECT_EQ((*second)[0].quarantined, 0);
  // Nothing new: no batch.
  auto idle = Ingest("2024-01-01");
  ASSERT_TRUE(idle.ok());
  EXPECT_TRUE((*idle)[0].batch_id.empty());

  // The writer dies without ending its last line: once the file has been still for
  // settle_seconds (300 by default), the line is taken as it is, and quarantined here
  // because it is not whole JSON, with its line number.
  Age(path, 301);
  auto settled = Ingest("2024-01-01");
  ASSERT_TRUE(settled.ok()) << settled.status().ToString();
  EXPECT_EQ((*settled)[0].received, 1);
  EXPECT_EQ((*settled)[0].quarantined, 1);
  auto m = **lake_->Latest("clicks", "events");
  std::string q = *lake_->store()->Get(m.quarantine->key);
  EXPECT_NE(q.find(R"("position":{"file":"live.jsonl","line":5})"), std::string::npos) << q;

  EXPECT_EQ(Landed(lake_.get(), project_.lake_location),
            Event("e1") + "\n" + Event("e2") + "\n" + e3 + "\n" + Event("e4") + "\n");
  // Lines appended to a file consumed long ago are read too, numbered on from where it was.
  Append(path, "\n" + Event("e6") + "\n");
  auto later = Ingest("2024-01-02");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ((*later)[0].received, 2);  // the empty line that ends the settled one, and e6
  EXPECT_EQ((*later)[0].landed, 1);
}

TEST_F(EventsTest, AReplacedFileIsReportedAndNotReadAgain) {
  const std::string path = dir_.Sub("drop/a.jsonl");
  testing::WriteText(path, Event("e1") + "\n" + Event("e2") + "\n");
  ASSERT_TRUE(Ingest("2024-01-01").ok());
  testing::WriteText(path, Event("x1") + "\n" + Event("x2") + "\n" + Event("x3") + "\n");
  auto r = Ingest("2024-01-01");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].received, 0);
  ASSERT_EQ((*r)[0].warnings.size(), 1u);
  EXPECT_NE((*r)[0].warnings[0].find("was replaced"), std::string::npos) << (*r)[0].warnings[0];
  testing::WriteText(path, Event("y1") + "\n");
  r = Ingest("2024-01-01");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)[0].warnings.size(), 1u);
  EXPECT_NE((*r)[0].warnings[0].find("shrank"), std::string::npos) << (*r)[0].warnings[0];
}

// The campaign's case: a 100 MB line was accepted, and then no later load could read the lake.
TEST_F(EventsTest, ARecordOverMaxRecordBytesIsQuarantinedWithItsSize) {
  testing::WriteText(dir_.Sub("strata.yml"),
                     "name: t\nlake: lake\nsources:\n  clicks:\n    type: events\n    path: drop\n"
                     "    max_record_bytes: 1000\n");
  project_ = *Project::Load(dir_.path());
  std::string big = R"({"event_id":"big","event_type":"page_view","pad":")" + std::string(2000, 'x') + R"("})";
  testing::WriteText(dir_.Sub("drop/a.jsonl"), Event("e1") + "\n" + big + "\n" + Event("e2") + "\n");
  auto r = Ingest("2024-01-01");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].landed, 2);
  EXPECT_EQ((*r)[0].quarantined, 1);
  auto m = **lake_->Latest("clicks", "events");
  std::string q = *lake_->store()->Get(m.quarantine->key);
  EXPECT_NE(q.find("record of " + std::to_string(big.size()) + " bytes is over the source's max_record_bytes (1000)"),
            std::string::npos)
      << q.substr(0, 300);
  EXPECT_NE(q.find(std::string(2000, 'x')), std::string::npos) << "the record is kept whole in quarantine";

  // The limit has a ceiling that the raw load can always read.
  testing::WriteText(dir_.Sub("strata.yml"),
                     "name: t\nlake: lake\nsources:\n  clicks:\n    type: events\n    path: drop\n"
                     "    max_record_bytes: 1000000000\n");
  project_ = *Project::Load(dir_.path());
  r = Ingest("2024-01-02");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("max_record_bytes"), std::string::npos) << r.status().message();
}

TEST_F(EventsTest, MissingDropFolderIsAClearError) {
  std::filesystem::remove_all(dir_.Sub("drop"));
  auto r = Ingest("2024-01-01");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("drop folder"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("source 'clicks'"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace strata::ingest
