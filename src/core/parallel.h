// ParallelFor: independent work items on a few threads, with a deterministic error.
#pragma once

#include <cstddef>
#include <functional>

#include "core/status.h"

namespace strata {

// The number of threads worth using for CPU-bound work here (the hardware's, at least 1).
int CpuThreads();

// Runs fn(i) for every i in [0, n) on up to `threads` threads (the calling thread is one of
// them). Items are claimed in index order; after a failure no new item starts. Returns the
// error of the lowest failing index, which is the same whatever the interleaving: every
// lower index was claimed before it and so runs to completion.
Status ParallelFor(size_t n, int threads, const std::function<Status(size_t)>& fn);

}  // namespace strata
