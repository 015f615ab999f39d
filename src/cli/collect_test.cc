// `strata collect` through the binary: per-event answers, landing, and the kill test: clients
// post while the collector is SIGKILLed and restarted several times; every acknowledged event
// id is in the lake exactly once, and nothing else is.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "core/file.h"
#include "core/http_client.h"
#include "lake/s3_test_server.h"
#include "testing.h"

namespace strata {
namespace {

using nlohmann::json;
using testing::StrataBinary;

constexpr const char* kToken = "collect-test-token";

void WriteProject(const std::string& dir, const std::string& lake = "lake", const std::string& extra = "") {
  testing::WriteText(dir + "/strata.yml", "name: t\nlake: " + lake + "\n" + R"(state_dir: .strata
sources:
  clicks:
    type: collector
    table: events
    listen: 127.0.0.1:0
    required_fields: [event_id, event_type, occurred_at]
    known_types: [page_view, purchase]
    land_seconds: 1
)" + extra);
}

// A running `strata collect`; its port once it listens.
class Collect {
 public:
  explicit Collect(const std::string& dir, std::vector<std::string> env = {}) : dir_(dir) {
    std::filesystem::remove(dir + "/port");
    env.push_back(std::string("STRATA_COLLECT_TOKENS=") + kToken);
    proc_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{StrataBinary(), "collect", "-p", dir, "--port-file", dir + "/port"}, env,
        dir + "/collect.log");
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::string p = testing::Slurp(dir + "/port");
      if (!p.empty()) port_ = std::atoi(p.c_str());
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    EXPECT_NE(port_, 0) << testing::Slurp(dir + "/collect.log");
  }
  int port() const { return port_; }
  testing::ChildProcess& proc() { return *proc_; }

 private:
  std::string dir_;
  std::unique_ptr<testing::ChildProcess> proc_;
  int port_ = 0;
};

Result<HttpResponse> PostEvents(int port, const std::string& body, const std::string& token = kToken) {
  HttpClient c(HttpRetryPolicy{1, 1, 1, 1.0, false}, 10000, {{"Authorization", "Bearer " + token}});
  return c.Post("http://127.0.0.1:" + std::to_string(port) + "/v1/events", body,
                {"Content-Type: application/x-ndjson"});
}

std::string Event(const std::string& id, const std::string& type = "page_view") {
  return json({{"event_id", id}, {"event_type", type}, {"occurred_at", "2024-01-01T10:00:00Z"}, {"n", 1}}).dump();
}

// Every landed event's id, with how many times it landed; and the quarantined records.
std::map<std::string, int> LandedIds(const std::string& dir, int* quarantined) {
  std::map<std::string, int> ids;
  *quarantined = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir + "/lake")) {
    const std::string p = e.path().string();
    if (p.size() > 10 && p.compare(p.size() - 10, 10, ".jsonl.zst") == 0) {
      auto r = testing::RunCommand({"/usr/bin/zstd", "-dc", p});
      size_t pos = 0;
      while (pos < r.out.size()) {
        size_t end = r.out.find('\n', pos);
        if (end == std::string::npos) end = r.out.size();
        json ev = json::parse(r.out.substr(pos, end - pos));
        ++ids[ev["event_id"].get<std::string>()];
        pos = end + 1;
      }
    } else if (p.find("/quarantine/") != std::string::npos && p.size() > 6 &&
               p.compare(p.size() - 6, 6, ".jsonl") == 0) {
      std::string q = testing::Slurp(p);
      *quarantined += static_cast<int>(std::count(q.begin(), q.end(), '\n'));
    }
  }
  return ids;
}

