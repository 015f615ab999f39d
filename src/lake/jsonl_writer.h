// Writes lines of JSON into a zstd-compressed lake object ("jsonl.zst").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "lake/object_store.h"

namespace strata::lake {

class JsonlZstdWriter {
 public:
  // Takes ownership of `out`. `level` is zstd's compression level.
  explicit JsonlZstdWriter(std::unique_ptr<ObjectWriter> out, int level = 3);
  ~JsonlZstdWriter();
  JsonlZstdWriter(const JsonlZstdWriter&) = delete;
  JsonlZstdWriter& operator=(const JsonlZstdWriter&) = delete;

  // Appends `line` and a newline. `line` must not contain a newline.
  Status AddLine(std::string_view line);
  // Finishes the zstd frame and commits the object.
  Result<ObjectInfo> Finish();

  int64_t rows() const { return rows_; }
  int64_t uncompressed_bytes() const { return uncompressed_; }

 private:
  Status Flush(bool end);
  std::unique_ptr<ObjectWriter> out_;
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  std::string in_;   // pending uncompressed bytes
  std::string buf_;  // compressed output buffer
  int64_t rows_ = 0;
  int64_t uncompressed_ = 0;
};

}  // namespace strata::lake
