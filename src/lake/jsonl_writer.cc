#include "lake/jsonl_writer.h"

#include <zstd.h>

namespace strata::lake {

namespace {
constexpr size_t kChunk = 1 << 20;
}

struct JsonlZstdWriter::Ctx {
  ZSTD_CCtx* cctx = nullptr;
  ~Ctx() { ZSTD_freeCCtx(cctx); }
};

JsonlZstdWriter::JsonlZstdWriter(std::unique_ptr<ObjectWriter> out, int level)
    : out_(std::move(out)), ctx_(std::make_unique<Ctx>()) {
  ctx_->cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(ctx_->cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(ctx_->cctx, ZSTD_c_checksumFlag, 1);
  // One worker thread compresses while the caller produces lines (ignored by a libzstd
  // built without multithreading).
  ZSTD_CCtx_setParameter(ctx_->cctx, ZSTD_c_nbWorkers, 1);
  buf_.resize(ZSTD_CStreamOutSize());
  in_.reserve(kChunk + 4096);
}

JsonlZstdWriter::~JsonlZstdWriter() = default;

Status JsonlZstdWriter::AddLine(std::string_view line) {
  in_.append(line);
  in_.push_back('\n');
  ++rows_;
  uncompressed_ += static_cast<int64_t>(line.size() + 1);
  if (in_.size() >= kChunk) return Flush(false);
  return Status::OK();
}

Status JsonlZstdWriter::Flush(bool end) {
  ZSTD_inBuffer input{in_.data(), in_.size(), 0};
  ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
  for (;;) {
    ZSTD_outBuffer output{buf_.data(), buf_.size(), 0};
    size_t remaining = ZSTD_compressStream2(ctx_->cctx, &output, &input, mode);
    if (ZSTD_isError(remaining)) {
      return Status::Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(remaining));
    }
    if (output.pos > 0) STRATA_RETURN_IF_ERROR(out_->Append(std::string_view(buf_.data(), output.pos)));
    bool done = end ? remaining == 0 : input.pos == input.size;
    if (done) break;
  }
  in_.clear();
  return Status::OK();
}

Result<ObjectInfo> JsonlZstdWriter::Finish() {
  STRATA_RETURN_IF_ERROR(Flush(true));
  return out_->Commit();
}

}  // namespace strata::lake