TEST(Collect, AnswersPerEventAndLandsAcceptedAndRejected) {
  testing::TempDir dir;
  WriteProject(dir.path());
  Collect c(dir.path());
  auto r = PostEvents(c.port(), Event("a") + "\n" + Event("b", "bogus") + "\nnot json\n" + Event("a") + "\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  json j = json::parse(r->body);
  EXPECT_EQ(j["accepted"], 1);
  EXPECT_EQ(j["rejected"], 2);
  EXPECT_EQ(j["duplicates"], 1);
  EXPECT_EQ(j["results"][0], "ok");
  EXPECT_EQ(j["results"][1]["rejected"], "unknown event_type 'bogus'");
  EXPECT_EQ(j["results"][3], "duplicate");
  auto bad = PostEvents(c.port(), Event("z"), "not-the-token");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("HTTP 401"), std::string::npos) << bad.status().message();
  // A JSON array works as well.
  auto arr = PostEvents(c.port(), "[" + Event("c") + "," + Event("d", "purchase") + "]");
  ASSERT_TRUE(arr.ok()) << arr.status().ToString();
  EXPECT_EQ(json::parse(arr->body)["accepted"], 2);
  c.proc().Kill(SIGTERM);  // lands what it holds
  EXPECT_EQ(c.proc().Wait(), 0) << testing::Slurp(dir.Sub("collect.log"));
  int quarantined = 0;
  auto ids = LandedIds(dir.path(), &quarantined);
  EXPECT_EQ(ids, (std::map<std::string, int>{{"a", 1}, {"c", 1}, {"d", 1}}));
  EXPECT_EQ(quarantined, 2);
  // The events are a lake table like any other: `strata lake verify` checks them.
  auto verify = testing::RunCommand({StrataBinary(), "lake", "verify", "-p", dir.path()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

// The lake down (every S3 write fails): the collector keeps what it acknowledged in its log,
// answers 503 with the reason once its buffer is full, and lands everything once the lake is
// back; `strata load` then reads the events like any lake table.
TEST(Collect, WithTheLakeDownItFillsItsBufferThenRefusesThenLandsItAll) {
  testing::TempDir dir;
  lake::S3TestServer s3;
  WriteProject(dir.path(), s3.Location("collect") + "&cache=" + dir.Sub("cache"), "    buffer_mb: 1\n");
  const std::vector<std::string> env = {std::string("AWS_ACCESS_KEY_ID=") + lake::S3TestServer::kAccessKey,
                                        std::string("AWS_SECRET_ACCESS_KEY=") + lake::S3TestServer::kSecretKey};
  s3.SetFaults(R"([{"method": "PUT", "status": 503, "code": "SlowDown", "times": 100000}])");
  Collect c(dir.path(), env);
  int acked = 0, refused = 0;
  std::string refusal;
  for (int post = 0; post < 60 && refused == 0; ++post) {
    std::string body;
    for (int i = 0; i < 500; ++i) body += Event("p" + std::to_string(post) + "-" + std::to_string(i)) + "\n";
    auto r = PostEvents(c.port(), body);
    if (r.ok()) {
      acked += json::parse(r->body)["accepted"].get<int>();
    } else {
      ++refused;
      refusal = r.status().message();
    }
  }
  EXPECT_GT(acked, 3000);
  ASSERT_EQ(refused, 1) << "a 1 MiB buffer should fill";
  EXPECT_NE(refusal.find("HTTP 503"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("buffer is full"), std::string::npos) << refusal;

  s3.SetFaults("[]");
  HttpClient health(HttpRetryPolicy{1, 1, 1, 1.0, false}, 5000);
  json h;
  for (int i = 0; i < 200; ++i) {
    auto r = health.Get("http://127.0.0.1:" + std::to_string(c.port()) + "/v1/health");
    if (r.ok()) h = json::parse(r->body);
    if (h.value("unlanded_bytes", int64_t{-1}) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(h.value("unlanded_bytes", int64_t{-1}), 0) << h.dump();
  auto more = PostEvents(c.port(), Event("after"));
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  c.proc().Kill(SIGTERM);
  EXPECT_EQ(c.proc().Wait(), 0) << testing::Slurp(dir.Sub("collect.log"));

  std::vector<std::string> run_env = env;
  auto load = testing::RunCommand({StrataBinary(), "load", "-p", dir.path(), "--json"}, run_env);
  ASSERT_EQ(load.exit_code, 0) << load.out << load.err;
  int64_t rows = 0;
  const json loaded = json::parse(load.out);
  for (const auto& t : loaded["load"]["tables"]) rows += t.value("rows", int64_t{0});
  EXPECT_EQ(rows, acked + 1) << load.out;
}

// The dedup window is bounded by count too: with room for 64 ids, the first of 500 is
// forgotten (a re-post lands again), the last is still a duplicate.
TEST(Collect, TheDedupWindowForgetsTheOldestPastItsSize) {
  testing::TempDir dir;
  WriteProject(dir.path(), "lake", "    dedup_max_ids: 64\n");
  Collect c(dir.path());
  std::string body;
  for (int i = 0; i < 500; ++i) body += Event("id" + std::to_string(i)) + "\n";
  ASSERT_TRUE(PostEvents(c.port(), body).ok());
  auto again = PostEvents(c.port(), Event("id0") + "\n" + Event("id499") + "\n");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  json j = json::parse(again->body);
  EXPECT_EQ(j["results"][0], "ok");
  EXPECT_EQ(j["results"][1], "duplicate");
}

// One source switched from a drop folder to the collector and back: each way in picks up
// where it left off (the state of both is carried in every manifest); nothing lands twice.
TEST(Collect, ASourceSwitchedBetweenFilesAndTheCollectorLandsEachEventOnce) {
  testing::TempDir dir;
  testing::WriteText(dir.Sub("strata.yml"), R"(name: t
lake: lake
state_dir: .strata
sources:
  clicks:
    type: ${T_VIA:-events}
    path: drop
    table: events
    listen: 127.0.0.1:0
    required_fields: [event_id, event_type, occurred_at]
    known_types: [page_view, purchase]
    settle_seconds: 0
)");
  auto ingest = [&] {
    auto r = testing::RunCommand({StrataBinary(), "ingest", "-p", dir.path(), "--date", "2024-01-01"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  };
  auto collect_and_post = [&](const std::vector<std::string>& ids) {
    Collect c(dir.path(), {"T_VIA=collector"});
    std::string body;
    for (const auto& id : ids) body += Event(id) + "\n";
    ASSERT_TRUE(PostEvents(c.port(), body).ok());
    c.proc().Kill(SIGTERM);
    ASSERT_EQ(c.proc().Wait(), 0) << testing::Slurp(dir.Sub("collect.log"));
  };
  testing::WriteText(dir.Sub("drop/events-1.jsonl"), Event("f1") + "\n" + Event("f2") + "\n");
  ingest();
  collect_and_post({"c1", "c2"});
  testing::WriteText(dir.Sub("drop/events-2.jsonl"), Event("f3") + "\n");
  ingest();
  collect_and_post({"c3"});
  ingest();
  int quarantined = 0;
  auto ids = LandedIds(dir.path(), &quarantined);
  EXPECT_EQ(ids, (std::map<std::string, int>{{"c1", 1}, {"c2", 1}, {"c3", 1}, {"f1", 1}, {"f2", 1}, {"f3", 1}}));
}

TEST(Collect, KilledAndRestartedUnderLoadLosesAndDuplicatesNoAcknowledgedEvent) {
  testing::TempDir dir;
  WriteProject(dir.path());
  auto collect = std::make_unique<Collect>(dir.path());
  std::atomic<int> port{collect->port()};
  std::atomic<bool> done{false};
  std::mutex mu;
  std::set<std::string> acked;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int k = 0; k < 4; ++k) {
    clients.emplace_back([&, k] {
      int batch = 0;
      while (!done) {
        // A batch is posted until it is acknowledged (a retry re-sends the same ids).
        std::string body;
        std::vector<std::string> ids;
        for (int i = 0; i < 25; ++i) {
          ids.push_back("c" + std::to_string(k) + "-" + std::to_string(batch) + "-" + std::to_string(i));
          body += Event(ids.back()) + "\n";
        }
        for (;;) {
          auto r = PostEvents(port.load(), body);
          if (r.ok() && r->status == 200) {
            json j = json::parse(r->body);
            std::lock_guard<std::mutex> lock(mu);
            for (size_t i = 0; i < ids.size(); ++i) {
              if (j["results"][i] == "ok" || j["results"][i] == "duplicate") acked.insert(ids[i]);
            }
            break;
          }
          ++failures;  // retried until acknowledged, even after `done` (the last collector stays up)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ++batch;
      }
    });
  }
  std::mt19937 rng(5);
  for (int kill = 0; kill < 4; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 700)(rng)));
    collect->proc().Kill(SIGKILL);
    collect->proc().Wait();
    collect = std::make_unique<Collect>(dir.path());
    port = collect->port();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  done = true;
  for (auto& t : clients) t.join();
  collect->proc().Kill(SIGTERM);
  EXPECT_EQ(collect->proc().Wait(), 0) << testing::Slurp(dir.Sub("collect.log"));

  int quarantined = 0;
  auto landed = LandedIds(dir.path(), &quarantined);
  EXPECT_GT(acked.size(), 200u);
  EXPECT_GT(failures.load(), 0) << "the kills should have interrupted some posts";
  EXPECT_EQ(quarantined, 0);
  std::vector<std::string> missing, twice;
  for (const auto& id : acked) {
    auto it = landed.find(id);
    if (it == landed.end()) missing.push_back(id);
  }
  for (const auto& [id, n] : landed) {
    if (n != 1) twice.push_back(id);
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " acknowledged event(s) lost, e.g. " << missing.front();
  EXPECT_TRUE(twice.empty()) << twice.size() << " event(s) landed more than once, e.g. " << twice.front();
  // What landed beyond the acknowledged: posts whose answer the kill cut off (kept, but the
  // client never heard); each is one the client re-sent, so it is in `acked` too by the end.
  for (const auto& [id, n] : landed) EXPECT_TRUE(acked.count(id)) << id << " landed but was never acknowledged";
}

}  // namespace
}  // namespace strata
