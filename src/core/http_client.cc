#include "core/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "core/redact.h"

namespace strata {
namespace {

using Clock = std::chrono::steady_clock;

bool CurlReady() {
  static const bool ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ready;
}

struct Body {
  std::string* text;
  int64_t max;   // over it: fail
  int64_t keep;  // -1, or keep this much and drop the rest
  bool too_big = false;
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* body = static_cast<Body*>(userdata);
  const size_t n = size * nmemb;
  if (body->keep >= 0) {
    size_t room = static_cast<size_t>(body->keep) - std::min(body->text->size(), static_cast<size_t>(body->keep));
    body->text->append(ptr, std::min(n, room));
    return n;
  }
  if (static_cast<int64_t>(body->text->size() + n) > body->max) {
    body->too_big = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  body->text->append(ptr, n);
  return n;
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

int64_t MillisLeft(std::optional<Clock::time_point> deadline) {
  if (!deadline) return INT64_MAX;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()).count();
}

}  // namespace

std::string UrlEncode(const std::string& value) {
  char* e = curl_easy_escape(nullptr, value.c_str(), static_cast<int>(value.size()));
  std::string out = e != nullptr ? e : "";
  curl_free(e);
  return out;
}

std::string Tries(int n) { return std::to_string(n) + (n == 1 ? " try" : " tries"); }

HttpClient::HttpClient(HttpRetryPolicy retry, int64_t timeout_ms, std::map<std::string, std::string> headers)
    : retry_(retry), timeout_ms_(timeout_ms), headers_(std::move(headers)) {
  if (CurlReady()) curl_ = curl_easy_init();
  for (const auto& [name, value] : headers_) RegisterSecret(value);  // Authorization, API keys
  jitter_state_ = static_cast<uint64_t>(Clock::now().time_since_epoch().count()) | 1;
  sleeper_ = [](int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
}

HttpClient::~HttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<HttpResponse> HttpClient::Get(const std::string& url) { return Send("GET", url, nullptr, {}); }

Result<HttpResponse> HttpClient::Post(const std::string& url, const std::string& body,
                                      const std::vector<std::string>& header_lines) {
  return Send("POST", url, &body, header_lines);
}

Result<HttpResponse> HttpClient::Send(const std::string& method, const std::string& url, const std::string* body,
                                      const std::vector<std::string>& header_lines) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return Status::Internal("libcurl could not be initialized");
  RegisterUrlPassword(url);
  const std::string shown = method + " " + (display_url_.empty() ? RedactUrl(url) : display_url_);
  HttpResponse resp;
  last_attempts_ = 0;
  std::string last_error = "no time left to send it";
  bool retryable = true;
  int64_t delay = retry_.initial_delay_ms;
  for (int attempt = 1; attempt <= std::max(1, retry_.max_attempts); ++attempt) {
    const int64_t left = MillisLeft(deadline_);
    if (left < 1) break;
    resp.attempts = last_attempts_ = attempt;
    resp.body.clear();
    HeaderState hs;
    Body sink{&resp.body, max_body_bytes_, keep_body_bytes_};
    const long timeout = static_cast<long>(std::max<int64_t>(1, std::min(timeout_ms_, left)));
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &hs);
    if (keep_body_bytes_ < 0)
      curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_body_bytes_));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout, 10000L));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    // gzip: cheap for both sides (servers tend to spend far longer on brotli at its defaults).
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "strata/0.1");
    if (body != nullptr) {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
    }
    struct curl_slist* hdrs = nullptr;
    for (const auto& [k, v] : headers_) hdrs = curl_slist_append(hdrs, (k + ": " + v).c_str());
    for (const auto& line : header_lines) hdrs = curl_slist_append(hdrs, line.c_str());
    if (body != nullptr) hdrs = curl_slist_append(hdrs, "Expect:");  // no 100-continue round trip
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(hdrs);

    if (sink.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
      resp.body.clear();
      return Status::InvalidArgument(shown + " failed: the response body is larger than " +
                                     std::to_string(max_body_bytes_) + " bytes (max_response_bytes)");
    }
    if (rc != CURLE_OK) {
      last_error = curl_easy_strerror(rc);
      retryable = rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_URL_MALFORMAT;
    } else {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
      if (resp.status >= 200 && resp.status < 300) return resp;
      std::string snippet = resp.body.substr(0, 300);
      for (char& ch : snippet) {
        if (ch == '\n' || ch == '\r') ch = ' ';
      }
      last_error = "HTTP " + std::to_string(resp.status) + (snippet.empty() ? "" : ": " + Redact(snippet));
      retryable = resp.status == 429 || resp.status >= 500;
    }
    if (!retryable || attempt == retry_.max_attempts) break;
    int64_t wait = delay;
    if (retry_.jitter) {
      jitter_state_ ^= jitter_state_ << 13;
      jitter_state_ ^= jitter_state_ >> 7;
      jitter_state_ ^= jitter_state_ << 17;
      wait = static_cast<int64_t>(jitter_state_ % static_cast<uint64_t>(delay + 1));
    }
    if (hs.retry_after_ms >= 0) wait = std::max(wait, std::min(hs.retry_after_ms, retry_.max_delay_ms));
    wait = std::min(wait, MillisLeft(deadline_));
    if (wait > 0) sleeper_(wait);
    delay =
        std::min<int64_t>(retry_.max_delay_ms, static_cast<int64_t>(static_cast<double>(delay) * retry_.multiplier));
  }
  const std::string message =
      shown + " failed" + (resp.attempts > 0 ? " after " + Tries(resp.attempts) : "") + ": " + last_error;
  return retryable ? Status::Unavailable(message) : Status::InvalidArgument(message);
}

}  // namespace strata
