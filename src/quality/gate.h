// Checkpoints as a gate of write-audit-publish (transform/publish.h): each expectation of each
// validation is one audited check, run on the relations just built (a validation's
// data_asset_name is a dbt model's name, or a relation). A failing error-severity expectation
// (or one that cannot run) blocks the publish exactly as a failing dbt test does; warn-severity
// failures publish and are reported.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "quality/checkpoint.h"
#include "transform/publish.h"

namespace strata::quality {

// The checks of a checkpoint's result, as the publish audit reports them.
std::vector<transform::NodeResult> AuditResults(const CheckpointResult& result);

// A gate that runs `checkpoints`; `on_done` (may be null) gets each checkpoint's result.
std::unique_ptr<transform::PublishGate> CheckpointGate(std::vector<Checkpoint> checkpoints, QualityPaths paths,
                                                       CheckpointOptions options,
                                                       std::function<void(const CheckpointResult&)> on_done);

// What an expectation's `result` found, in one line: "observed 42" or "3 unexpected of 10, e.g.
// [...]" (the sample cut at `sample_chars`); "" when it holds neither.
std::string Finding(const nlohmann::json& result, size_t sample_chars);

// A dbt model's built relation ("" when `asset` names no model of `project`).
std::string ModelRelation(const transform::LoadedProject& project, const std::string& asset);

}  // namespace strata::quality
