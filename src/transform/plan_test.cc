#include "transform/plan.h"

#include <gtest/gtest.h>

namespace strata::transform {
namespace {

using Skips = std::vector<std::pair<std::string, std::string>>;

// a -> b -> c, a -> d; e alone.
Plan Diamond() {
  Plan plan({"a", "b", "c", "d", "e"});
  plan.Wait("b", "a");
  plan.Wait("c", "b");
  plan.Wait("d", "a");
  return plan;
}

TEST(Plan, ParentsFirstSmallestFirstThenTheChainJustReleased) {
  Plan plan = Diamond();
  std::vector<std::string> order;
  while (auto next = plan.NextReady()) {
    order.push_back(*next);
    EXPECT_TRUE(plan.Finished(*next, true).empty());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a", "d", "b", "c", "e"}));
  EXPECT_EQ(plan.remaining(), 0u);
  EXPECT_TRUE(plan.Unfinished().empty());
}

TEST(Plan, AFailureSkipsEverythingDownstreamOnceNamingTheCause) {
  Plan plan = Diamond();
  ASSERT_EQ(*plan.NextReady(), "a");
  EXPECT_EQ(plan.Finished("a", false), (Skips{{"b", "a"}, {"c", "b"}, {"d", "a"}}));
  EXPECT_EQ(plan.remaining(), 1u);
  ASSERT_EQ(*plan.NextReady(), "e");
  EXPECT_FALSE(plan.HasReady());
  EXPECT_TRUE(plan.Finished("e", true).empty());
  EXPECT_EQ(plan.remaining(), 0u);
}

TEST(Plan, ANodeWaitingOnTwoRunsAfterBothAndIsSkippedOnce) {
  Plan plan({"x", "y", "z"});
  plan.Wait("z", "x");
  plan.Wait("z", "y");
  ASSERT_EQ(*plan.NextReady(), "x");
  ASSERT_EQ(*plan.NextReady(), "y");
  EXPECT_TRUE(plan.Finished("x", true).empty());
  EXPECT_FALSE(plan.HasReady());  // z still waits for y
  EXPECT_EQ(plan.Finished("y", false), (Skips{{"z", "y"}}));
  EXPECT_EQ(plan.remaining(), 0u);
}

TEST(Plan, AWaitCycleLeavesNothingReadyAndNamesTheStuckNodes) {
  Plan plan({"p", "q", "r"});
  plan.Wait("p", "q");
  plan.Wait("q", "p");
  ASSERT_EQ(*plan.NextReady(), "r");
  EXPECT_TRUE(plan.Finished("r", true).empty());
  EXPECT_FALSE(plan.NextReady().has_value());
  EXPECT_EQ(plan.remaining(), 2u);
  EXPECT_EQ(plan.Unfinished(), (std::vector<std::string>{"p", "q"}));
}

}  // namespace
}  // namespace strata::transform
