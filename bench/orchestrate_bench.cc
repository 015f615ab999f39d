// orchestrate_bench: the orchestrator's own cost — DAGs of tasks that do nothing, run by the
// real executor, alone and through RunPipeline with its history, several repetitions.
//
//   orchestrate_bench [--tasks N] [--reps N]
//
// Shapes (N tasks, default 1,000):
//   chain    task i runs after task i-1: nothing overlaps, so every hop is a scheduling delay
//   layered  10 layers of N/10 tasks, each after 2-3 tasks of the layer before
// Paths:
//   executor  Execute() with a TaskRunner whose Run returns at once
//   history   RunPipeline() with that runner: the SQLite run store (runs.db) gets the run, a
//             task row per state change and an attempt row per start and finish
//   platform  RunPipeline() as `strata pipeline run` calls it (no runner: PlatformTasks), on
//             `noop` tasks: also each attempt's log file
// Prints JSON: per shape and path, the wall seconds of each repetition (the Execute or
// RunPipeline call; the spec is built before), their median and µs per task; on the chain,
// the latency from task i's success to task i+1's start (executor: TaskEvent.at_micros;
// RunPipeline: the attempt rows, which hold the same timestamps), over every hop of every
// repetition. The project and its history live in a temp dir ($TMPDIR or /tmp): runs.db is
// opened with synchronous=FULL, so where that dir is decides what its fsyncs cost.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "core/date.h"
#include "core/project.h"
#include "orchestrate/executor.h"
#include "orchestrate/orchestrator.h"
#include "orchestrate/task_kind.h"

namespace fs = std::filesystem;
using namespace strata;
using namespace strata::orchestrate;
using nlohmann::json;

namespace {

using bench::Median;
using bench::Now;

[[noreturn]] void Die(const Status& s) { bench::Die("orchestrate_bench", s); }

class NoopRunner : public TaskRunner {
 public:
  TaskOutcome Run(const Attempt&) override { return TaskOutcome(); }
};

std::string TaskId(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "t%04d", i);
  return buf;
}

PipelineSpec Make(const std::string& shape, int n) {
  PipelineSpec p;
  p.name = shape;
  p.where = "orchestrate_bench";
  const int width = shape == "chain" ? 1 : std::max(1, n / 10);
  for (int i = 0; i < n; ++i) {
    TaskSpec t;
    t.id = TaskId(i);
    t.kind = FindTaskKind("noop");
    t.where = p.where;
    int layer = i / width, j = i % width, prev = (layer - 1) * width;
    if (layer > 0) {
      t.after.push_back(TaskId(prev + j));
      if (width > 1) t.after.push_back(TaskId(prev + (j + 1) % width));
      if (width > 2 && j % 2 == 0) t.after.push_back(TaskId(prev + (j + width / 2) % width));
    }
    p.tasks.push_back(t);
  }
  Status s = ResolveDependencies(&p);
  if (!s.ok()) Die(s);
  return p;
}

json Latency(std::vector<double> us) {
  if (us.empty()) return json();
  std::sort(us.begin(), us.end());
  return {{"hops", us.size()}, {"median", us[us.size() / 2]}, {"p95", us[us.size() * 95 / 100]}, {"max", us.back()}};
}

}  // namespace

int main(int argc, char** argv) {
  int n = 1000, reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--tasks")
      n = std::atoi(argv[i + 1]);
    else if (a == "--reps")
      reps = std::atoi(argv[i + 1]);
  }
  std::string dir = fs::temp_directory_path() / ("orchestrate_bench_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir + "/strata.yml") << "name: bench\nwarehouse: {type: duckdb, path: wh.duckdb}\n";
  auto project = Project::Load(dir);
  if (!project.ok()) Die(project.status());
  auto store = OpenRunStore(*project);
  if (!store.ok()) Die(store.status());

  NoopRunner noop;
  int runs = 0;  // RunPipeline calls so far: each gets its own logical date, so a new run
  json out = {{"tasks", n}, {"reps", reps}, {"runs", json::array()}};
  for (std::string shape : {"chain", "layered"}) {
    PipelineSpec p = Make(shape, n);
    out["concurrency"] = p.concurrency;
    for (std::string path : {"executor", "history", "platform"}) {
      std::vector<double> secs, hops;
      for (int rep = 0; rep < reps; ++rep) {
        std::vector<int64_t> started(n, 0), succeeded(n, 0);
        bool ok = false;
        if (path == "executor") {
          RunContext ctx;
          ctx.run_id = shape + "__bench";
          ctx.pipeline = shape;
          ExecutorOptions eo;
          eo.on_event = [&](const TaskEvent& e) {
            if (e.state == TaskState::kRunning) started[e.task] = e.at_micros;
            if (e.state == TaskState::kSuccess) succeeded[e.task] = e.at_micros;
          };
          double t0 = Now();
          auto outcome = Execute(p, &noop, ctx, eo);
          secs.push_back(Now() - t0);
          if (!outcome.ok()) Die(outcome.status());
          ok = outcome->success();
        } else {
          RunRequest r;
          r.logical_date = (Date::FromYmd(2024, 1, 1) + runs++).ToString();
          r.runner = path == "history" ? &noop : nullptr;
          double t0 = Now();
          auto report = RunPipeline(*project, p, r);
          secs.push_back(Now() - t0);
          if (!report.ok()) Die(report.status());
          ok = report->outcome.success();
          auto attempts = (*store)->Attempts(report->run.run_id);
          if (!attempts.ok()) Die(attempts.status());
          for (const auto& a : *attempts) {
            int i = std::stoi(a.task_id.substr(1));
            started[i] = a.started_micros;
            succeeded[i] = a.ended_micros;
          }
        }
        if (!ok) Die(Status::Internal(shape + " on " + path + ": not every task succeeded"));
        if (shape == "chain") {
          for (int i = 1; i < n; ++i) hops.push_back(static_cast<double>(started[i] - succeeded[i - 1]));
        }
      }
      double median = Median(secs);
      json run = {
          {"shape", shape}, {"path", path}, {"seconds", secs}, {"median_s", median}, {"us_per_task", median * 1e6 / n}};
      if (!hops.empty()) run["latency_us"] = Latency(hops);
      out["runs"].push_back(run);
    }
  }
  fs::remove_all(dir);
  std::cout << out.dump(2) << std::endl;
  return 0;
}
