// The event collector (`strata collect`): web and mobile clients POST clickstream events over
// HTTP; a 2xx answer means the events are durable, and every acknowledged event lands in the
// lake exactly once.
//
//   POST /v1/events   a JSON array of event objects, or NDJSON (one event per line);
//                     `Authorization: Bearer <token>`. Answers 200 with a result per event:
//                     "ok", "duplicate" (its id was acknowledged within the dedup window) or
//                     {"rejected": reason} (kept in the lake's quarantine with the reason).
//                     401 bad token, 413 too large, 400 a body that is not JSON at all,
//                     503 + Retry-After when it cannot keep more (nothing of it kept).
//   GET  /v1/health   counters.
//
// Durability: each request's events (accepted and rejected) are appended to a write-ahead
// segment and fsync'd before the answer; requests arriving together share one fsync (group
// commit). A lander seals segments by time or size and lands them as one lake batch
// (jsonl.zst parts, quarantine, manifest); the manifest records the last segment it holds,
// which is the commit. After a kill, the next start truncates a torn tail (never
// acknowledged), lands what no manifest holds, and deletes segments only once landed and past
// the dedup window.
//
// Configured as a source of `type: collector` in strata.yml: the events connector's checks
// (required_fields, known_types, type_field, time_field, max_record_bytes), plus `table`,
// `listen` (127.0.0.1:8686), `id_field` (event_id), `tokens_file` (lines of SHA-256 hex
// token hashes, optionally followed by a client name), `max_request_bytes` (5 MiB),
// `buffer_mb` (1024: unlanded bytes before 503), `land_seconds` (10), `land_mb` (64),
// `dedup_seconds` (600), `dedup_max_ids` (5,000,000: the window also ends there). Tokens also come from
// STRATA_COLLECT_TOKENS (comma-separated).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/project.h"
#include "core/status.h"
#include "lake/lake.h"

namespace strata::ingest {

struct CollectorOptions {
  std::string host = "127.0.0.1";
  int port = 8686;
  std::string wal_dir;  // <state_dir>/collector/<source>
  std::string table = "events";
  std::string id_field = "event_id";
  int64_t max_request_bytes = int64_t{5} << 20;
  int64_t buffer_bytes = int64_t{1} << 30;
  double land_seconds = 10;
  int64_t land_bytes = int64_t{64} << 20;
  double dedup_seconds = 600;
  int64_t dedup_max_ids = 5'000'000;  // ids remembered at most (oldest forgotten first), ~70 bytes each
  int threads = 128;                  // HTTP workers, mostly waiting for the shared fsync
};

// The options of a `type: collector` source (tokens read too; the WAL folder under the
// project's state folder).
struct CollectorConfig {
  CollectorOptions options;
  std::vector<std::string> token_hashes;  // SHA-256 hex of the accepted tokens
};
Result<CollectorConfig> ParseCollectorSource(const Project& project, const SourceConfig& source);

class Collector {
 public:
  // `lake` must outlive the collector.
  static Result<std::unique_ptr<Collector>> Open(const Project& project, const SourceConfig& source,
                                                 const CollectorConfig& config, lake::Lake* lake);
  ~Collector();

  // Recovers the write-ahead log (landing what no manifest holds), binds, and starts serving.
  Status Start();
  int port() const;
  // Blocks until Stop().
  Status Run();
  // Makes Run() return (from any thread, a signal handler's too): no new requests.
  void Interrupt();
  // Stops taking requests and lands everything acknowledged (what cannot land now stays in
  // the log for the next start). Idempotent; a second caller waits for the first.
  void Stop();

  // The request handler without HTTP, for tests and benchmarks: status, body, Retry-After.
  struct Answer {
    int status = 200;
    std::string body;
    int retry_after = 0;
  };
  Answer Post(std::string_view authorization, std::string_view content_type, std::string_view body);

  // Seals the current segment and lands every sealed one now (tests).
  Status LandNow();

 private:
  Collector() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::ingest
