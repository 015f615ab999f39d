// CatalogApiServer: the simulated company's product catalog REST API, served over HTTP from
// a simulation's shop.db (so it always reflects the latest simulated day).
//
// Endpoints (all responses are JSON):
//   GET /health -> 200 {"status":"ok"}
//   GET /v1/products?limit=N&updated_since=TS&cursor=C
//       -> {"data":[product...], "next_cursor": "<opaque>" | null}
//       Products ordered by (updated_at, id); keyset pagination: pass next_cursor back as
//       `cursor` until it is null. limit: 1.. (default 100; values above 1000 are served as 1000).
//       updated_since (exclusive, updated_at > TS): 'YYYY-MM-DD HH:MM:SS' or ISO
//       'YYYY-MM-DDTHH:MM:SS[Z]'.
//   GET /v1/products?page=P&per_page=N[&updated_since=TS]
//       -> {"data":[...], "page":P, "per_page":N, "total_pages":T, "total":X}
//       Page numbers start at 1 (a page past the end has empty data); per_page as limit.
//   Invalid parameters (bad numbers, bad timestamp, bad cursor, cursor mixed with page) -> 400
//   {"error":{"code":"invalid_argument","message":"..."}}; unknown paths -> 404; no shop.db -> 503.
//
// A product: {"id", "sku", "name", "category", "brand" (string|null), "price" (number),
// "currency":"USD", "description", "rating" (number|null), "attributes" (object with color, size,
// material, nested "dimensions" object and "tags" array), "is_active" (bool), "created_at",
// "updated_at"} with the database's timestamp strings. description, rating and attributes are
// derived deterministically from the product's id and sku.
//
// Faults (for testing clients) apply to /v1/products only and are decided per request from a
// deterministic random stream over the request number: the first fail_first_n requests get 503;
// otherwise with rate_429 a 429 with a Retry-After header, with rate_5xx a 500/502/503, and
// with rate_slow the (correct) answer is delayed by slow_ms.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace strata::sim {

struct FaultOptions {
  double rate_429 = 0;
  int retry_after_s = 1;
  double rate_5xx = 0;
  double rate_slow = 0;
  int slow_ms = 2000;
  int fail_first_n = 0;  // the first N requests to /v1/products get 503
  uint64_t seed = 1;
};

struct ApiOptions {
  std::string out_dir;  // a simulation folder (holds shop.db)
  std::string host = "127.0.0.1";
  int port = 0;  // 0 = an ephemeral port
  FaultOptions faults;
};

struct ApiStats {
  int64_t requests = 0;          // all requests answered (any path, any status)
  int64_t product_requests = 0;  // requests to /v1/products
  int64_t faults_503_first = 0;  // fail_first_n answers
  int64_t faults_429 = 0;
  int64_t faults_5xx = 0;  // random 5xx (not counting fail_first_n)
  int64_t faults_slow = 0;
  int64_t faults_total() const { return faults_503_first + faults_429 + faults_5xx + faults_slow; }
};

class CatalogApiServer {
 public:
  CatalogApiServer();
  ~CatalogApiServer();  // stops the server
  CatalogApiServer(const CatalogApiServer&) = delete;
  CatalogApiServer& operator=(const CatalogApiServer&) = delete;

  // Binds host:port and serves in background threads; returns once it accepts connections.
  // kNotFound if out_dir has no shop.db, kInvalidArgument for bad fault options, kIOError if
  // the address cannot be bound, kInternal if already started.
  Status Start(const ApiOptions& options);
  // The bound port (after a successful Start), else 0.
  int port() const;
  // Stops serving and joins the threads; waits for requests in flight. Idempotent.
  void Stop();

  ApiStats stats() const;
  int64_t requests_served() const { return stats().requests; }
  int64_t faults_injected() const { return stats().faults_total(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::sim
