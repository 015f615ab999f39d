// The registry of task kinds, and what every kind shares.
#include <string>

#include "core/date.h"
#include "orchestrate/task_kind.h"
#include "orchestrate/tasks/kinds.h"

namespace strata::orchestrate {

using nlohmann::json;

namespace {

// noop: nothing, successfully; joins and placeholders.
class NoopKind : public TaskKind {
 public:
  const char* name() const override { return "noop"; }
  bool logs() const override { return false; }
  TaskOutcome Run(TaskServices& /*services*/, const Attempt& /*a*/, std::ostream& /*log*/) const override {
    return TaskOutcome{};
  }
};

void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s->find(from, pos)) != std::string::npos; pos += to.size()) {
    s->replace(pos, from.size(), to);
  }
}

}  // namespace

const TaskKind* NoopTaskKind() {
  static const NoopKind kind;
  return &kind;
}

const std::vector<const TaskKind*>& TaskKinds() {
  static const std::vector<const TaskKind*> kinds = {IngestTaskKind(), LoadTaskKind(),    BuildTaskKind(),
                                                     TestTaskKind(),   PublishTaskKind(), QualityTaskKind(),
                                                     SqlTaskKind(),    ShellTaskKind(),   NoopTaskKind()};
  return kinds;
}

const TaskKind* FindTaskKind(std::string_view name) {
  for (const TaskKind* kind : TaskKinds()) {
    if (name == kind->name()) return kind;
  }
  return nullptr;
}

TaskOutcome Failed(const Status& s, json details) {
  TaskOutcome o;
  o.status = s;
  o.details = std::move(details);
  return o;
}

std::vector<std::pair<std::string, std::string>> RunIdentity(const RunContext& run) {
  return {{"ds", run.ds},
          {"logical_date", run.logical_date},
          {"data_interval_start", FormatTimestamp(run.interval_start)},
          {"data_interval_end", FormatTimestamp(run.interval_end)},
          {"run_id", run.run_id}};
}

json RunVars(const Attempt& a) {
  json vars = json::object();
  for (const auto& [name, value] : RunIdentity(*a.run)) vars[name] = value;
  for (const auto& [k, v] : a.task->vars.items()) vars[k] = v;
  return vars;
}

std::string ExpandRunMacros(const std::string& text, const RunContext& run) {
  std::string out = text;
  for (const auto& [name, value] : RunIdentity(run)) {
    ReplaceAll(&out, "{{ " + name + " }}", value);
    ReplaceAll(&out, "{{" + name + "}}", value);
  }
  return out;
}

}  // namespace strata::orchestrate
