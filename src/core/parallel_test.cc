#include "core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace strata {
namespace {

TEST(ParallelFor, RunsEveryItemOnce) {
  std::vector<std::atomic<int>> hits(1000);
  Status s = ParallelFor(hits.size(), 4, [&](size_t i) {
    hits[i].fetch_add(1);
    return Status::OK();
  });
  ASSERT_TRUE(s.ok());
  for (const auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(ParallelFor, ReturnsTheLowestFailingIndexAndStopsClaiming) {
  for (int threads : {1, 2, 8}) {
    std::atomic<int> ran{0};
    Status s = ParallelFor(10000, threads, [&](size_t i) {
      ran.fetch_add(1);
      if (i == 17 || i == 40) return Status::InvalidArgument("item " + std::to_string(i));
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      return Status::OK();
    });
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.message(), "item 17") << threads << " threads";
    EXPECT_LT(ran.load(), 5000) << "items kept starting after the failure";
  }
}

TEST(ParallelFor, NothingToDo) {
  EXPECT_TRUE(ParallelFor(0, 4, [](size_t) { return Status::Internal("ran"); }).ok());
}

}  // namespace
}  // namespace strata
