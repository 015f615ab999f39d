#include "lake/s3_object_store.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/file.h"
#include "core/hash.h"
#include "core/redact.h"
#include "core/strings.h"

namespace strata::lake {
namespace {

namespace fs = std::filesystem;

// ---- small helpers ---------------------------------------------------------------------------

bool CurlReady() {
  static const bool ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ready;
}

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters stay, '/' stays when
// `keep_slash` (object keys in paths).
std::string AwsEncode(std::string_view s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string XmlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) {
      out.push_back(s[i]);
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") {
      out.push_back('&');
    } else if (ent == "lt") {
      out.push_back('<');
    } else if (ent == "gt") {
      out.push_back('>');
    } else if (ent == "quot") {
      out.push_back('"');
    } else if (ent == "apos") {
      out.push_back('\'');
    } else if (!ent.empty() && ent[0] == '#') {
      long code = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X')
                      ? std::strtol(std::string(ent.substr(2)).c_str(), nullptr, 16)
                      : std::strtol(std::string(ent.substr(1)).c_str(), nullptr, 10);
      if (code > 0 && code < 128) {
        out.push_back(static_cast<char>(code));
      } else {
        out.append(s.substr(i, semi - i + 1));
      }
    } else {
      out.append(s.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

// The text of each <tag>...</tag> in `xml`, in order (decoded), within [from, to).
std::vector<std::string> XmlAll(std::string_view xml, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    size_t start = pos + open.size();
    size_t end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    out.push_back(XmlDecode(xml.substr(start, end - start)));
    pos = end + close.size();
  }
  return out;
}

std::string XmlFirst(std::string_view xml, const std::string& tag) {
  auto all = XmlAll(xml, tag);
  return all.empty() ? "" : all[0];
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// ---- the HTTP layer --------------------------------------------------------------------------

struct S3Request {
  std::string method = "GET";
  std::string key;                                         // full key (with prefix); "" for the bucket
  std::vector<std::pair<std::string, std::string>> query;  // unencoded; sorted when sent
  std::vector<std::string> headers;                        // "Name: value"
  std::string_view body;
  // GET: chunks go here instead of into the response body; a retry resumes after what it
  // already received (a Range request), so the sink never sees a byte twice.
  std::function<Status(std::string_view)> sink;
};

struct S3Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  int attempts = 0;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  // "Code: Message" from an S3 error document, else the status.
  std::string Error() const {
    std::string code = XmlFirst(body, "Code"), message = XmlFirst(body, "Message");
    std::string out = "HTTP " + std::to_string(status);
    if (!code.empty()) out += " " + code;
    if (!message.empty()) out += ": " + message;
    return Redact(out);
  }
};

// Where a GET's bytes go, across the attempts of one request.
struct SinkState {
  const S3Request* req;
  S3Response* resp;
  int64_t* received;    // bytes the sink has, over all attempts
  int64_t resume_from;  // what it had when this attempt started
  int64_t position;     // this attempt's position in the object (for a 200 that restarts)
  Status error;
};

class S3Http {
 public:
  explicit S3Http(const S3Options& o) : o_(o) {
    RegisterSecret(o_.credentials.secret_access_key);
    if (!o_.credentials.session_token.empty()) RegisterSecret(o_.credentials.session_token);
    std::string endpoint = o_.endpoint.empty() ? "https://s3." + o_.region + ".amazonaws.com" : o_.endpoint;
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    if (o_.path_style) {
      base_ = endpoint + "/" + o_.bucket;
    } else {
      size_t scheme = endpoint.find("://");
      base_ = scheme == std::string::npos
                  ? "https://" + o_.bucket + "." + endpoint
                  : endpoint.substr(0, scheme + 3) + o_.bucket + "." + endpoint.substr(scheme + 3);
    }
    sigv4_ = "aws:amz:" + o_.region + ":s3";
    userpwd_ = o_.credentials.access_key_id + ":" + o_.credentials.secret_access_key;
  }
  ~S3Http() {
    for (CURL* c : pool_) curl_easy_cleanup(c);
  }

  const std::string& base() const { return base_; }

  // Sends `req`, retrying transport errors, 5xx, 429 and SlowDown with backoff. Returns the
  // final response whatever its status (the caller decides what a 404 or 412 means); an error
  // only when no answer came (or retries ran out on retryable ones).
  Result<S3Response> Send(const S3Request& req) {
    if (!CurlReady()) return Status::Internal("libcurl could not be initialized");
    std::string url = base_ + "/" + AwsEncode(req.key, true);
    auto query = req.query;
    std::sort(query.begin(), query.end());
    for (size_t i = 0; i < query.size(); ++i) {
      url += (i ? "&" : "?") + AwsEncode(query[i].first, false) + "=" + AwsEncode(query[i].second, false);
    }
    const std::string shown = req.method + " s3://" + o_.bucket + "/" + req.key;
    const std::string payload_hash = Sha256::Of(req.body);
    S3Response resp;
    int64_t delay = o_.retry.initial_delay_ms;
    int64_t received = 0;  // bytes already given to req.sink
    std::string last_error;
    for (int attempt = 1; attempt <= std::max(1, o_.retry.max_attempts); ++attempt) {
      resp = S3Response();
      resp.attempts = attempt;
      CURL* curl = Acquire();
      if (curl == nullptr) return Status::Internal("libcurl could not be initialized");
      SinkState sink{&req, &resp, &received, received, 0, Status::OK()};
      curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
      curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(o_.timeout_ms));
      curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(static_cast<long>(o_.timeout_ms), 10000L));
      curl_easy_setopt(curl, CURLOPT_USERAGENT, "strata/0.1");
      curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4_.c_str());
      curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd_.c_str());
      curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &S3Http::OnHeader);
      curl_easy_setopt(curl, CURLOPT_HEADERDATA, &resp);
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &S3Http::OnBody);
      curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
      if (req.method == "HEAD") {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
      } else if (req.method == "GET") {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
      } else {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.empty() ? "" : req.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      }
      struct curl_slist* hdrs = nullptr;
      hdrs = curl_slist_append(hdrs, ("x-amz-content-sha256: " + payload_hash).c_str());
      if (!o_.credentials.session_token.empty()) {
        hdrs = curl_slist_append(hdrs, ("x-amz-security-token: " + o_.credentials.session_token).c_str());
      }
      for (const auto& h : req.headers) hdrs = curl_slist_append(hdrs, h.c_str());
      if (req.method != "GET" && req.method != "HEAD") {
        // Not libcurl's form type; an explicit one: libcurl 7.88 signs every header given
        // here, even one given only to remove it ("Expect:"), which the server then never sees.
        hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
      }
      if (req.sink && received > 0)
        hdrs = curl_slist_append(hdrs, ("Range: bytes=" + std::to_string(received) + "-").c_str());
      curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
      CURLcode rc = curl_easy_perform(curl);
      curl_slist_free_all(hdrs);
      if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
      Release(curl, rc == CURLE_OK);
      if (!sink.error.ok()) return sink.error;  // the sink refused: not the store's fault
      bool retry = false;
      if (rc != CURLE_OK) {
        last_error = curl_easy_strerror(rc);
        retry = rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_URL_MALFORMAT;
      } else if (resp.status == 429 || resp.status >= 500 ||
                 (resp.status == 400 && XmlFirst(resp.body, "Code") == "RequestTimeout")) {
        last_error = resp.Error();
        retry = true;
      } else {
        return resp;
      }
      if (!retry || attempt == o_.retry.max_attempts) break;
      int64_t wait = delay;
      if (o_.retry.jitter) {
        std::lock_guard<std::mutex> lock(mu_);
        wait = std::uniform_int_distribution<int64_t>(0, delay)(rng_);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
      delay = std::min<int64_t>(o_.retry.max_delay_ms,
                                static_cast<int64_t>(static_cast<double>(delay) * o_.retry.multiplier));
    }
    return Status::Unavailable(shown + " failed after " + Tries(resp.attempts) + ": " + last_error);
  }

 private:
  static size_t OnHeader(char* buffer, size_t size, size_t n, void* userdata) {
    auto* resp = static_cast<S3Response*>(userdata);
    std::string_view line(buffer, size * n);
    if (line.rfind("HTTP/", 0) == 0) {
      resp->headers.clear();  // a new response (after a 100 Continue, say)
      size_t sp = line.find(' ');
      resp->status =
          sp == std::string_view::npos ? 0 : std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
      return size * n;
    }
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name(line.substr(0, colon));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value(line.substr(colon + 1));
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
      resp->headers[name] = value;
    }
    return size * n;
  }

  static size_t OnBody(char* ptr, size_t size, size_t n, void* userdata) {
    auto* s = static_cast<SinkState*>(userdata);
    const size_t len = size * n;
    // Error documents (and other answers) are kept; a GET's data goes to the sink.
    const bool data = s->req->sink && (s->resp->status == 200 || s->resp->status == 206);
    if (!data) {
      s->resp->body.append(ptr, len);
      return len;
    }
    // A resumed read asked for the rest (206 starts there); a server that ignored the Range
    // (200) sends everything again, and what the sink already has is skipped.
    std::string_view chunk(ptr, len);
    if (s->resp->status == 200 && s->position < s->resume_from) {
      const int64_t skip = std::min<int64_t>(s->resume_from - s->position, static_cast<int64_t>(len));
      s->position += skip;
      chunk.remove_prefix(static_cast<size_t>(skip));
    }
    if (chunk.empty()) return len;
    Status st = s->req->sink(chunk);
    if (!st.ok()) {
      s->error = st;
      return 0;
    }
    s->position += static_cast<int64_t>(chunk.size());
    *s->received += static_cast<int64_t>(chunk.size());
    return len;
  }

  CURL* Acquire() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!pool_.empty()) {
      CURL* c = pool_.back();
      pool_.pop_back();
      curl_easy_reset(c);
      return c;
    }
    return curl_easy_init();
  }
  void Release(CURL* c, bool reusable) {
    if (!reusable) {
      curl_easy_cleanup(c);
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    pool_.push_back(c);
  }

  const S3Options& o_;
  std::string base_, sigv4_, userpwd_;
  std::mutex mu_;
  std::vector<CURL*> pool_;
  std::mt19937_64 rng_{std::random_device{}()};
};

