#include "orchestrate/pipeline.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <set>

#include "core/date.h"
#include "orchestrate/schedule.h"
#include "orchestrate/task_kind.h"

namespace strata::orchestrate {

const char* TaskSpec::type() const { return kind != nullptr ? kind->name() : "?"; }

const char* TriggerRuleName(TriggerRule rule) {
  switch (rule) {
    case TriggerRule::kAllSuccess:
      return "all_success";
    case TriggerRule::kAllDone:
      return "all_done";
    case TriggerRule::kNoneFailed:
      return "none_failed";
    case TriggerRule::kOneFailed:
      return "one_failed";
    case TriggerRule::kAllFailed:
      return "all_failed";
  }
  return "?";
}

double RetryPolicy::DelayBefore(int n, double unit) const {
  double d = delay_seconds;
  if (exponential && n > 1) d = delay_seconds * std::pow(2.0, n - 1);
  d = std::min(d, max_delay_seconds);
  if (jitter) d = d / 2 + unit * d / 2;
  return d;
}

int PipelineSpec::FindTask(const std::string& id) const {
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

Result<double> ParseDuration(const std::string& text) {
  auto bad = [&] {
    return Status::InvalidArgument("invalid duration '" + text + "' (expected e.g. 250ms, 30s, 5m, 1h, 1d or seconds)");
  };
  if (text.empty()) return bad();
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return bad();
  double value;
  try {
    value = std::stod(text.substr(0, i));
  } catch (...) {
    return bad();
  }
  std::string unit = text.substr(i);
  double scale = unit.empty() || unit == "s" ? 1
                 : unit == "ms"              ? 0.001
                 : unit == "m"               ? 60
                 : unit == "h"               ? 3600
                 : unit == "d"               ? 86400
                                             : -1;
  if (scale < 0) return bad();
  return value * scale;
}

namespace {

Result<double> DurationAt(const ConfigNode& node, const std::string& key, double def) {
  if (!node.Has(key)) return def;
  const ConfigNode v = node[key];
  STRATA_ASSIGN_OR_RETURN(std::string text, v.String());
  auto d = ParseDuration(text);
  if (!d.ok()) return v.Error(d.status().message());
  return *d;
}

const std::vector<std::string> kRetryKeys = {"retries",         "retry_delay",  "retry_backoff",
                                             "max_retry_delay", "retry_jitter", "timeout"};

// Retry and timeout settings of `node`, starting from `base` (the pipeline's defaults).
Status ParseRetry(const ConfigNode& node, RetryPolicy* retry, double* timeout) {
  STRATA_ASSIGN_OR_RETURN(int64_t retries, node.Int("retries", retry->retries));
  if (retries < 0 || retries > 100) return node["retries"].Error("retries must be between 0 and 100");
  retry->retries = static_cast<int>(retries);
  STRATA_ASSIGN_OR_RETURN(retry->delay_seconds, DurationAt(node, "retry_delay", retry->delay_seconds));
  STRATA_ASSIGN_OR_RETURN(retry->max_delay_seconds, DurationAt(node, "max_retry_delay", retry->max_delay_seconds));
  STRATA_ASSIGN_OR_RETURN(std::string backoff,
                          node.String("retry_backoff", retry->exponential ? "exponential" : "constant"));
  if (backoff != "exponential" && backoff != "constant") {
    return node["retry_backoff"].Error("retry_backoff must be constant or exponential, not '" + backoff + "'");
  }
  retry->exponential = backoff == "exponential";
  STRATA_ASSIGN_OR_RETURN(retry->jitter, node.Bool("retry_jitter", retry->jitter));
  STRATA_ASSIGN_OR_RETURN(*timeout, DurationAt(node, "timeout", *timeout));
  return Status::OK();
}

Result<const TaskKind*> ParseKind(const ConfigNode& node) {
  STRATA_ASSIGN_OR_RETURN(std::string type, node.RequiredString("type"));
  if (const TaskKind* kind = FindTaskKind(type)) return kind;
  std::vector<std::string> names;
  for (const TaskKind* kind : TaskKinds()) names.push_back(kind->name());
  std::string hint = Closest(type, names);
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return node["type"].Error("unknown task type '" + type + "'" +
                            (hint.empty() ? "" : " (did you mean '" + hint + "'?)") + "; expected one of: " + list);
}

Result<TriggerRule> ParseTrigger(const ConfigNode& node) {
  static const std::vector<std::pair<std::string, TriggerRule>> kRules = {{"all_success", TriggerRule::kAllSuccess},
                                                                          {"all_done", TriggerRule::kAllDone},
                                                                          {"none_failed", TriggerRule::kNoneFailed},
                                                                          {"one_failed", TriggerRule::kOneFailed},
                                                                          {"all_failed", TriggerRule::kAllFailed}};
  STRATA_ASSIGN_OR_RETURN(std::string rule, node.String("trigger_rule", "all_success"));
  std::vector<std::string> names;
  for (const auto& [name, r] : kRules) {
    if (name == rule) return r;
    names.push_back(name);
  }
  std::string hint = Closest(rule, names);
  return node["trigger_rule"].Error("unknown trigger_rule '" + rule + "'" +
                                    (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
}

Result<TaskSpec> ParseTask(const Project& project, const std::string& id, const ConfigNode& node,
                           const RetryPolicy& base_retry, double base_timeout) {
  TaskSpec t;
  t.id = id;
  t.where = node.Where();
  if (!node.IsMap())
    return node.Error("a task is a map with a `type` (ingest, load, build, test, publish, sql, shell, noop)");
  STRATA_ASSIGN_OR_RETURN(t.kind, ParseKind(node));
  t.node = node;
  std::vector<std::string> keys = {"type", "after", "reads", "writes", "trigger_rule"};
  keys.insert(keys.end(), kRetryKeys.begin(), kRetryKeys.end());
  for (auto& key : t.kind->keys()) keys.push_back(std::move(key));
  STRATA_RETURN_IF_ERROR(node.CheckKeys(keys));
  STRATA_ASSIGN_OR_RETURN(t.after, ListAt(node, "after"));
  STRATA_ASSIGN_OR_RETURN(t.reads, ListAt(node, "reads"));
  STRATA_ASSIGN_OR_RETURN(t.writes, ListAt(node, "writes"));
  STRATA_ASSIGN_OR_RETURN(t.trigger_rule, ParseTrigger(node));
  t.retry = base_retry;
  t.timeout_seconds = base_timeout;
  STRATA_RETURN_IF_ERROR(ParseRetry(node, &t.retry, &t.timeout_seconds));
  STRATA_RETURN_IF_ERROR(t.kind->Parse(project, node, &t));
  AddImpliedAssets(&t);
  return t;
}

}  // namespace

void AddImpliedAssets(TaskSpec* t) {
  if (t->kind != nullptr) t->kind->AddImpliedAssets(t);
}

Result<std::vector<std::string>> ListAt(const ConfigNode& node, const std::string& key) {
  if (!node.Has(key)) return std::vector<std::string>{};
  const ConfigNode v = node[key];
  if (v.IsScalar()) {
    STRATA_ASSIGN_OR_RETURN(std::string one, v.String());
    return std::vector<std::string>{one};
  }
  return v.StringList();
}

Status ResolveDependencies(PipelineSpec* p) {
  size_t n = p->tasks.size();
  p->upstream.assign(n, {});
  std::vector<std::string> ids;
  for (const auto& t : p->tasks) ids.push_back(t.id);
  for (size_t i = 0; i < n; ++i) {
    std::set<int> ups;
    const TaskSpec& t = p->tasks[i];
    for (const auto& a : t.after) {
      int j = p->FindTask(a);
      if (j < 0) {
        std::string hint = Closest(a, ids);
        return Status::InvalidArgument(t.where + ": task '" + t.id + "' runs after '" + a +
                                       "', which is not a task of pipeline '" + p->name + "'" +
                                       (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
      }
      if (static_cast<size_t>(j) == i) {
        return Status::InvalidArgument(t.where + ": task '" + t.id + "' cannot run after itself");
      }
      ups.insert(j);
    }
    for (const auto& r : t.reads) {
      for (size_t j = 0; j < n; ++j) {
        if (j == i) continue;
        for (const auto& w : p->tasks[j].writes) {
          if (::fnmatch(r.c_str(), w.c_str(), 0) == 0 || ::fnmatch(w.c_str(), r.c_str(), 0) == 0) {
            ups.insert(static_cast<int>(j));
          }
        }
      }
    }
    p->upstream[i].assign(ups.begin(), ups.end());
  }
  // Depth-first search for a cycle; report it as a -> b -> ... -> a.
  std::vector<int> color(n, 0), stack;
  std::function<Status(int)> visit = [&](int i) -> Status {
    color[i] = 1;
    stack.push_back(i);
    for (int u : p->upstream[i]) {
      if (color[u] == 1) {
        // The stack walks upstream; print it the way data flows (each task before the next).
        std::string path = p->tasks[u].id;
        auto it = std::find(stack.begin(), stack.end(), u);
        for (auto r = stack.end(); r != it + 1;) path += " -> " + p->tasks[*--r].id;
        path += " -> " + p->tasks[u].id;
        return Status::InvalidArgument(p->where + ": pipeline '" + p->name +
                                       "' has a dependency cycle (each task runs before the next): " + path);
      }
      if (color[u] == 0) STRATA_RETURN_IF_ERROR(visit(u));
    }
    stack.pop_back();
    color[i] = 2;
    return Status::OK();
  };
  for (size_t i = 0; i < n; ++i) {
    if (color[i] == 0) STRATA_RETURN_IF_ERROR(visit(static_cast<int>(i)));
  }
  return Status::OK();
}

namespace {

// Pipeline and task names become file names (logs/<pipeline>/<date>/<task>/, locks): letters,
// digits, '_' and '-', so that no name can reach outside the state folder.
Status CheckFileName(const ConfigNode& node, const char* what, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 100 && name[0] != '-';
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  if (ok) return Status::OK();
  return node.Error("'" + name + "' is not a valid " + what +
                    " name: use up to 100 letters, digits, '_' and '-' (it names files in the state folder)");
}

}  // namespace

Result<std::vector<PipelineSpec>> ParsePipelines(const Project& project) {
  std::vector<PipelineSpec> out;
  if (project.pipelines.IsNull()) return out;
  STRATA_ASSIGN_OR_RETURN(auto entries, project.pipelines.Entries());
  for (const auto& [name, node] : entries) {
    STRATA_RETURN_IF_ERROR(CheckFileName(node, "pipeline", name));
    PipelineSpec p;
    p.name = name;
    p.where = node.Where();
    std::vector<std::string> keys = {"schedule",    "timezone", "start_date", "catchup", "max_active_runs",
                                     "concurrency", "defaults", "tasks",      "alerts",  "description"};
    STRATA_RETURN_IF_ERROR(node.CheckKeys(keys));
    STRATA_ASSIGN_OR_RETURN(p.schedule, node.String("schedule", ""));
    STRATA_ASSIGN_OR_RETURN(p.timezone, node.String("timezone", "UTC"));
    if (auto sched = Schedule::Parse(p.schedule.empty() ? "none" : p.schedule, p.timezone); !sched.ok()) {
      return node[p.schedule.empty() || node.Has("schedule") ? "schedule" : "timezone"].Error(sched.status().message());
    }
    STRATA_ASSIGN_OR_RETURN(p.start_date, node.String("start_date", ""));
    if (!p.start_date.empty()) {
      auto d = Date::Parse(p.start_date);
      if (!d.ok()) return node["start_date"].Error(d.status().message());
    }
    STRATA_ASSIGN_OR_RETURN(p.catchup, node.Bool("catchup", false));
    STRATA_ASSIGN_OR_RETURN(int64_t active, node.Int("max_active_runs", 1));
    STRATA_ASSIGN_OR_RETURN(int64_t concurrency, node.Int("concurrency", 4));
    if (active < 1) return node["max_active_runs"].Error("max_active_runs must be at least 1");
    if (concurrency < 1 || concurrency > 256) return node["concurrency"].Error("concurrency must be between 1 and 256");
    p.max_active_runs = static_cast<int>(active);
    p.concurrency = static_cast<int>(concurrency);
    RetryPolicy retry;
    double timeout = 0;
    if (node.Has("defaults")) {
      STRATA_RETURN_IF_ERROR(node["defaults"].CheckKeys(kRetryKeys));
      STRATA_RETURN_IF_ERROR(ParseRetry(node["defaults"], &retry, &timeout));
    }
    if (!node.Has("tasks")) return node.Error("a pipeline needs `tasks`");
    STRATA_ASSIGN_OR_RETURN(auto tasks, node["tasks"].Entries());
    if (tasks.empty()) return node["tasks"].Error("a pipeline needs at least one task");
    for (const auto& [id, tnode] : tasks) {
      STRATA_RETURN_IF_ERROR(CheckFileName(tnode, "task", id));
      STRATA_ASSIGN_OR_RETURN(TaskSpec t, ParseTask(project, id, tnode, retry, timeout));
      p.tasks.push_back(std::move(t));
    }
    STRATA_RETURN_IF_ERROR(ResolveDependencies(&p));
    STRATA_ASSIGN_OR_RETURN(p.alerts, ParseAlerts(node["alerts"]));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace strata::orchestrate
