// strata quality: expectation suites in Great Expectations' format, run on the warehouse.
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/project.h"
#include "quality/expectations.h"
#include "quality/suite.h"
#include "quality/validator.h"
#include "transform/target.h"
#include "warehouse/target.h"

namespace strata::cli {

namespace {

using nlohmann::json;

struct ValidateFlags {
  std::string project = ".";
  std::string suite;
  std::string relation;
  std::string filter;
  std::string result_format = "SUMMARY";
  std::vector<std::string> params;  // name=value
  bool json = false;
};

// A --param value: a number when it reads as one, else the text.
json ParamValue(const std::string& text) {
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  if (!text.empty() && *end == '\0') {
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
    return d;
  }
  return text;
}

// One line per expectation for people: what it checked and what it found.
std::string Describe(const json& r) {
  const json& config = r["expectation_config"];
  const json& kwargs = config["kwargs"];
  std::string what = config["expectation_type"];
  for (const char* k : {"column", "column_A", "column_list"}) {
    if (kwargs.contains(k)) what += " " + (kwargs[k].is_string() ? kwargs[k].get<std::string>() : kwargs[k].dump());
  }
  const json& res = r["result"];
  std::string found;
  if (r["exception_info"]["raised_exception"].get<bool>()) {
    found = "error: " + r["exception_info"]["exception_message"].get<std::string>();
  } else if (res.contains("observed_value")) {
    found = "observed " + res["observed_value"].dump();
  } else if (res.contains("unexpected_count")) {
    found = res["unexpected_count"].dump() + " unexpected of " + res["element_count"].dump();
    if (res.contains("partial_unexpected_list") && !res["partial_unexpected_list"].empty()) {
      std::string sample = res["partial_unexpected_list"].dump();
      if (sample.size() > 80) sample = sample.substr(0, 77) + "...";
      found += ", e.g. " + sample;
    }
  }
  const bool warn = config["meta"].value("severity", std::string("error")) != "error";
  return std::string(r["success"].get<bool>() ? "  ok    "
                     : warn                   ? "  WARN  "
                                              : "  FAIL  ") +
         what + (found.empty() ? "" : ": " + found);
}

}  // namespace

void RegisterQualityCommands(CLI::App* app) {
  CLI::App* group =
      app->add_subcommand("quality", "Expectation suites (Great Expectations 0.18 format) on the warehouse");
  group->require_subcommand(1);

  auto f = std::make_shared<ValidateFlags>();
  CLI::App* validate = group->add_subcommand("validate", "Validate a relation against one expectation suite");
  validate->add_option("suite", f->suite, "The suite's JSON file")->required();
  validate->add_option("--relation", f->relation, "The relation to validate: schema.table")->required();
  validate->add_option("--filter", f->filter, "SQL selecting the batch's rows (default: every row)");
  validate->add_option("--result-format", f->result_format, "BOOLEAN_ONLY, BASIC, SUMMARY or COMPLETE")
      ->capture_default_str();
  validate->add_option("--param", f->params, "An evaluation parameter: NAME=VALUE (repeatable)");
  validate->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")
      ->capture_default_str();
  validate->add_flag("--json", f->json, "Print the validation result (GE's JSON) instead of a summary");
  validate->callback([f] {
    Output out(f->json);
    auto suite = quality::LoadSuite(f->suite);
    if (!suite.ok()) Fail(out, suite.status(), kExitUsage);
    quality::ValidateOptions options;
    options.result_format = f->result_format;
    for (const auto& p : f->params) {
      const size_t eq = p.find('=');
      if (eq == std::string::npos || eq == 0) {
        Fail(out, Status::InvalidArgument("--param takes NAME=VALUE, not '" + p + "'"), kExitUsage);
      }
      options.evaluation_parameters[p.substr(0, eq)] = ParamValue(p.substr(eq + 1));
    }
    auto project = Project::Load(f->project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    quality::ValidateStats stats;
    auto result = [&]() -> Result<json> {
      STRATA_ASSIGN_OR_RETURN(warehouse::Target target, transform::ResolveTarget(*project));
      warehouse::OpenTarget::Options open_options;
      open_options.read_only = true;
      open_options.on_wait = [&](const std::string& message) { out.Error(message); };
      STRATA_ASSIGN_OR_RETURN(auto open, warehouse::OpenTarget::Open(target, open_options));
      STRATA_ASSIGN_OR_RETURN(auto engine, open->NewEngine());
      STRATA_ASSIGN_OR_RETURN(auto session, engine->Connect());
      quality::Batch batch;
      batch.relation = f->relation;
      batch.filter = f->filter;
      return quality::Validate(session.get(), *suite, batch, options, &stats);
    }();
    if (!result.ok()) Fail(out, result.status());
    bool blocking = false;
    for (const auto& r : (*result)["results"]) {
      const bool warn = r["expectation_config"]["meta"].value("severity", std::string("error")) != "error";
      blocking = blocking || (!r["success"].get<bool>() && !warn);
    }
    if (f->json) {
      out.Json(*result);
    } else {
      out.Line("suite " + suite->name + " on " + f->relation + (f->filter.empty() ? "" : " where " + f->filter));
      for (const auto& r : (*result)["results"]) out.Line(Describe(r));
      const json& s = (*result)["statistics"];
      char pct[32];
      std::snprintf(pct, sizeof(pct), "%.1f",
                    s["success_percent"].is_null() ? 100.0 : s["success_percent"].get<double>());
      out.Line(s["successful_expectations"].dump() + " of " + s["evaluated_expectations"].dump() +
               " expectations passed (" + pct + " %) in " + std::to_string(stats.queries) + " queries, " +
               std::to_string(static_cast<int>(stats.seconds * 1000)) + " ms");
    }
    if (blocking) throw CLI::RuntimeError(kExitFailure);
  });

  CLI::App* types = group->add_subcommand("types", "List the expectation types Strata runs");
  types->callback([] {
    Output out(false);
    for (const auto& t : quality::ExpectationTypes()) out.Line(t.name);
  });
}

}  // namespace strata::cli