// ---- the store ------------------------------------------------------------------------------

class S3ObjectStore;

class S3Writer : public ObjectWriter {
 public:
  S3Writer(S3ObjectStore* store, std::string key, std::string staging, int fd)
      : store_(store), key_(std::move(key)), staging_(std::move(staging)), fd_(fd) {}
  ~S3Writer() override { Abort(); }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::Internal("append to a closed writer for '" + key_ + "'");
    return WriteAll(fd_, data, staging_);
  }
  const std::string& staging_path() const override { return staging_; }
  Result<ObjectInfo> Commit() override;
  void Abort() override {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (!staging_.empty()) ::unlink(staging_.c_str());
  }

 private:
  S3ObjectStore* store_;
  std::string key_, staging_;
  int fd_;
};

class S3ObjectStore : public ObjectStore {
 public:
  explicit S3ObjectStore(S3Options o) : o_(std::move(o)), http_(o_) {
    if (o_.cache_dir.empty()) {
      std::string home = Env("HOME");
      o_.cache_dir = (home.empty() ? std::string("/tmp") : home) + "/.cache/strata/s3";
    }
    cache_root_ = o_.cache_dir + "/" + o_.bucket + (o_.prefix.empty() ? "" : "/" + o_.prefix);
  }

  std::string uri() const override { return "s3://" + o_.bucket + (o_.prefix.empty() ? "" : "/" + o_.prefix); }

