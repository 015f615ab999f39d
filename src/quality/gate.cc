#include "quality/gate.h"

#include "transform/manifest.h"
#include "warehouse/session.h"

namespace strata::quality {

namespace {

using nlohmann::json;

class Gate : public transform::PublishGate {
 public:
  Gate(std::vector<Checkpoint> checkpoints, QualityPaths paths, CheckpointOptions options,
       std::function<void(const CheckpointResult&)> on_done)
      : checkpoints_(std::move(checkpoints)),
        paths_(std::move(paths)),
        options_(std::move(options)),
        on_done_(std::move(on_done)) {}
  std::string name() const override { return "quality checkpoints"; }
  Result<std::vector<transform::NodeResult>> Audit(const transform::LoadedProject& project, warehouse::Engine* db,
                                                   const transform::PublishOptions& publish) override {
    STRATA_ASSIGN_OR_RETURN(auto session, db->Connect());
    CheckpointOptions options = options_;
    options.resolve = [&project](const std::string& asset) { return ModelRelation(project, asset); };
    std::vector<transform::NodeResult> out;
    for (const auto& c : checkpoints_) {
      STRATA_ASSIGN_OR_RETURN(CheckpointResult r, RunCheckpoint(session.get(), c, paths_, options));
      auto checks = AuditResults(r);
      if (publish.on_result) {
        for (const auto& check : checks) publish.on_result(check);
      }
      out.insert(out.end(), checks.begin(), checks.end());
      if (on_done_) on_done_(r);
    }
    return out;
  }

 private:
  std::vector<Checkpoint> checkpoints_;
  QualityPaths paths_;
  CheckpointOptions options_;
  std::function<void(const CheckpointResult&)> on_done_;
};

}  // namespace

std::string ModelRelation(const transform::LoadedProject& project, const std::string& asset) {
  const transform::Node* node = project.manifest.FindRefable(asset);
  return node == nullptr ? "" : node->Relation();
}

std::string Finding(const json& result, size_t sample_chars) {
  if (result.contains("observed_value")) return "observed " + result["observed_value"].dump();
  if (!result.contains("unexpected_count")) return "";
  std::string found = result["unexpected_count"].dump() + " unexpected of " + result["element_count"].dump();
  if (result.contains("partial_unexpected_list") && !result["partial_unexpected_list"].empty()) {
    std::string sample = result["partial_unexpected_list"].dump();
    if (sample.size() > sample_chars) sample = sample.substr(0, sample_chars - 3) + "...";
    found += ", e.g. " + sample;
  }
  return found;
}

std::vector<transform::NodeResult> AuditResults(const CheckpointResult& result) {
  std::vector<transform::NodeResult> out;
  for (const json& v : result.validations) {
    const std::string suite = v["meta"]["expectation_suite_name"];
    const std::string asset = v["meta"]["active_batch_definition"]["data_asset_name"];
    int i = 0;
    for (const json& r : v["results"]) {
      ++i;
      const json& config = r["expectation_config"];
      const json& kwargs = config["kwargs"];
      transform::NodeResult n;
      n.resource_type = "expectation";
      // The last part names the check (the run history's test_results show it as the name).
      std::string what = config["expectation_type"].get<std::string>();
      std::string columns;
      for (const char* k : {"column", "column_A", "column_list"}) {
        if (!kwargs.contains(k)) continue;
        columns = kwargs[k].is_string() ? kwargs[k].get<std::string>() : kwargs[k].dump();
        if (kwargs[k].is_array()) {
          columns.clear();
          for (const auto& c : kwargs[k]) columns += (columns.empty() ? "" : "_") + c.get<std::string>();
        }
      }
      n.unique_id = "expectation." + result.name + "." + suite + "." + std::to_string(i) + "." + asset + "__" + what +
                    (columns.empty() ? "" : "__" + columns);
      n.name = suite + ": " + what + (columns.empty() ? "" : " " + columns) + " on " + asset;
      const bool raised = r["exception_info"].value("raised_exception", false);
      const std::string severity = config["meta"].value("severity", std::string("error"));
      if (r["success"].get<bool>()) {
        n.status = "pass";
      } else if (raised) {
        n.status = "error";
        n.message = r["exception_info"].value("exception_message", std::string());
      } else {
        n.status = severity == "warn" || severity == "warning" ? "warn" : "fail";
      }
      const json& res = r["result"];
      n.failures =
          res.contains("unexpected_count") ? res["unexpected_count"].get<int64_t>() : (n.status == "pass" ? 0 : 1);
      if (n.message.empty() && n.status != "pass") n.message = Finding(res, 120);
      out.push_back(std::move(n));
    }
  }
  return out;
}

std::unique_ptr<transform::PublishGate> CheckpointGate(std::vector<Checkpoint> checkpoints, QualityPaths paths,
                                                       CheckpointOptions options,
                                                       std::function<void(const CheckpointResult&)> on_done) {
  return std::make_unique<Gate>(std::move(checkpoints), std::move(paths), std::move(options), std::move(on_done));
}

}  // namespace strata::quality
