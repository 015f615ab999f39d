// The S3 ObjectStore: the lake on Amazon S3 or an S3-compatible store, behind the same
// contract as the local one (object_store.h). Requests go through libcurl, signed with AWS
// Signature V4 (CURLOPT_AWS_SIGV4) over an explicit x-amz-content-sha256.
//
//   - Writes stage locally, then upload at Commit as one PUT, or past multipart_threshold as a
//     multipart upload (aborted on failure: no orphaned parts). Both are conditional
//     (If-None-Match: *): a key, once written, is never overwritten; a retry that finds its own
//     bytes already there (same SHA-256) succeeds.
//   - Each object carries its SHA-256 as x-amz-meta-sha256; reads verify it.
//   - Listing follows continuation tokens; 5xx, 429/SlowDown, timeouts and dropped
//     connections are retried with backoff (a read resumes where it stopped).
//   - ReadablePath downloads into a bounded local cache (least recently used evicted).
//
// Location: s3://bucket[/prefix][?region=R&endpoint=URL&path_style=true|false&cache=DIR&cache_mb=N
// &multipart_mb=N (objects larger than N MiB upload in parts)]
// (else AWS_REGION / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL). Credentials:
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, else the profile
// (AWS_PROFILE, default "default") of ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE). They
// are never logged.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/http_client.h"
#include "core/status.h"
#include "lake/object_store.h"

namespace strata::lake {

struct S3Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional
};

struct S3Options {
  std::string bucket;
  std::string prefix;  // without leading or trailing '/'; keys live under it
  std::string region = "us-east-1";
  // "https://s3.<region>.amazonaws.com" when empty; else an S3-compatible store's URL.
  std::string endpoint;
  // Path-style (endpoint/bucket/key) or virtual-hosted (bucket.endpoint/key) addressing;
  // by default virtual-hosted on AWS, path-style on a custom endpoint.
  bool path_style = false;
  S3Credentials credentials;
  std::string cache_dir;                   // ReadablePath's copies; ~/.cache/strata/s3 if empty
  int64_t cache_bytes = int64_t{2} << 30;  // evict past this...
  int64_t cache_grace_seconds = 600;       // ...but never a copy used this recently (a load's)
  int64_t multipart_threshold = 16 << 20;  // larger objects upload in parts
  int64_t part_size = 8 << 20;             // S3's minimum is 5 MiB (but for the last part)
  int64_t timeout_ms = 60000;              // per request attempt
  int list_page_size = 1000;               // keys per ListObjectsV2 page
  HttpRetryPolicy retry{6, 100, 5000, 2.0, true};
};

// Parses "s3://bucket/prefix?..." (see above) and fills region and endpoint from the
// environment where the URI leaves them out. Credentials are left empty.
Result<S3Options> ParseS3Location(const std::string& location);

// The credentials from the environment, else from the shared credentials file; kNotFound
// (naming where it looked, never a value) when neither has them.
Result<S3Credentials> S3CredentialsFromEnvironment();

Result<std::unique_ptr<ObjectStore>> OpenS3ObjectStore(S3Options options);

// Lists, and aborts, multipart uploads under the store's prefix that were never completed
// (leftovers of a process killed mid-upload); returns how many. Only for `strata lake gc`.
Result<int64_t> AbortIncompleteUploads(ObjectStore* store, bool dry_run);

}  // namespace strata::lake