  Result<std::unique_ptr<ObjectWriter>> NewWriter(const std::string& key) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    const std::string dir = o_.cache_dir + "/staging";
    STRATA_RETURN_IF_ERROR(MakeDirs(dir));
    static std::atomic<uint64_t> counter{0};
    std::string staging = dir + "/" + std::to_string(::getpid()) + "." + std::to_string(counter++) + "." +
                          fs::path(key).filename().string();
    int fd = ::open(staging.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IOError("cannot create '" + staging + "': " + std::strerror(errno));
    return std::unique_ptr<ObjectWriter>(new S3Writer(this, key, staging, fd));
  }

  Result<std::string> Get(const std::string& key) override {
    std::string out;
    STRATA_RETURN_IF_ERROR(Read(key, [&out](std::string_view chunk) {
      out.append(chunk);
      return Status::OK();
    }));
    return out;
  }

  Status Read(const std::string& key, const std::function<Status(std::string_view chunk)>& sink) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    S3Request req;
    req.method = "GET";
    req.key = Full(key);
    Sha256 hasher;
    req.sink = [&](std::string_view chunk) {
      hasher.Update(chunk);
      return sink(chunk);
    };
    STRATA_ASSIGN_OR_RETURN(S3Response r, http_.Send(req));
    if (r.status == 404) return Status::NotFound("no object '" + key + "' in " + uri());
    if (r.status != 200 && r.status != 206) return Status::IOError("GET " + Shown(key) + ": " + r.Error());
    const std::string want = r.Header("x-amz-meta-sha256");
    if (!want.empty()) {
      const std::string got = hasher.HexDigest();
      if (got != want) {
        return Status::Corruption("object '" + key + "' in " + uri() + " read with SHA-256 " + got +
                                  ", but it was written with " + want);
      }
    }
    return Status::OK();
  }

  Result<ObjectInfo> Stat(const std::string& key) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    STRATA_ASSIGN_OR_RETURN(S3Response r, Head(key));
    if (r.status == 404) return Status::NotFound("no object '" + key + "' in " + uri());
    if (r.status != 200) return Status::IOError("HEAD " + Shown(key) + ": " + r.Error());
    return ObjectInfo{key, std::strtoll(r.Header("content-length").c_str(), nullptr, 10), ""};
  }

  Result<bool> Exists(const std::string& key) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    STRATA_ASSIGN_OR_RETURN(S3Response r, Head(key));
    if (r.status == 404) return false;
    if (r.status != 200) return Status::IOError("HEAD " + Shown(key) + ": " + r.Error());
    return true;
  }

  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    std::string token;
    const std::string full = o_.prefix.empty() ? prefix : o_.prefix + "/" + prefix;
    for (;;) {
      S3Request req;
      req.query = {{"list-type", "2"}, {"max-keys", std::to_string(o_.list_page_size)}, {"prefix", full}};
      if (!token.empty()) req.query.push_back({"continuation-token", token});
      STRATA_ASSIGN_OR_RETURN(S3Response r, http_.Send(req));
      if (r.status != 200) return Status::IOError("listing " + uri() + "/" + prefix + ": " + r.Error());
      // Each <Contents> holds one <Key> and one <Size>.
      for (const auto& c : XmlAll(r.body, "Contents")) {
        std::string key = XmlFirst(c, "Key");
        if (!o_.prefix.empty()) key = key.substr(std::min(key.size(), o_.prefix.size() + 1));
        out.push_back({key, std::strtoll(XmlFirst(c, "Size").c_str(), nullptr, 10), ""});
      }
      if (XmlFirst(r.body, "IsTruncated") != "true") break;
      token = XmlFirst(r.body, "NextContinuationToken");
      if (token.empty()) return Status::IOError("listing " + uri() + ": truncated without a continuation token");
    }
    std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
  }

  Status Delete(const std::string& key) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    S3Request req;
    req.method = "DELETE";
    req.key = Full(key);
    STRATA_ASSIGN_OR_RETURN(S3Response r, http_.Send(req));
    if (r.status != 204 && r.status != 200 && r.status != 404) {
      return Status::IOError("DELETE " + Shown(key) + ": " + r.Error());
    }
    return Status::OK();
  }

  Status Move(const std::string& from, const std::string& to) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(from));
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(to));
    STRATA_ASSIGN_OR_RETURN(bool from_exists, Exists(from));
    STRATA_ASSIGN_OR_RETURN(bool to_exists, Exists(to));
    if (!from_exists) {
      if (to_exists) return Status::OK();  // moved before
      return Status::NotFound("no object '" + from + "' in " + uri());
    }
    if (!to_exists) {
      S3Request copy;
      copy.method = "PUT";
      copy.key = Full(to);
      copy.headers = {"x-amz-copy-source: /" + o_.bucket + "/" + AwsEncode(Full(from), true), "If-None-Match: *"};
      STRATA_ASSIGN_OR_RETURN(S3Response r, http_.Send(copy));
      if (r.status == 412) return Status::AlreadyExists("object '" + to + "' already exists and is immutable");
      // A copy can fail after its 200 status line: the error is then in the body.
      if (r.status != 200 || r.body.find("<Error>") != std::string::npos) {
        return Status::IOError("copying " + Shown(from) + " to " + to + ": " + r.Error());
      }
    } else {
      // Both exist: an earlier move copied, then stopped before deleting. Same bytes only.
      STRATA_ASSIGN_OR_RETURN(S3Response a, Head(from));
      STRATA_ASSIGN_OR_RETURN(S3Response b, Head(to));
      if (a.Header("x-amz-meta-sha256") != b.Header("x-amz-meta-sha256") || a.Header("etag") != b.Header("etag")) {
        return Status::AlreadyExists("object '" + to + "' already exists and is immutable");
      }
    }
    return Delete(from);
  }

  Result<std::string> ReadablePath(const std::string& key) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    const std::string path = cache_root_ + "/" + key;
    // A cached copy serves while the object is the one it was copied from: same ETag and
    // SHA-256 (a key deleted and written again with other bytes of the same size is not).
    STRATA_ASSIGN_OR_RETURN(S3Response head, Head(key));
    if (head.status == 404) return Status::NotFound("no object '" + key + "' in " + uri());
    if (head.status != 200) return Status::IOError("HEAD " + Shown(key) + ": " + head.Error());
    const std::string identity = head.Header("etag") + " " + head.Header("x-amz-meta-sha256");
    const std::string id_path = IdentityPath(key);
    if (::access(path.c_str(), R_OK) == 0 && Slurp(id_path) == identity) {
      ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // recently used
      return path;
    }
    STRATA_RETURN_IF_ERROR(MakeDirs(fs::path(path).parent_path().string()));
    static std::atomic<uint64_t> counter{0};
    const std::string tmp = path + "." + std::to_string(::getpid()) + "." + std::to_string(counter++) + ".part";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) return Status::IOError("cannot create '" + tmp + "'");
      Status s = Read(key, [&out, &tmp](std::string_view chunk) {
        out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        return out ? Status::OK() : Status::IOError("cannot write '" + tmp + "' (disk full?)");
      });
      out.close();
      if (!s.ok() || !out) {
        ::unlink(tmp.c_str());
        return s.ok() ? Status::IOError("cannot write '" + tmp + "'") : s;
      }
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      ::unlink(tmp.c_str());
      return Status::IOError("cannot rename into '" + path + "': " + std::strerror(errno));
    }
    // Written after the copy: a copy without it is fetched again.
    STRATA_RETURN_IF_ERROR(WriteFileAtomic(id_path, identity, Durability::kAtomicOnly));
    EvictCache(path);
    return path;
  }

  // ---- used by the writer and gc ----

  // Uploads the staged file as `key`, conditionally; returns its info.
  Result<ObjectInfo> Upload(const std::string& key, const std::string& staging) {
    ObjectInfo info;
    info.key = key;
    STRATA_ASSIGN_OR_RETURN(info.sha256, Sha256::OfFile(staging, &info.size));
    Status s = info.size <= o_.multipart_threshold ? PutWhole(key, staging, info.sha256)
                                                   : PutMultipart(key, staging, info.sha256, info.size);
    if (s.code() == Status::Code::kAlreadyExists) {
      // A retry of our own write that landed (the answer was lost): the same bytes are there.
      STRATA_ASSIGN_OR_RETURN(S3Response h, Head(key));
      if (h.status == 200 && h.Header("x-amz-meta-sha256") == info.sha256) return info;
    }
    STRATA_RETURN_IF_ERROR(s);
    return info;
  }

  Result<int64_t> AbortIncomplete(bool dry_run) {
    S3Request req;
    req.query = {{"uploads", ""}, {"prefix", o_.prefix.empty() ? "" : o_.prefix + "/"}};
    STRATA_ASSIGN_OR_RETURN(S3Response r, http_.Send(req));
    if (r.status != 200) return Status::IOError("listing multipart uploads of " + uri() + ": " + r.Error());
    int64_t n = 0;
    for (const auto& u : XmlAll(r.body, "Upload")) {
      ++n;
      if (!dry_run) STRATA_RETURN_IF_ERROR(AbortUpload(XmlFirst(u, "Key"), XmlFirst(u, "UploadId")));
    }
    return n;
  }

 private:
  std::string Full(const std::string& key) const { return o_.prefix.empty() ? key : o_.prefix + "/" + key; }
  // Where the cache records which object a cached copy came from (outside the copies' tree:
  // bucket names never start with '.').
  std::string IdentityPath(const std::string& key) const {
    return o_.cache_dir + "/.ids/" + o_.bucket + (o_.prefix.empty() ? "" : "/" + o_.prefix) + "/" + key;
  }
  static std::string Slurp(const std::string& path) {
    auto text = ReadFile(path);
    return text.ok() ? *text : "";
  }
  std::string Shown(const std::string& key) const { return uri() + "/" + key; }

  Result<S3Response> Head(const std::string& key) {
    S3Request req;
    req.method = "HEAD";
    req.key = Full(key);
    return http_.Send(req);
  }

  Status PutWhole(const std::string& key, const std::string& staging, const std::string& sha256) {
    STRATA_ASSIGN_OR_RETURN(std::string data, ReadFile(staging));
    S3Request req;
    req.method = "PUT";
    req.key = Full(key);
    req.body = data;
    req.headers = {"If-None-Match: *", "x-amz-meta-sha256: " + sha256};
    STRATA_ASSIGN_OR_RETURN(S3Response r, http_.Send(req));
    if (r.status == 412) return Status::AlreadyExists("object '" + key + "' already exists and is immutable");
    if (r.status != 200) return Status::IOError("PUT " + Shown(key) + ": " + r.Error());
    return Status::OK();
  }

  Status AbortUpload(const std::string& full_key, const std::string& upload_id) {
    S3Request req;
    req.method = "DELETE";
    req.key = full_key;
    req.query = {{"uploadId", upload_id}};
    STRATA_ASSIGN_OR_RETURN(S3Response r, http_.Send(req));
    if (r.status != 204 && r.status != 200 && r.status != 404) {
      return Status::IOError("aborting the upload of s3://" + o_.bucket + "/" + full_key + ": " + r.Error());
    }
    return Status::OK();
  }

  Status PutMultipart(const std::string& key, const std::string& staging, const std::string& sha256, int64_t size) {
    S3Request init;
    init.method = "POST";
    init.key = Full(key);
    init.query = {{"uploads", ""}};
    init.headers = {"x-amz-meta-sha256: " + sha256};
    STRATA_ASSIGN_OR_RETURN(S3Response r, http_.Send(init));
    const std::string upload_id = XmlFirst(r.body, "UploadId");
    if (r.status != 200 || upload_id.empty()) {
      return Status::IOError("starting the upload of " + Shown(key) + ": " + r.Error());
    }
    Status s = UploadParts(key, staging, size, upload_id);
    if (!s.ok()) {
      Status aborted = AbortUpload(Full(key), upload_id);
      if (!aborted.ok()) {
        s = Status::IOError(s.message() + " (and aborting the upload failed: " + aborted.message() + ")");
      }
    }
    return s;
  }

  Status UploadParts(const std::string& key, const std::string& staging, int64_t size, const std::string& upload_id) {
    std::ifstream in(staging, std::ios::binary);
    if (!in) return Status::IOError("cannot read '" + staging + "'");
    std::string xml = "<CompleteMultipartUpload>";
    std::string buf;
    int part = 0;
    for (int64_t offset = 0; offset < size; offset += o_.part_size) {
      ++part;
      buf.resize(static_cast<size_t>(std::min(o_.part_size, size - offset)));
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      if (in.gcount() != static_cast<std::streamsize>(buf.size())) {
        return Status::IOError("reading '" + staging + "' stopped early");
      }
      S3Request req;
      req.method = "PUT";
      req.key = Full(key);
      req.query = {{"partNumber", std::to_string(part)}, {"uploadId", upload_id}};
      req.body = buf;
      STRATA_ASSIGN_OR_RETURN(S3Response r, http_.Send(req));
      if (r.status != 200)
        return Status::IOError("uploading part " + std::to_string(part) + " of " + Shown(key) + ": " + r.Error());
      xml += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" + HtmlEscape(r.Header("etag")) +
             "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    S3Request done;
    done.method = "POST";
    done.key = Full(key);
    done.query = {{"uploadId", upload_id}};
    done.body = xml;
    done.headers = {"If-None-Match: *"};
    STRATA_ASSIGN_OR_RETURN(S3Response r, http_.Send(done));
    if (r.status == 412) return Status::AlreadyExists("object '" + key + "' already exists and is immutable");
    if (r.status != 200 || r.body.find("<Error>") != std::string::npos) {
      return Status::IOError("completing the upload of " + Shown(key) + ": " + r.Error());
    }
    return Status::OK();
  }

  // Removes the least recently used cached copies until the cache fits (never `keep`).
  void EvictCache(const std::string& keep) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    std::vector<std::pair<fs::file_time_type, fs::path>> files;
    int64_t total = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(cache_root_, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      if (it->path().extension() == ".part") continue;
      total += static_cast<int64_t>(it->file_size(ec));
      files.emplace_back(it->last_write_time(ec), it->path());
    }
    if (total <= o_.cache_bytes) return;
    std::sort(files.begin(), files.end());
    // Copies used within the grace period may still be read (a load hands DuckDB many paths
    // at once): the cache goes over its bound rather than pull a file from under a reader.
    const auto recent = fs::file_time_type::clock::now() - std::chrono::seconds(o_.cache_grace_seconds);
    for (const auto& [t, p] : files) {
      if (total <= o_.cache_bytes) break;
      if (p.string() == keep || (o_.cache_grace_seconds > 0 && t > recent)) continue;
      int64_t n = static_cast<int64_t>(fs::file_size(p, ec));
      if (fs::remove(p, ec)) total -= n;
      fs::remove(IdentityPath(fs::relative(p, cache_root_, ec).string()), ec);
    }
  }

  S3Options o_;
  S3Http http_;
  std::string cache_root_;
  std::mutex cache_mu_;
};

