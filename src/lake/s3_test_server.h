// Test helper (header-only, for the lake tests and others that need S3): a real S3 protocol
// server (s3rver) behind tests/s3/front.cjs, which verifies every request's SigV4 signature
// with AWS's signer and injects faults on demand. Started per fixture on an ephemeral port;
// killed when destroyed.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "core/http_client.h"
#include "lake/s3_object_store.h"
#include "testing.h"

namespace strata::lake {

class S3TestServer {
 public:
  static constexpr const char* kAccessKey = "strata-test-key";
  static constexpr const char* kSecretKey = "strata-test-secret";

  // Starts the front and its s3rver with `bucket`; a test fails if it does not come up.
  explicit S3TestServer(const std::string& bucket = "lake") : bucket_(bucket) {
    const std::string modules = testing::SourceDir() + "/third_party/s3/node_modules";
    const std::string log = dir_.Sub("front.log");
    proc_ = std::make_unique<testing::ChildProcess>(
        // s3rver's continuation tokens use DES, which Node 17+ keeps in OpenSSL's legacy provider.
        std::vector<std::string>{NodeBinary(), "--openssl-legacy-provider",
                                 testing::SourceDir() + "/tests/s3/front.cjs", "--dir", dir_.Sub("data"), "--port", "0",
                                 "--bucket", bucket},
        std::vector<std::string>{"STRATA_S3_HARNESS_MODULES=" + modules,
                                 std::string("S3_TEST_ACCESS_KEY=") + kAccessKey,
                                 std::string("S3_TEST_SECRET_KEY=") + kSecretKey},
        log);
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::string out = testing::Slurp(log);
      size_t at = out.find("{\"port\":");
      if (at != std::string::npos) port_ = std::atoi(out.c_str() + at + 8);
      if (port_ == 0) {
        if (!proc_->Running()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    if (port_ == 0) {
      ADD_FAILURE() << "the S3 test server did not start (run scripts/bootstrap.sh): " << testing::Slurp(log);
    }
  }

  // `node` from PATH (execve does not search it).
  static std::string NodeBinary() {
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin";
    size_t pos = 0;
    while (pos <= dirs.size()) {
      size_t end = dirs.find(':', pos);
      if (end == std::string::npos) end = dirs.size();
      std::string candidate = dirs.substr(pos, end - pos) + "/node";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      pos = end + 1;
    }
    return "/usr/bin/node";
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& bucket() const { return bucket_; }

  // Options for a store under `prefix`, with the test credentials, a cache in the server's
  // temporary folder, and quick retries.
  S3Options Options(const std::string& prefix = "lake") const {
    S3Options o;
    o.bucket = bucket_;
    o.prefix = prefix;
    o.endpoint = endpoint();
    o.path_style = true;
    o.credentials = {kAccessKey, kSecretKey, ""};
    o.cache_dir = dir_.Sub("cache");
    o.timeout_ms = 5000;
    o.retry = {6, 20, 200, 2.0, true};
    return o;
  }
  // The lake location for `prefix` (credentials come from the environment then).
  std::string Location(const std::string& prefix = "lake") const {
    return "s3://" + bucket_ + "/" + prefix + "?endpoint=" + endpoint() + "&cache=" + dir_.Sub("cache");
  }
  std::unique_ptr<ObjectStore> Open(const std::string& prefix = "lake") const {
    auto store = OpenS3ObjectStore(Options(prefix));
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  // Sets the fault rules (a JSON array, see tests/s3/front.cjs); "[]" clears them.
  void SetFaults(const std::string& rules) {
    HttpClient c(HttpRetryPolicy{1, 1, 1, 1.0, false}, 5000);
    auto r = c.Post(endpoint() + "/__control/faults", rules, {"Content-Type: application/json"});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
  // The front's counters: requests, rejected_signatures, faults, uploads in progress.
  std::string Stats() {
    HttpClient c(HttpRetryPolicy{1, 1, 1, 1.0, false}, 5000);
    auto r = c.Get(endpoint() + "/__control/stats");
    return r.ok() ? r->body : "";
  }

 private:
  std::string bucket_;
  testing::TempDir dir_;
  std::unique_ptr<testing::ChildProcess> proc_;
  int port_ = 0;
};

}  // namespace strata::lake
