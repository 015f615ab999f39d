// Streaming SHA-256, used for lake file checksums.
#pragma once

#include <memory>
#include <string>
#include <string_view>

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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata
