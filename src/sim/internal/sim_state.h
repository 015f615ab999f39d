// SimState: what a simulation folder records in sim_state.json besides the database.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/status.h"
#include "sim/shop_simulator.h"

namespace strata::sim::internal {

// An event-file line that was produced on an earlier day and arrives on a later one
// (a late event, or a duplicate that spills past midnight).
struct PendingLine {
  int64_t arrive_day = 0;  // day index whose files receive the line
  int32_t arrive_sec = 0;  // second of that day; selects the 6-hour file and the order inside it
  uint64_t key = 0;        // unique tie-breaker for ordering lines within a file
  std::string line;        // the exact bytes (without newline)
};

struct SimState {
  static constexpr int kFormat = 1;
  uint64_t seed = 0;
  double scale = 1.0;
  Date start;
  DirtOptions dirt;
  int64_t days_simulated = 0;
  int64_t next_order_id = 1;
  int64_t next_item_id = 1;
  std::vector<int64_t> day_first_order_id;  // first order id of each simulated day
  std::vector<PendingLine> pending;         // sorted by (arrive_day, arrive_sec, key)

  std::string ToJson() const;
  static Result<SimState> FromJson(const std::string& text, const std::string& path);
};

}  // namespace strata::sim::internal
