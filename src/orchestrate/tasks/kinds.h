// The built-in task kinds (one file each in this folder), for the registry.
#pragma once

#include "core/config.h"
#include "core/project.h"
#include "orchestrate/task_kind.h"

namespace strata::orchestrate {

const TaskKind* IngestTaskKind();
const TaskKind* LoadTaskKind();
const TaskKind* BuildTaskKind();
const TaskKind* TestTaskKind();
const TaskKind* PublishTaskKind();
const TaskKind* QualityTaskKind();
const TaskKind* SqlTaskKind();
const TaskKind* ShellTaskKind();
const TaskKind* NoopTaskKind();

// select/exclude/vars of a task on the dbt project (build, test, publish).
Status ParseDbtSelection(const Project& project, const ConfigNode& node, TaskSpec* t);

}  // namespace strata::orchestrate
