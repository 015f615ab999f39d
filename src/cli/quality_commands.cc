// strata quality: expectation suites in Great Expectations' format, run on the warehouse.
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/date.h"
#include "core/file.h"
#include "core/project.h"
#include "quality/checkpoint.h"
#include "quality/docs.h"
#include "quality/expectations.h"
#include "quality/gate.h"
#include "quality/profile.h"
#include "quality/suite.h"
#include "quality/validator.h"
#include "serve/system_tables.h"
#include "transform/loader.h"
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
  const std::string found = r["exception_info"]["raised_exception"].get<bool>()
                                ? "error: " + r["exception_info"]["exception_message"].get<std::string>()
                                : quality::Finding(r["result"], 80);
  const bool warn = config["meta"].value("severity", std::string("error")) != "error";
  return std::string(r["success"].get<bool>() ? "  ok    "
                     : warn                   ? "  WARN  "
                                              : "  FAIL  ") +
         what + (found.empty() ? "" : ": " + found);
}

struct RunFlags {
  std::string project = ".";
  std::string checkpoint;
  std::string date;
  bool json = false;
};

// Opens the project's warehouse read-only and runs `fn` on a session.
template <typename Fn>
auto OnWarehouse(Output& out, const Project& project, Fn fn) -> decltype(fn(nullptr)) {
  STRATA_ASSIGN_OR_RETURN(warehouse::Target target, transform::ResolveTarget(project));
  warehouse::OpenTarget::Options open_options;
  open_options.read_only = true;
  open_options.on_wait = [&](const std::string& message) { out.Error(message); };
  STRATA_ASSIGN_OR_RETURN(auto open, warehouse::OpenTarget::Open(target, open_options));
  STRATA_ASSIGN_OR_RETURN(auto engine, open->NewEngine());
  STRATA_ASSIGN_OR_RETURN(auto session, engine->Connect());
  return fn(session.get());
}

}  // namespace

