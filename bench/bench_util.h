// Small helpers shared by the benchmark programs.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "core/status.h"

namespace strata::bench {

// Seconds on the monotonic clock.
inline double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The median (upper median for an even count); 0 for none.
inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Prints "<program>: <status>" and exits 1.
[[noreturn]] inline void Die(const char* program, const Status& s) {
  std::cerr << program << ": " << s.ToString() << "\n";
  std::exit(1);
}

}  // namespace strata::bench
