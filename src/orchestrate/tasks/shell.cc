// shell: a command (/bin/sh -c) with the run's identity in its environment; its output goes
// to the attempt's log; cancelled, its process group gets SIGTERM, then SIGKILL.
#include <cctype>

#include "core/subprocess.h"
#include "orchestrate/task_kind.h"
#include "orchestrate/tasks/kinds.h"

namespace strata::orchestrate {
namespace {

class ShellKind : public TaskKind {
 public:
  const char* name() const override { return "shell"; }
  std::vector<std::string> keys() const override { return {"command", "env"}; }
  Status Parse(const Project& /*project*/, const ConfigNode& node, TaskSpec* t) const override {
    STRATA_ASSIGN_OR_RETURN(t->command, node.RequiredString("command"));
    if (node.Has("env")) {
      STRATA_ASSIGN_OR_RETURN(auto entries, node["env"].Entries());
      for (const auto& [k, v] : entries) {
        STRATA_ASSIGN_OR_RETURN(t->env[k], v.String());
      }
    }
    return Status::OK();
  }
  TaskOutcome Run(TaskServices& services, const Attempt& a, std::ostream& log) const override;
};

TaskOutcome ShellKind::Run(TaskServices& /*services*/, const Attempt& a, std::ostream& log) const {
  std::string command = ExpandRunMacros(a.task->command, *a.run);
  log << "$ " << command << "\n";
  log.flush();
  // The child's environment: ours, the run's identity, then the task's own variables.
  SubprocessOptions so;
  so.argv = ShellCommand(command);
  for (const auto& [name, value] : RunIdentity(*a.run)) {
    std::string upper = name;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    so.env.emplace_back("STRATA_" + upper, value);  // STRATA_DS, STRATA_RUN_ID, ...
  }
  so.env.emplace_back("STRATA_TASK", a.task->id);
  so.env.emplace_back("STRATA_TRY", std::to_string(a.try_number));
  for (const auto& [k, v] : a.task->env) so.env.emplace_back(k, v);
  so.output_path = a.log_path;
  so.cancel = a.cancel;
  so.grace = std::chrono::seconds(2);
  auto r = RunSubprocess(so);
  if (!r.ok()) return Failed(r.status());
  if (r->cancelled) return Failed(Status::Aborted("command stopped (" + a.cancel->reason() + ")"));
  if (r->ok()) {
    TaskOutcome o;
    o.summary = "exit code 0";
    return o;
  }
  return Failed(Status::Failed("command failed with " + r->Describe() +
                               (a.log_path.empty() ? "" : " (log: " + a.log_path + ")")));
}

}  // namespace

const TaskKind* ShellTaskKind() {
  static const ShellKind kind;
  return &kind;
}

}  // namespace strata::orchestrate