Result<ObjectInfo> S3Writer::Commit() {
  if (fd_ < 0) return Status::Internal("commit of a closed writer for '" + key_ + "'");
  ::close(fd_);
  fd_ = -1;
  auto info = store_->Upload(key_, staging_);
  ::unlink(staging_.c_str());
  staging_.clear();
  return info;
}

// The [profile] section's keys of an INI-style credentials file.
std::map<std::string, std::string> IniSection(const std::string& text, const std::string& profile) {
  std::map<std::string, std::string> out;
  bool in = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#' || line[first] == ';') continue;
    line = line.substr(first);
    if (line.front() == '[') {
      std::string name = line.substr(1, line.find(']') - 1);
      in = name == profile;
      continue;
    }
    if (!in) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.pop_back();
    size_t vs = v.find_first_not_of(" \t");
    out[k] = vs == std::string::npos ? "" : v.substr(vs);
  }
  return out;
}

}  // namespace

Result<S3Options> ParseS3Location(const std::string& location) {
  if (location.rfind("s3://", 0) != 0) return Status::InvalidArgument("not an s3:// location: '" + location + "'");
  S3Options o;
  std::string rest = location.substr(5);
  std::string query;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  o.bucket = rest.substr(0, slash);
  o.prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!o.prefix.empty() && o.prefix.back() == '/') o.prefix.pop_back();
  if (o.bucket.empty()) return Status::InvalidArgument("lake location '" + location + "' names no bucket");
  if (o.prefix.find("..") != std::string::npos) {
    return Status::InvalidArgument("lake location '" + location + "': the prefix must not contain '..'");
  }
  std::string region = Env("AWS_REGION");
  if (region.empty()) region = Env("AWS_DEFAULT_REGION");
  if (!region.empty()) o.region = region;
  o.endpoint = Env("AWS_ENDPOINT_URL_S3");
  if (o.endpoint.empty()) o.endpoint = Env("AWS_ENDPOINT_URL");
  std::string path_style;
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string kv = query.substr(pos, amp - pos);
    pos = amp + 1;
    size_t eq = kv.find('=');
    std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (k == "region") {
      o.region = v;
    } else if (k == "endpoint") {
      o.endpoint = v;
    } else if (k == "path_style") {
      path_style = v;
    } else if (k == "multipart_mb") {
      char* end = nullptr;
      long long mb = std::strtoll(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || mb < 0) {
        return Status::InvalidArgument("lake location '" + location + "': multipart_mb must be a number >= 0");
      }
      o.multipart_threshold = static_cast<int64_t>(mb) << 20;
    } else if (k == "cache") {
      o.cache_dir = v;
    } else if (k == "cache_mb") {
      char* end = nullptr;
      long long mb = std::strtoll(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || mb <= 0) {
        return Status::InvalidArgument("lake location '" + location + "': cache_mb must be a positive number");
      }
      o.cache_bytes = static_cast<int64_t>(mb) << 20;
    } else {
      return Status::InvalidArgument("lake location '" + location + "': unknown option '" + k +
                                     "' (region, endpoint, path_style, cache, cache_mb, multipart_mb)");
    }
  }
  if (path_style.empty()) {
    o.path_style = !o.endpoint.empty();
  } else if (path_style == "true" || path_style == "false") {
    o.path_style = path_style == "true";
  } else {
    return Status::InvalidArgument("lake location '" + location + "': path_style is true or false");
  }
  return o;
}

