// HttpClient: the one place Strata speaks HTTP (libcurl): the http connector's GETs, alert
// webhooks' POSTs, and next the S3 store.
//
// Connection errors, timeouts, 429 and 5xx are retried with exponential backoff (full jitter
// unless turned off); a Retry-After header sets the least wait. Other 4xx fail at once
// (kInvalidArgument); retries running out is kUnavailable. An optional deadline bounds all
// attempts and waits together. Only http:// and https:// are spoken. Errors name the method,
// the URL without userinfo and query (or the display name set for it), the last HTTP status
// or transport error, a redacted start of the server's answer, and the number of tries.
// Header values (secrets) never appear in messages, even when a server echoes them back.
// Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace strata {

struct HttpRetryPolicy {
  int max_attempts = 6;
  int64_t initial_delay_ms = 200;
  int64_t max_delay_ms = 30000;
  double multiplier = 2.0;
  bool jitter = true;  // wait a random time in [0, delay] ("full jitter") rather than the delay
};

struct HttpResponse {
  long status = 0;
  std::string body;
  int attempts = 0;  // how many requests it took
};

class HttpClient {
 public:
  // `timeout_ms` bounds each attempt; `headers` go with every request.
  HttpClient(HttpRetryPolicy retry, int64_t timeout_ms, std::map<std::string, std::string> headers = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<HttpResponse> Get(const std::string& url);
  // POSTs `body` with these extra header lines ("Content-Type: application/json").
  Result<HttpResponse> Post(const std::string& url, const std::string& body,
                            const std::vector<std::string>& header_lines = {});

  // Bodies longer than this fail the request (kInvalidArgument, not retried) without being
  // buffered further; a Content-Length over it is refused before the body is read.
  void set_max_body_bytes(int64_t max) { max_body_bytes_ = max; }
  // Keep only the first `n` bytes of a body and drop the rest, without an error (for callers
  // that only show the start of an answer).
  void set_keep_body_bytes(int64_t n) { keep_body_bytes_ = n; }
  // All attempts and the waits between them end by this instant.
  void set_deadline(std::chrono::steady_clock::time_point deadline) { deadline_ = deadline; }
  // How messages name the URL (e.g. a webhook's origin only); default: the URL without
  // userinfo, query and fragment.
  void set_display_url(std::string name) { display_url_ = std::move(name); }
  // How many requests the last Get or Post made (also when it failed).
  int last_attempts() const { return last_attempts_; }
  // For tests: replaces the sleep between attempts.
  void set_sleeper(std::function<void(int64_t ms)> sleeper) { sleeper_ = std::move(sleeper); }

 private:
  Result<HttpResponse> Send(const std::string& method, const std::string& url, const std::string* body,
                            const std::vector<std::string>& header_lines);
  HttpRetryPolicy retry_;
  int64_t timeout_ms_;
  std::map<std::string, std::string> headers_;
  int64_t max_body_bytes_ = int64_t{256} << 20;
  int64_t keep_body_bytes_ = -1;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::string display_url_;
  std::function<void(int64_t)> sleeper_;
  void* curl_ = nullptr;
  uint64_t jitter_state_;
  int last_attempts_ = 0;
};

// Percent-encodes a query parameter's value.
std::string UrlEncode(const std::string& value);

// "1 try", "3 tries".
std::string Tries(int n);

}  // namespace strata
