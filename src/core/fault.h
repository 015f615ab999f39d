// Fault injection for tests, in the spirit of LevelDB's fault_injection_test: named points on
// write paths that fail on demand, so that a test can make every write and commit fail in
// turn and check what is left. CrashPoint (file.h) kills the process instead.
#pragma once

#include <string>

#include "core/status.h"

namespace strata {

// Arms `point` to return `error` on its `nth` hit from now (1 = the next one). One point is
// armed at a time; arming another replaces it.
void ArmFailPoint(const std::string& point, int nth, Status error);
void DisarmFailPoints();
// How many times `point` was hit since it was armed (to know when a sweep is done).
int FailPointHits();

// OK, unless `point` is armed and this is its nth hit. Costs one atomic load when nothing is
// armed.
Status FailPoint(const char* point);

}  // namespace strata
