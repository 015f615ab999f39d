// The http connector against a real HTTP server (cpp-httplib on 127.0.0.1) that serves
// pages and injects faults on demand.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "ingest/connector.h"
#include "testing.h"

namespace strata::ingest {
namespace {

class FakeApi {
 public:
  FakeApi() {
    server_.Get("/items", [this](const httplib::Request& req, httplib::Response& res) {
      int n = ++requests_;
      if (n <= fail_first_) {
        res.status = fault_status_;
        if (fault_status_ == 429) res.set_header("Retry-After", "1");
        res.set_content(R"({"error":"try later"})", "application/json");
        return;
      }
      if (slow_ms_ > 0 && n == slow_request_) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms_));
      std::string since = req.has_param("updated_since") ? req.get_param_value("updated_since") : "";
      int start = req.has_param("cursor") ? std::stoi(req.get_param_value("cursor")) : 0;
      int limit = std::stoi(req.get_param_value("limit"));
      std::vector<std::string> page;
      int i = start;
      for (; i < static_cast<int>(items_.size()) && static_cast<int>(page.size()) < limit; ++i) {
        if (!since.empty() && updated_[i] <= since) continue;
        page.push_back(items_[i]);
      }
      std::string body = R"({"data":[)";
      for (size_t k = 0; k < page.size(); ++k) body += (k ? "," : "") + page[k];
      body += R"(],"next_cursor":)";
      body += i < static_cast<int>(items_.size()) ? "\"" + std::to_string(i) + "\"" : "null";
      body += "}";
      res.set_content(body, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeApi() {
    server_.stop();
    thread_.join();
  }
  void Add(int id, const std::string& updated, const std::string& extra = "") {
    items_.push_back("{\"id\":" + std::to_string(id) + ",\"updated_at\":\"" + updated + "\"" + extra + "}");
    updated_.push_back(updated);
  }
  void AddRaw(const std::string& json, const std::string& updated) {
    items_.push_back(json);
    updated_.push_back(updated);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  int fail_first_ = 0;
  int fault_status_ = 503;
  int slow_ms_ = 0;
  int slow_request_ = 0;
  std::vector<std::string> items_, updated_;
};

class HttpTest : public ::testing::Test {
 protected:
  void Configure(const std::string& url, int max_attempts = 4, int timeout_ms = 5000) {
    testing::WriteText(dir_.Sub("strata.yml"),
                       "name: t\nlake: lake\nsources:\n  api:\n    type: http\n    base_url: " + url +
                           "\n    timeout_ms: " + std::to_string(timeout_ms) +
                           "\n    retry: {max_attempts: " + std::to_string(max_attempts) +
                           ", initial_delay_ms: 10, max_delay_ms: 2000}\n"
                           "    endpoints:\n      items: {path: /items, page_size: 2, incremental_param: "
                           "updated_since, incremental_field: updated_at}\n");
    Reload();
  }
  // Reads strata.yml again.
  void Reload() {
    project_ = *Project::Load(dir_.path());
    lake_ = std::make_unique<lake::Lake>(*lake::OpenObjectStore(project_.lake_location));
  }

  Result<TableResult> Ingest() {
    std::vector<TableResult> results;
    IngestOptions opts;
    opts.date = "2024-01-01";
    Status s = IngestSource(project_, lake_.get(), project_.sources[0], opts, &results);
    if (!s.ok()) return s;
    return results.at(0);
  }

  testing::TempDir dir_;
  Project project_;
  std::unique_ptr<lake::Lake> lake_;
};

TEST_F(HttpTest, PaginatesAndIsIncremental) {
  FakeApi api;
  for (int i = 1; i <= 5; ++i) api.Add(i, "2024-01-01 0" + std::to_string(i) + ":00:00");
  Configure(api.url());
  auto r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->received, 5);
  EXPECT_EQ(r->landed, 5);
  auto m = **lake_->Latest("api", "items");
  EXPECT_EQ(m.state["watermark"], "2024-01-01 05:00:00");
  EXPECT_EQ(m.details["pages"], 3);

  auto again = Ingest();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->batch_id.empty());

  api.Add(6, "2024-01-02 01:00:00");
  auto more = Ingest();
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->received, 1);
}

TEST_F(HttpTest, BadRecordsAreQuarantinedWithPageAndIndex) {
  FakeApi api;
  api.Add(1, "2024-01-01 01:00:00");
  api.AddRaw(R"({"name":"no id","updated_at":"2024-01-01 02:00:00"})", "2024-01-01 02:00:00");
  api.AddRaw(R"({"id":3,"updated_at":"soon"})", "2024-01-01 03:00:00");
  Configure(api.url());
  auto r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->received, 3);
  EXPECT_EQ(r->landed, 1);
  EXPECT_EQ(r->quarantined, 2);
  auto m = **lake_->Latest("api", "items");
  std::string q = *lake_->store()->Get(m.quarantine->key);
  EXPECT_NE(q.find("missing key field 'id'"), std::string::npos) << q;
  EXPECT_NE(q.find(R"("position":{"index":1,"page":1,"url":"/items"})"), std::string::npos) << q;
  EXPECT_NE(q.find("is not a timestamp: 'soon'"), std::string::npos) << q;
}

TEST_F(HttpTest, RetriesServerErrorsThenSucceeds) {
  FakeApi api;
  api.Add(1, "2024-01-01 01:00:00");
  api.fail_first_ = 2;
  Configure(api.url());
  auto r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->landed, 1);
  EXPECT_EQ(api.requests_, 3);
}

