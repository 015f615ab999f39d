// The HTTP client against real servers (cpp-httplib on 127.0.0.1).
#include "core/http_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace strata {
namespace {

TEST(HttpClient, ClientErrorsAreNotRetriedAndSecretsStayOut) {
  httplib::Server server;
  std::atomic<int> n{0};
  server.Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    ++n;
    res.status = 401;
    res.set_content("bad token", "text/plain");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  Result<HttpResponse> r = Status::Internal("not run");
  {
    HttpClient client(HttpRetryPolicy{}, 2000, {{"Authorization", "Bearer s3cret"}});
    r = client.Get("http://127.0.0.1:" + std::to_string(port) + "/x?token=s3cret");
  }  // closes the keep-alive connection, so that stop() need not wait for it
  server.stop();
  t.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(n, 1);
  EXPECT_NE(r.status().message().find("HTTP 401"), std::string::npos);
  EXPECT_EQ(r.status().message().find("s3cret"), std::string::npos) << r.status().message();
}

// The campaign's case: a password in base_url's userinfo reached stdout, logs, runs.db and
// alerts; a server that echoes a header back put it in the error.
TEST(HttpClient, UserinfoAndEchoedHeadersNeverReachAMessage) {
  httplib::Server server;
  server.Get("/x", [&](const httplib::Request& req, httplib::Response& res) {
    res.status = 403;
    res.set_content("denied for " + req.get_header_value("X-Api-Key") + " and " + req.get_header_value("Authorization"),
                    "text/plain");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  Result<HttpResponse> r = Status::Internal("not run");
  {
    HttpClient client(HttpRetryPolicy{}, 2000, {{"X-Api-Key", "key-2b7e151628aed2a6"}});
    r = client.Get("http://reader:pa55-w0rd-9@127.0.0.1:" + std::to_string(port) + "/x");
  }
  server.stop();
  t.join();
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("HTTP 403"), std::string::npos) << m;
  EXPECT_NE(m.find("denied for ***"), std::string::npos) << m;
  EXPECT_EQ(m.find("key-2b7e151628aed2a6"), std::string::npos) << m;
  EXPECT_EQ(m.find("pa55-w0rd-9"), std::string::npos) << m;
  EXPECT_EQ(m.find("cmVhZGVy"), std::string::npos) << m;  // base64 of "reader:": Basic auth echoed
  EXPECT_NE(m.find("http://***@127.0.0.1:"), std::string::npos) << m;
}

TEST(HttpClient, PostsWithinADeadlineAndKeepsOnlyTheStartOfAnAnswer) {
  httplib::Server server;
  std::atomic<int> n{0};
  std::string got;
  server.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    if (++n < 3) {
      res.status = 503;
      res.set_content(std::string(10000, 'e'), "text/plain");
      return;
    }
    got = req.body + "|" + req.get_header_value("Content-Type");
    res.set_content("ok", "text/plain");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  HttpRetryPolicy retry;
  retry.initial_delay_ms = 10;
  retry.jitter = false;
  Result<HttpResponse> r = Status::Internal("not run");
  {
    HttpClient client(retry, 2000);
    client.set_keep_body_bytes(100);
    r = client.Post("http://127.0.0.1:" + std::to_string(port) + "/hook", "{\"a\":1}",
                    {"Content-Type: application/json"});
    EXPECT_EQ(client.last_attempts(), 3);
  }
  // A server that never answers is cut off at the deadline, whatever the per-attempt timeout.
  server.Post("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    res.set_content("late", "text/plain");
  });
  Result<HttpResponse> slow = Status::Internal("not run");
  auto start = std::chrono::steady_clock::now();
  {
    HttpClient client(retry, 60000);
    client.set_deadline(start + std::chrono::milliseconds(500));
    client.set_display_url("the hook");
    slow = client.Post("http://127.0.0.1:" + std::to_string(port) + "/slow", "x");
  }
  auto took = std::chrono::steady_clock::now() - start;
  server.stop();
  t.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(got, "{\"a\":1}|application/json");
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(slow.status().message().find("POST the hook failed after 1 try"), 0u) << slow.status().message();
  EXPECT_LT(took, std::chrono::milliseconds(2500));
}

TEST(HttpClient, OnlyHttpAndHttpsAreSpoken) {
  HttpClient client(HttpRetryPolicy{}, 1000);
  auto r = client.Get("file:///etc/passwd");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
}

}  // namespace
}  // namespace strata
