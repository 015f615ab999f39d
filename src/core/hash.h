// Streaming SHA-256, used for lake file checksums; MD5 and SHA-1 where a format demands them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace strata {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  // Lower-case hex digest. The hasher must not be used afterwards.
  std::string HexDigest();

  static std::string Of(std::string_view data);
  // The digest of a whole file, read in 1 MiB pieces; `size` (if given) receives its length.
  static Result<std::string> OfFile(const std::string& path, int64_t* size = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Lower-case hex MD5 and SHA-1 of `data`, not for security: formats dbt defines use them
// (test names, local_md5, package-lock.yml's sha1_hash).
std::string Md5Hex(std::string_view data);
std::string Sha1Hex(std::string_view data);

}  // namespace strata
