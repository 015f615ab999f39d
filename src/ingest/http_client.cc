#include "ingest/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/redact.h"

namespace strata::ingest {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

struct Body {
  std::string* text;
  int64_t max;
  bool too_big = false;
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* body = static_cast<Body*>(userdata);
  if (static_cast<int64_t>(body->text->size() + size * nmemb) > body->max) {
    body->too_big = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  body->text->append(ptr, size * nmemb);
  return size * nmemb;
}

struct HeaderState {
  int64_t retry_after_ms = -1;
};

size_t ReadHeader(char* buffer, size_t size, size_t nitems, void* userdata) {
  std::string_view line(buffer, size * nitems);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower;
    for (size_t i = 0; i < kName.size(); ++i) lower.push_back(static_cast<char>(std::tolower(line[i])));
    if (lower == kName) {
      std::string value(line.substr(kName.size()));
      char* end = nullptr;
      long secs = std::strtol(value.c_str(), &end, 10);
      if (end != value.c_str() && secs >= 0) {
        static_cast<HeaderState*>(userdata)->retry_after_ms = secs * 1000;
      } else {
        time_t when = curl_getdate(value.c_str(), nullptr);
        if (when > 0) {
          static_cast<HeaderState*>(userdata)->retry_after_ms =
              std::max<int64_t>(0, (static_cast<int64_t>(when) - std::time(nullptr)) * 1000);
        }
      }
    }
  }
  return size * nitems;
}

std::string WithoutQuery(const std::string& url) { return RedactUrl(url); }

}  // namespace

HttpClient::HttpClient(RetryPolicy retry, int64_t timeout_ms, std::map<std::string, std::string> headers)
    : retry_(retry), timeout_ms_(timeout_ms), headers_(std::move(headers)) {
  static CurlGlobal global;
  for (const auto& [name, value] : headers_) RegisterSecret(value);  // Authorization, API keys
  curl_ = curl_easy_init();
  jitter_state_ = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) | 1;
  sleeper_ = [](int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Result<HttpResponse> HttpClient::Get(const std::string& url) {
  RegisterUrlPassword(url);
  CURL* curl = static_cast<CURL*>(curl_);
  HttpResponse resp;
  std::string last_error;
  int64_t delay = retry_.initial_delay_ms;
  for (int attempt = 1; attempt <= std::max(1, retry_.max_attempts); ++attempt) {
    resp.attempts = attempt;
    resp.body.clear();
    HeaderState hs;
    Body body{&resp.body, max_body_bytes_};
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_body_bytes_));
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &hs);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms_));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(timeout_ms_, 10000)));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    // gzip: cheap for both sides (servers tend to spend far longer on brotli at its defaults).
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "strata/0.1");
    struct curl_slist* hdrs = nullptr;
    for (const auto& [k, v] : headers_) hdrs = curl_slist_append(hdrs, (k + ": " + v).c_str());
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(hdrs);

    bool retryable = false;
    if (body.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
      resp.body.clear();
      return Status::InvalidArgument("GET " + WithoutQuery(url) + " failed: the response body is larger than " +
                                     std::to_string(max_body_bytes_) + " bytes (max_response_bytes)");
    }
    if (rc != CURLE_OK) {
      last_error = curl_easy_strerror(rc);
      retryable = true;
    } else {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
      if (resp.status >= 200 && resp.status < 300) return resp;
      last_error = "HTTP " + std::to_string(resp.status);
      if (resp.status == 429 || resp.status >= 500) {
        retryable = true;
      } else {
        std::string snippet = Redact(resp.body.substr(0, 300));
        return Status::InvalidArgument("GET " + WithoutQuery(url) + " failed: " + last_error +
                                       (snippet.empty() ? "" : ": " + snippet));
      }
    }
    if (!retryable || attempt == retry_.max_attempts) break;
    // Full jitter: a random wait in [0, delay], at least what Retry-After asks for.
    jitter_state_ ^= jitter_state_ << 13;
    jitter_state_ ^= jitter_state_ >> 7;
    jitter_state_ ^= jitter_state_ << 17;
    int64_t wait = static_cast<int64_t>(jitter_state_ % static_cast<uint64_t>(delay + 1));
    if (hs.retry_after_ms >= 0) wait = std::max(wait, std::min(hs.retry_after_ms, retry_.max_delay_ms));
    sleeper_(wait);
    delay = std::min<int64_t>(retry_.max_delay_ms, static_cast<int64_t>(static_cast<double>(delay) * retry_.multiplier));
  }
  return Status::Unavailable("GET " + WithoutQuery(url) + " failed after " + std::to_string(resp.attempts) +
                             " attempt(s): " + last_error);
}

}  // namespace strata::ingest
