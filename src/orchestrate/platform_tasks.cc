#include "orchestrate/platform_tasks.h"

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/date.h"
#include "core/file.h"
#include "core/redact.h"
#include "transform/target.h"

namespace strata::orchestrate {

using nlohmann::json;

Result<std::shared_ptr<warehouse::OpenTarget>> PlatformTasks::Target(std::ostream& log) {
  // Decided afresh for each task: the profile may name another target since the last one.
  STRATA_ASSIGN_OR_RETURN(warehouse::Target target, transform::ResolveTarget(*project_));
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<warehouse::OpenTarget> open = target_.lock();
  // After a failed write (a full disk) DuckDB must be reopened before anything else runs on it.
  if (open && (open->broken() || open->target().Describe() != target.Describe())) open.reset();
  if (!open) {
    warehouse::OpenTarget::Options options;
    options.on_wait = [&log](const std::string& message) { log << "  " << message << "\n"; };
    STRATA_ASSIGN_OR_RETURN(std::unique_ptr<warehouse::OpenTarget> opened,
                            warehouse::OpenTarget::Open(target, options));
    open = std::move(opened);
    target_ = open;
  }
  return open;
}

Result<std::unique_lock<std::timed_mutex>> PlatformTasks::WarehouseTurn(const Attempt& a, std::ostream& log) {
  std::unique_lock<std::timed_mutex> turn(turn_mu_, std::defer_lock);
  bool said = false;
  while (!turn.try_lock_for(std::chrono::milliseconds(100))) {
    if (a.cancel != nullptr && a.cancel->cancelled()) {
      return Status::Aborted("cancelled while waiting for the warehouse (" + a.cancel->reason() + ")");
    }
    if (!said) {
      log << "  waiting for the warehouse: another task of this process is using it\n";
      said = true;
    }
  }
  return turn;
}

namespace {

// A task's log file: each line is redacted (core/redact.h) and written through at once, so
// that a task killed mid-way leaves every line it logged before.
class TaskLog : public std::streambuf {
 public:
  explicit TaskLog(const std::string& path) {
    if (path.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    file_.open(path, std::ios::app | std::ios::binary);
  }
  ~TaskLog() override { sync(); }

 protected:
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    line_.push_back(static_cast<char>(c));
    if (c == '\n') sync();
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    for (std::streamsize i = 0; i < n; ++i) overflow(traits_type::to_int_type(s[i]));
    return n;
  }
  int sync() override {
    if (line_.empty() || !file_.is_open()) return 0;
    file_ << Redact(line_);
    file_.flush();
    line_.clear();
    return 0;
  }

 private:
  std::ofstream file_;
  std::string line_;
};

}  // namespace

TaskOutcome PlatformTasks::Run(const Attempt& a) {
  const TaskKind* kind = a.task->kind;
  if (kind == nullptr) return Failed(Status::Internal("task '" + a.task->id + "' has no kind"));
  if (!kind->logs()) {
    std::ostream nowhere(nullptr);
    return kind->Run(*this, a, nowhere);
  }
  TaskLog sink(a.log_path);
  std::ostream log(&sink);
  log << "task " << a.task->id << " (" << kind->name() << ") of run " << a.run->run_id << ", try " << a.try_number
      << ", logical date " << a.run->logical_date << "\n";
  if (a.cancel != nullptr && a.cancel->cancelled()) return Failed(Status::Aborted("cancelled before it started"));
  TaskOutcome o = kind->Run(*this, a, log);
  log << (o.status.ok() ? "ok" : "FAILED: " + o.status.message()) << (o.summary.empty() ? "" : ": " + o.summary)
      << "\n";
  return o;
}

Result<std::unique_ptr<warehouse::Engine>> PlatformTasks::Engine(std::shared_ptr<warehouse::OpenTarget>* hold,
                                                                 std::ostream& log) {
  STRATA_ASSIGN_OR_RETURN(*hold, Target(log));
  return (*hold)->NewEngine();
}

}  // namespace strata::orchestrate
