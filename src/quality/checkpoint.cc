#include "quality/checkpoint.h"

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "core/config.h"
#include "core/date.h"
#include "core/file.h"
#include "quality/docs.h"
#include "quality/validator.h"
#include "warehouse/session.h"

namespace strata::quality {

namespace {

using nlohmann::json;

std::string ExpandNames(std::string text, const std::vector<std::pair<std::string, std::string>>& names) {
  for (const auto& [name, value] : names) {
    for (const std::string& pattern : {"{{ " + name + " }}", "{{" + name + "}}"}) {
      for (size_t at = text.find(pattern); at != std::string::npos; at = text.find(pattern, at + value.size())) {
        text.replace(at, pattern.size(), value);
      }
    }
  }
  return text;
}

// Now as ISO 8601 in UTC, to the second ("2024-01-02T03:04:05Z").
std::string NowIso() {
  std::string t = FormatTimestamp(static_cast<int64_t>(std::time(nullptr)));
  t[10] = 'T';
  return t + "Z";
}

// `name` made safe as one path component.
std::string PathPart(const std::string& name) {
  std::string out;
  for (char c : name)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

}  // namespace

Result<Checkpoint> LoadCheckpoint(const std::string& path) {
  STRATA_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::Load(path, /*unique_keys=*/true));
  if (!root.IsMap()) return root.Error("a checkpoint is a map (name, validations, action_list)");
  STRATA_RETURN_IF_ERROR(root.CheckKeys({"name",
                                         "config_version",
                                         "class_name",
                                         "module_name",
                                         "run_name_template",
                                         "expectation_suite_name",
                                         "batch_request",
                                         "action_list",
                                         "evaluation_parameters",
                                         "runtime_configuration",
                                         "validations",
                                         "profilers",
                                         "ge_cloud_id",
                                         "expectation_suite_ge_cloud_id",
                                         "template_name",
                                         "site_names",
                                         "slack_webhook",
                                         "notify_on",
                                         "notify_with",
                                         "default_validation_id"}));
  Checkpoint c;
  c.file = path;
  STRATA_ASSIGN_OR_RETURN(c.name, root.String("name", std::filesystem::path(path).stem().string()));
  STRATA_ASSIGN_OR_RETURN(c.run_name_template, root.String("run_name_template", ""));
  const std::string class_name = root["class_name"].IsNull() ? "Checkpoint" : *root["class_name"].String();
  if (class_name != "Checkpoint" && class_name != "SimpleCheckpoint") {
    return root["class_name"].Error("class_name is Checkpoint or SimpleCheckpoint, not " + class_name);
  }
  if (root.Has("runtime_configuration")) {
    json rc = root["runtime_configuration"].ToJson();
    if (rc.contains("result_format")) c.result_format = rc["result_format"];
  }
  if (root.Has("evaluation_parameters")) {
    json params = root["evaluation_parameters"].ToJson();
    if (!params.is_object()) return root["evaluation_parameters"].Error("evaluation_parameters is a map");
    for (const auto& [k, v] : params.items()) c.evaluation_parameters[k] = v;
  }
  if (root.Has("action_list")) {
    c.store_results = false;
    c.update_docs = false;
    STRATA_ASSIGN_OR_RETURN(auto actions, root["action_list"].Items());
    for (const auto& a : actions) {
      const std::string cls = a["action"].IsNull() ? "" : *a["action"].String("class_name", "");
      if (cls == "StoreValidationResultAction") c.store_results = true;
      if (cls == "UpdateDataDocsAction") c.update_docs = true;
      // Other actions (Slack, email, StoreEvaluationParametersAction) are GE's; Strata's
      // alerts come from the pipeline's on_failure settings.
    }
  }
  // Top-level defaults that each validation may override, as GE merges them.
  const std::string default_suite =
      root.Has("expectation_suite_name") ? *root.String("expectation_suite_name", "") : "";
  const ConfigNode default_batch = root["batch_request"];
  if (!root.Has("validations")) return root.Error("a checkpoint needs `validations`");
  STRATA_ASSIGN_OR_RETURN(auto validations, root["validations"].Items());
  for (const auto& v : validations) {
    STRATA_RETURN_IF_ERROR(v.CheckKeys({"batch_request", "expectation_suite_name", "action_list", "id", "name"}));
    CheckpointValidation x;
    x.where = v.Error("").message();
    if (size_t colon = x.where.rfind(": "); colon != std::string::npos) x.where = x.where.substr(0, colon);
    STRATA_ASSIGN_OR_RETURN(x.suite, v.String("expectation_suite_name", default_suite));
    if (x.suite.empty()) return v.Error("a validation needs `expectation_suite_name`");
    const ConfigNode batch = v.Has("batch_request") ? v["batch_request"] : default_batch;
    if (batch.IsNull()) return v.Error("a validation needs a `batch_request` naming its data_asset_name");
    STRATA_RETURN_IF_ERROR(batch.CheckKeys({"datasource_name", "data_connector_name", "data_asset_name", "options",
                                            "row_condition", "batch_spec_passthrough", "data_connector_query", "limit",
                                            "batch_slice", "runtime_parameters", "batch_identifiers"}));
    STRATA_ASSIGN_OR_RETURN(x.asset, batch.RequiredString("data_asset_name"));
    STRATA_ASSIGN_OR_RETURN(x.row_condition, batch.String("row_condition", ""));
    if (batch.Has("runtime_parameters")) {
      const ConfigNode rp = batch["runtime_parameters"];
      STRATA_RETURN_IF_ERROR(rp.CheckKeys({"query", "batch_data", "path"}));
      if (!rp.Has("query")) return rp.Error("Strata's runtime batches are queries: runtime_parameters: {query: ...}");
      STRATA_ASSIGN_OR_RETURN(x.query, rp.RequiredString("query"));
    }
    c.validations.push_back(std::move(x));
  }
  return c;
}

QualityPaths PathsOf(const Project& project) {
  QualityPaths p;
  std::error_code ec;
  const std::string own = JoinPath(project.dir, "quality");
  const std::string gx = JoinPath(project.dir, "gx");
  std::string base = !std::filesystem::is_directory(own, ec) && std::filesystem::is_directory(gx, ec) ? gx : own;
  if (!project.quality_dir.empty()) base = project.quality_dir;
  p.expectations = JoinPath(base, "expectations");
  p.checkpoints = JoinPath(base, "checkpoints");
  p.validations = JoinPath(project.state_dir, "quality/validations");
  p.docs = JoinPath(project.state_dir, "quality/docs");
  return p;
}

Result<std::string> SuiteFile(const QualityPaths& paths, const std::string& name) {
  std::string nested = name;
  std::replace(nested.begin(), nested.end(), '.', '/');
  std::error_code ec;
  for (const std::string& candidate :
       {JoinPath(paths.expectations, nested + ".json"), JoinPath(paths.expectations, name + ".json")}) {
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  return Status::NotFound("no expectation suite '" + name + "' (looked for " +
                          JoinPath(paths.expectations, nested + ".json") + ")");
}

Result<std::string> CheckpointFile(const QualityPaths& paths, const std::string& name) {
  std::error_code ec;
  for (const char* ext : {".yml", ".yaml"}) {
    const std::string candidate = JoinPath(paths.checkpoints, name + ext);
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  std::string known;
  for (const auto& n : CheckpointNames(paths)) known += (known.empty() ? "" : ", ") + n;
  return Status::NotFound("no checkpoint '" + name + "' in " + paths.checkpoints +
                          (known.empty() ? "" : " (there are: " + known + ")"));
}

Result<std::vector<Checkpoint>> LoadCheckpoints(const QualityPaths& paths, const std::vector<std::string>& names) {
  std::vector<Checkpoint> out;
  for (const auto& n : names) {
    STRATA_ASSIGN_OR_RETURN(std::string file, CheckpointFile(paths, n));
    STRATA_ASSIGN_OR_RETURN(Checkpoint c, LoadCheckpoint(file));
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> CheckpointNames(const QualityPaths& paths) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(paths.checkpoints, ec)) return out;
  for (const auto& e : std::filesystem::directory_iterator(paths.checkpoints, ec)) {
    const std::string ext = e.path().extension().string();
    if (ext == ".yml" || ext == ".yaml") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::pair<int, int> Failures(const json& validation) {
  int blocking = 0, warnings = 0;
  for (const auto& r : validation.value("results", json::array())) {
    if (r.value("success", false)) continue;
    const bool raised = r.contains("exception_info") && r["exception_info"].value("raised_exception", false);
    const json meta = r.contains("expectation_config") ? r["expectation_config"].value("meta", json::object()) : json();
    const std::string severity = meta.is_object() ? meta.value("severity", std::string("error")) : "error";
    if (!raised && (severity == "warn" || severity == "warning")) {
      ++warnings;
    } else {
      ++blocking;
    }
  }
  return {blocking, warnings};
}

json CheckpointResult::ToJson() const {
  json list = json::array();
  for (size_t i = 0; i < validations.size(); ++i) {
    const json& v = validations[i];
    auto [b, w] = Failures(v);
    list.push_back({{"suite", v["meta"]["expectation_suite_name"]},
                    {"asset", v["meta"]["active_batch_definition"]["data_asset_name"]},
                    {"success", v["success"]},
                    {"statistics", v["statistics"]},
                    {"blocking", b},
                    {"warnings", w},
                    {"file", i < stored.size() ? json(stored[i]) : json()}});
  }
  return {{"checkpoint", name},   {"run_name", run_name},   {"run_time", run_time},
          {"success", success()}, {"evaluated", evaluated}, {"successful", successful},
          {"blocking", blocking}, {"warnings", warnings},   {"docs", docs.empty() ? json() : json(docs)},
          {"validations", list}};
}

Result<CheckpointResult> RunCheckpoint(warehouse::Session* session, const Checkpoint& checkpoint,
                                       const QualityPaths& paths, const CheckpointOptions& options) {
  CheckpointResult out;
  out.name = checkpoint.name;
  out.run_time = options.run_time.empty() ? NowIso() : options.run_time;
  out.run_name = options.run_name;
  if (out.run_name.empty() && !checkpoint.run_name_template.empty()) {
    std::tm tm{};
    strptime(out.run_time.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    char buf[256];
    if (std::strftime(buf, sizeof(buf), checkpoint.run_name_template.c_str(), &tm) > 0) out.run_name = buf;
  }
  if (out.run_name.empty()) out.run_name = out.run_time;
  for (const auto& v : checkpoint.validations) {
    auto file = SuiteFile(paths, v.suite);
    if (!file.ok()) return file.status().WithContext(v.where);
    STRATA_ASSIGN_OR_RETURN(Suite suite, LoadSuite(*file));
    Batch batch;
    batch.relation = options.resolve ? options.resolve(v.asset) : "";
    if (batch.relation.empty()) batch.relation = v.asset;
    batch.filter = ExpandNames(v.row_condition, options.run_names);
    if (!v.query.empty()) {
      batch.query = ExpandNames(v.query, options.run_names);
      // {{ ref('model') }}: the model's built relation.
      for (size_t at = batch.query.find("{{"); at != std::string::npos; at = batch.query.find("{{", at + 1)) {
        const size_t end = batch.query.find("}}", at);
        if (end == std::string::npos) break;
        const std::string inner = batch.query.substr(at + 2, end - at - 2);
        const size_t open = inner.find("ref(");
        if (open == std::string::npos) continue;
        const size_t q1 = inner.find_first_of("'\"", open);
        const size_t q2 = q1 == std::string::npos ? q1 : inner.find(inner[q1], q1 + 1);
        if (q2 == std::string::npos) continue;
        const std::string model = inner.substr(q1 + 1, q2 - q1 - 1);
        const std::string rel = options.resolve ? options.resolve(model) : "";
        if (rel.empty()) return Status::NotFound(v.where + ": {{ ref('" + model + "') }}: no such model");
        batch.query.replace(at, end + 2 - at, rel);
      }
    }
    ValidateOptions vo;
    vo.result_format = checkpoint.result_format;
    vo.evaluation_parameters = checkpoint.evaluation_parameters;
    for (const auto& [name, value] : options.run_names) vo.evaluation_parameters.emplace(name, value);
    vo.run_name = out.run_name;
    vo.run_time = out.run_time;
    vo.checkpoint_name = checkpoint.name;
    auto validated = Validate(session, suite, batch, vo);
    if (!validated.ok()) return validated.status().WithContext(v.where);
    json result = std::move(*validated);
    result["meta"]["active_batch_definition"]["data_asset_name"] = v.asset;
    auto [blocking, warnings] = Failures(result);
    out.blocking += blocking;
    out.warnings += warnings;
    out.evaluated += result["statistics"]["evaluated_expectations"].get<int>();
    out.successful += result["statistics"]["successful_expectations"].get<int>();
    if (options.store && checkpoint.store_results) {
      std::string suite_path = suite.name;
      std::replace(suite_path.begin(), suite_path.end(), '.', '/');
      const std::string dir =
          JoinPath(paths.validations, suite_path + "/" + PathPart(out.run_name) + "/" + PathPart(out.run_time));
      STRATA_RETURN_IF_ERROR(MakeDirs(dir));
      const std::string path = JoinPath(dir, PathPart(v.asset) + ".json");
      STRATA_RETURN_IF_ERROR(WriteFileAtomic(path, result.dump(2) + "\n"));
      out.stored.push_back(path);
    }
    out.validations.push_back(std::move(result));
  }
  if (checkpoint.update_docs && !out.stored.empty()) {
    STRATA_ASSIGN_OR_RETURN(out.docs, UpdateDataDocs(paths, out.stored));
  }
  return out;
}

}  // namespace strata::quality