void RegisterQualityCommands(CLI::App* app) {
  CLI::App* group = app->add_subcommand(
      "quality", "Expectation suites and checkpoints (Great Expectations 0.18 formats) on the warehouse");
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
    auto result = OnWarehouse(out, *project, [&](warehouse::Session* s) {
      quality::Batch batch;
      batch.relation = f->relation;
      batch.filter = f->filter;
      return quality::Validate(s, *suite, batch, options, &stats);
    });
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

  auto rf = std::make_shared<RunFlags>();
  CLI::App* run = group->add_subcommand("run", "Run a checkpoint (quality/checkpoints/NAME.yml) and store its results");
  run->add_option("checkpoint", rf->checkpoint, "The checkpoint's name")->required();
  run->add_option("--date", rf->date, "The logical date for {{ ds }} in row conditions (default: today, UTC)");
  run->add_option("-p,--project", rf->project, "Project file or directory holding strata.yml")->capture_default_str();
  run->add_flag("--json", rf->json, "Print the checkpoint's result as JSON");
  run->callback([rf] {
    Output out(rf->json);
    auto project = Project::Load(rf->project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    const quality::QualityPaths paths = quality::PathsOf(*project);
    auto file = quality::CheckpointFile(paths, rf->checkpoint);
    if (!file.ok()) Fail(out, file.status(), kExitUsage);
    auto checkpoint = quality::LoadCheckpoint(*file);
    if (!checkpoint.ok()) Fail(out, checkpoint.status(), kExitUsage);
    std::string ds = Date::TodayUtc().ToString();
    if (!rf->date.empty()) {
      auto d = Date::Parse(rf->date);
      if (!d.ok()) Fail(out, Status::InvalidArgument("--date: " + d.status().message()), kExitUsage);
      ds = d->ToString();
    }
    auto loaded = transform::LoadTransformOf(*project);
    if (!loaded.ok()) Fail(out, loaded.status());
    std::unique_ptr<transform::LoadedProject> dbt = std::move(*loaded);
    quality::CheckpointOptions options;
    options.run_names = {{"ds", ds}, {"logical_date", ds}};
    options.resolve = [&dbt](const std::string& asset) { return dbt ? quality::ModelRelation(*dbt, asset) : ""; };
    auto result = OnWarehouse(
        out, *project, [&](warehouse::Session* s) { return quality::RunCheckpoint(s, *checkpoint, paths, options); });
    if (!result.ok()) Fail(out, result.status());
    if (rf->json) {
      out.Json(result->ToJson());
    } else {
      for (const auto& v : result->validations) {
        out.Line("suite " + v["meta"]["expectation_suite_name"].get<std::string>() + " on " +
                 v["meta"]["active_batch_definition"]["data_asset_name"].get<std::string>());
        for (const auto& r : v["results"]) out.Line(Describe(r));
      }
      char pct[32];
      std::snprintf(pct, sizeof(pct), "%.1f",
                    result->evaluated == 0 ? 100.0 : 100.0 * result->successful / result->evaluated);
      out.Line("checkpoint " + result->name + ": " + std::to_string(result->successful) + " of " +
               std::to_string(result->evaluated) + " expectations passed (" + pct + " %), " +
               std::to_string(result->blocking) + " blocking, " + std::to_string(result->warnings) + " warning(s)");
      if (!result->stored.empty()) out.Line("results in " + paths.validations);
      if (!result->docs.empty()) out.Line("data docs: " + result->docs);
    }
    if (!result->success()) throw CLI::RuntimeError(kExitFailure);
  });

  auto report_flags = std::make_shared<RunFlags>();
  CLI::App* report = group->add_subcommand(
      "report", "The pass rate of everything that checks data (dbt tests and expectations), per run and overall");
  report->add_option("-p,--project", report_flags->project, "Project file or directory holding strata.yml")
      ->capture_default_str();
  report->add_flag("--json", report_flags->json, "Print one JSON document for machines");
  report->callback([report_flags] {
    Output out(report_flags->json);
    auto project = Project::Load(report_flags->project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    // The run history's checks, as the data-health dashboard reads them (serve/system_tables.h):
    // each run's latest attempt of each task, its dbt tests and its expectations.
    serve::SystemTables system(*project, 1);
    auto tables = system.Current();
    if (!tables.ok()) Fail(out, tables.status());
    const char* kSql = R"(
      select run_id, logical_date,
             count(*) filter (where unique_id like 'expectation.%') as expectations,
             count(*) filter (where unique_id not like 'expectation.%') as tests,
             count(*) filter (where status = 'pass') as passed,
             count(*) filter (where status = 'warn') as warned,
             count(*) filter (where status in ('fail', 'error')) as failed,
             count(*) as checks
      from strata.test_results group by run_id, logical_date order by logical_date desc, run_id desc)";
    auto r = (*tables)->Run(serve::BoundQuery{kSql, {}}, serve::QueryLimits{100000, 60000}, nullptr);
    if (!r.ok()) Fail(out, r.status());
    json runs = json::array();
    int64_t all = 0, passed = 0, warned = 0, failed = 0, tests = 0, expectations = 0;
    auto num = [](const sql::Cell& c) { return c ? std::stoll(*c) : 0LL; };
    for (const auto& row : r->result.rows) {
      const int64_t checks = num(row[7]), ok = num(row[4]);
      runs.push_back({{"run_id", row[0] ? *row[0] : ""},
                      {"logical_date", row[1] ? *row[1] : ""},
                      {"expectations", num(row[2])},
                      {"tests", num(row[3])},
                      {"passed", ok},
                      {"warned", num(row[5])},
                      {"failed", num(row[6])},
                      {"checks", checks},
                      {"pass_rate", checks == 0 ? json() : json(100.0 * ok / checks)}});
      all += checks;
      passed += ok;
      warned += num(row[5]);
      failed += num(row[6]);
      tests += num(row[3]);
      expectations += num(row[2]);
    }
    const json overall = {{"checks", all},
                          {"passed", passed},
                          {"warned", warned},
                          {"failed", failed},
                          {"tests", tests},
                          {"expectations", expectations},
                          {"pass_rate", all == 0 ? json() : json(100.0 * passed / all)}};
    if (report_flags->json) {
      out.Json({{"overall", overall}, {"runs", runs}});
      return;
    }
    char line[256];
    out.Line("run                              checks   tests  expect.  passed  warned  failed  pass rate");
    for (const auto& run : runs) {
      std::snprintf(line, sizeof(line), "%-32s %6lld  %6lld  %7lld  %6lld  %6lld  %6lld  %8.1f %%",
                    run["run_id"].get<std::string>().c_str(), static_cast<long long>(run["checks"].get<int64_t>()),
                    static_cast<long long>(run["tests"].get<int64_t>()),
                    static_cast<long long>(run["expectations"].get<int64_t>()),
                    static_cast<long long>(run["passed"].get<int64_t>()),
                    static_cast<long long>(run["warned"].get<int64_t>()),
                    static_cast<long long>(run["failed"].get<int64_t>()),
                    run["pass_rate"].is_null() ? 100.0 : run["pass_rate"].get<double>());
      out.Line(line);
    }
    if (all == 0) {
      out.Line("no checks in the run history yet: run a pipeline with build, publish or quality tasks");
      return;
    }
    std::snprintf(line, sizeof(line), "%.1f", 100.0 * passed / all);
    out.Line("");
    out.Line("pass rate " + std::string(line) + " %: " + std::to_string(passed) + " of " + std::to_string(all) +
             " checks passed over " + std::to_string(runs.size()) + " run(s) (" + std::to_string(tests) +
             " dbt test results, " + std::to_string(expectations) + " expectation results; " + std::to_string(warned) +
             " warned, " + std::to_string(failed) + " failed or errored).");
    out.Line(
        "A check is one dbt test or one expectation in one run's latest attempt of a build, publish or "
        "quality task; warnings count as not passed, as in Great Expectations' success_percent.");
  });

  auto docs_flags = std::make_shared<RunFlags>();
  CLI::App* docs = group->add_subcommand("docs", "Rebuild the data docs (static HTML) from every stored validation");
  docs->add_option("-p,--project", docs_flags->project, "Project file or directory holding strata.yml")
      ->capture_default_str();
  docs->callback([docs_flags] {
    Output out(false);
    auto project = Project::Load(docs_flags->project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    auto index = quality::RebuildDataDocs(quality::PathsOf(*project));
    if (!index.ok()) Fail(out, index.status());
    out.Line("data docs: " + *index);
  });

  struct ProfileFlags {
    std::string project = ".";
    std::string relation, out, suite;
  };
  auto pf = std::make_shared<ProfileFlags>();
  CLI::App* profile = group->add_subcommand(
      "profile", "Write a starter suite from a relation's data (types, nulls, ranges, value sets), to review and edit");
  profile->add_option("relation", pf->relation, "The relation: schema.table")->required();
  profile->add_option("--out", pf->out, "Write the suite here (default: print it)");
  profile->add_option("--suite", pf->suite, "The suite's name (default: the relation's)");
  profile->add_option("-p,--project", pf->project, "Project file or directory holding strata.yml")
      ->capture_default_str();
  profile->callback([pf] {
    Output out(false);
    auto project = Project::Load(pf->project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    quality::ProfileOptions options;
    options.suite_name = pf->suite;
    auto suite =
        OnWarehouse(out, *project, [&](warehouse::Session* s) { return quality::Profile(s, pf->relation, options); });
    if (!suite.ok()) Fail(out, suite.status());
    const std::string text = quality::SuiteJson(*suite).dump(2) + "\n";
    if (pf->out.empty()) {
      out.Line(text.substr(0, text.size() - 1));
      return;
    }
    Status written = WriteFileAtomic(pf->out, text);
    if (!written.ok()) Fail(out, written);
    out.Line("wrote " + std::to_string(suite->expectations.size()) + " expectations to " + pf->out +
             ": review them, then run strata quality validate " + pf->out + " --relation " + pf->relation);
  });

  CLI::App* types = group->add_subcommand("types", "List the expectation types Strata runs");
  types->callback([] {
    Output out(false);
    for (const auto& t : quality::ExpectationTypes()) out.Line(t.name);
  });
}

}  // namespace strata::cli
