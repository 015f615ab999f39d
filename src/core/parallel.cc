#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace strata {

int CpuThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

Status ParallelFor(size_t n, int threads, const std::function<Status(size_t)>& fn) {
  size_t workers = std::min<size_t>(n, static_cast<size_t>(std::max(1, threads)));
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) STRATA_RETURN_IF_ERROR(fn(i));
    return Status::OK();
  }
  std::vector<Status> errors(n);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&]() {
    for (;;) {
      if (failed.load(std::memory_order_relaxed)) return;
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      errors[i] = fn(i);
      if (!errors[i].ok()) failed.store(true);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (size_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (auto& s : errors) {
    if (!s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace strata