TEST_F(HttpTest, HonoursRetryAfter) {
  FakeApi api;
  api.Add(1, "2024-01-01 01:00:00");
  api.fail_first_ = 1;
  api.fault_status_ = 429;
  Configure(api.url());
  auto start = std::chrono::steady_clock::now();
  auto r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Retry-After: 1 means at least a second, although the backoff alone would be ~10 ms.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(950));
}

TEST_F(HttpTest, GivesUpWithAClearErrorAndCommitsNothing) {
  FakeApi api;
  api.Add(1, "2024-01-01 01:00:00");
  api.fail_first_ = 100;
  Configure(api.url(), /*max_attempts=*/3);
  auto r = Ingest();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("GET " + api.url() + "/items failed after 3 tries: HTTP 503"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(lake_->Latest("api", "items")->has_value());
}

TEST_F(HttpTest, SlowResponseTimesOutAndIsRetried) {
  FakeApi api;
  api.Add(1, "2024-01-01 01:00:00");
  api.slow_ms_ = 1500;
  api.slow_request_ = 1;
  Configure(api.url(), 3, /*timeout_ms=*/300);
  auto r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->landed, 1);
  EXPECT_GE(api.requests_, 2);
}

TEST_F(HttpTest, UnreachableSourceIsAClearError) {
  Configure("http://127.0.0.1:1", 2);
  auto r = Ingest();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("source 'api'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("failed after 2 tries"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("onnect"), std::string::npos) << r.status().message();
}

TEST_F(HttpTest, APageThatIsNotJsonIsAClearErrorAndCommitsNothing) {
  httplib::Server server;
  server.Get("/items", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html>maintenance</html>", "text/html");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  Configure("http://127.0.0.1:" + std::to_string(port));
  auto r = Ingest();
  server.stop();
  t.join();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(
      r.status().message().find("page 1 of http://127.0.0.1:" + std::to_string(port) + "/items is not valid JSON"),
      std::string::npos)
      << r.status().message();
  EXPECT_FALSE(lake_->Latest("api", "items")->has_value());
}

// A server on 127.0.0.1 whose /items answers with `handler`.
class OneRouteServer {
 public:
  explicit OneRouteServer(httplib::Server::Handler handler) {
    server_.Get("/items", std::move(handler));
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~OneRouteServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// The campaign's case: an API whose next_cursor never changed was paged 1,364 times a minute
// until the task's timeout.
TEST_F(HttpTest, ACursorThatDoesNotAdvanceStopsTheRunAndLandsNothing) {
  std::atomic<int> requests{0};
  OneRouteServer api([&](const httplib::Request&, httplib::Response& res) {
    ++requests;
    res.set_content(R"({"data":[{"id":1,"updated_at":"2024-01-01 01:00:00"}],"next_cursor":"abc"})",
                    "application/json");
  });
  Configure(api.url());
  auto r = Ingest();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(requests, 2);
  EXPECT_NE(r.status().message().find("page 2 of " + api.url() +
                                      "/items returned next_cursor 'abc', which page 1 already returned"),
            std::string::npos)
      << r.status().message();
  EXPECT_FALSE(lake_->Latest("api", "items")->has_value());
}

TEST_F(HttpTest, PagesAreCappedByMaxPages) {
  std::atomic<int> requests{0};
  OneRouteServer api([&](const httplib::Request&, httplib::Response& res) {
    int n = ++requests;  // a fresh cursor every time: only the cap ends it
    res.set_content(R"({"data":[{"id":)" + std::to_string(n) +
                        R"(,"updated_at":"2024-01-01 01:00:00"}],"next_cursor":")" + std::to_string(n) + R"("})",
                    "application/json");
  });
  testing::WriteText(dir_.Sub("strata.yml"),
                     "name: t\nlake: lake\nsources:\n  api:\n    type: http\n    base_url: " + api.url() +
                         "\n    endpoints:\n      items: {path: /items, max_pages: 5}\n");
  Reload();
  auto r = Ingest();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(requests, 5);
  EXPECT_NE(r.status().message().find("more than 5 pages"), std::string::npos) << r.status().message();
  EXPECT_FALSE(lake_->Latest("api", "items")->has_value());
}

// The campaign's case: an endless body was buffered until the timeout, or until bad_alloc.
TEST_F(HttpTest, AResponseBodyOverMaxResponseBytesFailsCleanly) {
  OneRouteServer api([&](const httplib::Request&, httplib::Response& res) {
    // Chunked, so that no Content-Length announces it: the limit must hold while streaming.
    res.set_chunked_content_provider("application/json", [](size_t offset, httplib::DataSink& sink) {
      if (offset == 0) {
        sink.write("{\"data\":[", 9);
        return true;
      }
      std::string chunk(64 << 10, ' ');
      return sink.write(chunk.data(), chunk.size());  // forever, until the client hangs up
    });
  });
  testing::WriteText(dir_.Sub("strata.yml"),
                     "name: t\nlake: lake\nsources:\n  api:\n    type: http\n    base_url: " + api.url() +
                         "\n    max_response_bytes: 1000000\n    timeout_ms: 20000\n"
                         "    endpoints:\n      items: {path: /items}\n");
  Reload();
  auto start = std::chrono::steady_clock::now();
  auto r = Ingest();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
  EXPECT_NE(r.status().message().find("larger than 1000000 bytes (max_response_bytes)"), std::string::npos)
      << r.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10)) << "it waited for the timeout";
}

TEST_F(HttpTest, AnOversizedRecordIsQuarantined) {
  FakeApi api;
  api.Add(1, "2024-01-01 01:00:00");
  api.Add(2, "2024-01-01 02:00:00", ",\"pad\":\"" + std::string(3000, 'x') + "\"");
  Configure(api.url());
  std::string yml = testing::Slurp(dir_.Sub("strata.yml"));
  yml.replace(yml.find("    endpoints:"), 0, "    max_record_bytes: 2000\n");
  testing::WriteText(dir_.Sub("strata.yml"), yml);
  Reload();
  auto r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->landed, 1);
  EXPECT_EQ(r->quarantined, 1);
  auto m = **lake_->Latest("api", "items");
  EXPECT_NE(lake_->store()->Get(m.quarantine->key)->find("is over the source's max_record_bytes (2000)"),
            std::string::npos);
}

}  // namespace
}  // namespace strata::ingest