Result<S3Credentials> S3CredentialsFromEnvironment() {
  S3Credentials c;
  c.access_key_id = Env("AWS_ACCESS_KEY_ID");
  c.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
  c.session_token = Env("AWS_SESSION_TOKEN");
  if (!c.access_key_id.empty() && !c.secret_access_key.empty()) return c;
  std::string file = Env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty() && !Env("HOME").empty()) file = Env("HOME") + "/.aws/credentials";
  std::string profile = Env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  if (!file.empty()) {
    auto text = ReadFile(file);
    if (text.ok()) {
      auto section = IniSection(*text, profile);
      c.access_key_id = section["aws_access_key_id"];
      c.secret_access_key = section["aws_secret_access_key"];
      c.session_token = section["aws_session_token"];
      if (!c.access_key_id.empty() && !c.secret_access_key.empty()) return c;
    }
  }
  return Status::NotFound("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a [" + profile +
                          "] profile in " + (file.empty() ? std::string("~/.aws/credentials") : file));
}

Result<std::unique_ptr<ObjectStore>> OpenS3ObjectStore(S3Options options) {
  if (options.credentials.access_key_id.empty()) {
    STRATA_ASSIGN_OR_RETURN(options.credentials, S3CredentialsFromEnvironment());
  }
  if (options.part_size < (5 << 20)) options.part_size = 5 << 20;
  return std::unique_ptr<ObjectStore>(new S3ObjectStore(std::move(options)));
}

Result<int64_t> AbortIncompleteUploads(ObjectStore* store, bool dry_run) {
  auto* s3 = dynamic_cast<S3ObjectStore*>(store);
  if (s3 == nullptr) return int64_t{0};
  return s3->AbortIncomplete(dry_run);
}

}  // namespace strata::lake
