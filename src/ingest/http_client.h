// HttpClient: GET with retries, backoff with jitter, Retry-After and timeouts (libcurl).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "core/status.h"

namespace strata::ingest {

struct RetryPolicy {
  int max_attempts = 6;
  int64_t initial_delay_ms = 200;
  int64_t max_delay_ms = 30000;
  double multiplier = 2.0;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  int attempts = 0;  // how many requests it took
};

class HttpClient {
 public:
  HttpClient(RetryPolicy retry, int64_t timeout_ms, std::map<std::string, std::string> headers);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GETs `url`. Connection errors, timeouts, 429 and 5xx are retried with exponential
  // backoff and full jitter; a Retry-After header sets the minimum wait. Other 4xx fail at
  // once. The error names the URL without its userinfo and query (which may hold secrets),
  // the last HTTP status or transport error, and the number of attempts. Header values
  // (secrets) never appear in messages, even when a server echoes them in an error body.
  Result<HttpResponse> Get(const std::string& url);

  // Bodies longer than this fail the request (kInvalidArgument, not retried) without being
  // buffered further; a Content-Length over it is refused before the body is read.
  void set_max_body_bytes(int64_t max) { max_body_bytes_ = max; }

  // For tests: replaces the sleep between attempts.
  void set_sleeper(std::function<void(int64_t ms)> sleeper) { sleeper_ = std::move(sleeper); }

 private:
  RetryPolicy retry_;
  int64_t timeout_ms_;
  int64_t max_body_bytes_ = int64_t{256} << 20;
  std::map<std::string, std::string> headers_;
  std::function<void(int64_t)> sleeper_;
  void* curl_ = nullptr;
  uint64_t jitter_state_;
};

}  // namespace strata::ingest
