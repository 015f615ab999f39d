#include "orchestrate/state.h"

#include <ostream>
#include <string>

namespace strata::orchestrate {

namespace {

constexpr const char* kTaskStateNames[] = {"none",   "queued",       "running",         "success",
                                           "failed", "up_for_retry", "upstream_failed", "skipped"};
constexpr const char* kRunStateNames[] = {"queued", "running", "success", "failed", "interrupted", "covered"};

template <typename E, size_t N>
Result<E> Parse(const char* const (&names)[N], std::string_view name, const char* what) {
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<E>(i);
  }
  return Status::InvalidArgument(std::string("unknown ") + what + " state '" + std::string(name) + "'");
}

}  // namespace

const char* TaskStateName(TaskState state) { return kTaskStateNames[static_cast<int>(state)]; }
Result<TaskState> ParseTaskState(std::string_view name) { return Parse<TaskState>(kTaskStateNames, name, "task"); }

bool IsTerminal(TaskState s) {
  return s == TaskState::kSuccess || s == TaskState::kFailed || s == TaskState::kUpstreamFailed ||
         s == TaskState::kSkipped;
}

const char* RunStateName(RunState state) { return kRunStateNames[static_cast<int>(state)]; }
Result<RunState> ParseRunState(std::string_view name) { return Parse<RunState>(kRunStateNames, name, "run"); }

std::ostream& operator<<(std::ostream& os, TaskState state) { return os << TaskStateName(state); }
std::ostream& operator<<(std::ostream& os, RunState state) { return os << RunStateName(state); }

}  // namespace strata::orchestrate
