// EventGenerator: the clickstream of one simulated day, with its dirt, as event-file contents.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/internal/day_plan.h"
#include "sim/internal/sim_state.h"
#include "sim/shop_simulator.h"

namespace strata::sim::internal {

struct DayEvents {
  std::array<std::string, 4> files;  // contents of events-<date>-00..03.jsonl
  SimCounts counts;                  // events, dirt and line counts (other fields zero)
  // Scratch space, kept between days to avoid re-allocating (and page-faulting) large buffers.
  std::string arena;
  std::vector<size_t> offsets;
};

// Generates day `plan.day`'s events: a purchase session per order of the plan, filler sessions
// up to the day's clean-event quota, dirt per state.dirt. Lines of earlier days due today are
// taken out of state->pending; lines due on later days (late events, duplicates spilling past
// midnight) are added to it.
// `out` is overwritten (its buffers are reused).
void GenerateDayEvents(const DayPlan& plan, SimState* state, DayEvents* out);

// The event id of the seq-th event generated on `day` ("ev-" + 16 hex digits). Unique per seed.
std::string EventId(uint64_t seed, int64_t day, uint32_t seq);

}  // namespace strata::sim::internal
