// strata compile | run | build | test | seed | snapshot | ls | retry: dbt's verbs, with dbt's
// flags (--warn-error, --fail-fast, --empty, --store-failures, --target-path, --log-format).
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/file.h"
#include "db/duckdb.h"
#include "serve/dashboard.h"
#include "transform/artifacts.h"
#include "transform/dbt_project.h"
#include "transform/defer.h"
#include "transform/loader.h"
#include "transform/operations.h"
#include "transform/runner.h"
#include "transform/target.h"

namespace strata::cli {
namespace {

using nlohmann::json;
using transform::Verb;

struct DbtFlags {
  std::string project_dir = ".";
  std::string profiles_dir;
  std::string target;
  std::string vars;
  bool full_refresh = false;
  int threads = 0;
  std::vector<std::string> select, exclude;
  bool fail_fast = false;
  bool json = false;
  bool warn_error = false;
  bool empty = false;
  bool store_failures = false;
  std::string target_path;
  std::string log_format = "text";
  bool quiet = false;
  bool no_version_check = false;  // accepted: there is no version to check against
  // ls
  std::string output = "selector";
  std::vector<std::string> output_keys;
  std::vector<std::string> resource_types, exclude_resource_types;
  // selection (dbt 1.8): --state <dir of a previous manifest.json>, --indirect-selection
  std::string state_dir;
  std::string indirect_selection = "eager";
  // --defer: unselected nodes read from the environment of --defer-state (else --state)
  bool defer = false;
  bool favor_state = false;
  std::string defer_state_dir;
};

std::string Fixed(double v) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(2) << v;
  return o.str();
}

// What a verb prints: plain lines, or with --log-format json one JSON object per line (dbt's
// structured log shape). --quiet keeps only errors and the verb's own output (ls).
class VerbLog {
 public:
  VerbLog(Output& out, const DbtFlags& f) : out_(out), json_lines_(f.log_format == "json"), quiet_(f.quiet) {}
  void set_invocation_id(std::string id) { invocation_id_ = std::move(id); }
  void Info(const std::string& name, const std::string& msg, const json& data = json::object()) {
    if (!quiet_) Print("info", name, msg, data);
  }
  // Shown under --quiet too: what the command is for (ls lines).
  void Result(const std::string& name, const std::string& msg, const json& data = json::object()) {
    Print("info", name, msg, data);
  }
  void Warn(const std::string& msg) {
    if (json_lines_) {
      out_.Line(transform::LogLineJson("warn", "Warning", msg, json::object(), invocation_id_));
    } else {
      out_.Warning(msg);
    }
  }
  void Error(const std::string& msg) {
    if (json_lines_) {
      out_.Line(transform::LogLineJson("error", "Error", msg, json::object(), invocation_id_));
    } else {
      out_.Error(msg);
    }
  }

 private:
  void Print(const char* level, const std::string& name, const std::string& msg, const json& data) {
    out_.Line(json_lines_ ? transform::LogLineJson(level, name, msg, data, invocation_id_) : msg);
  }
  Output& out_;
  bool json_lines_;
  bool quiet_;
  std::string invocation_id_;
};

// The args retry repeats (run_results.json's `args`, beside the runner's `which`).
json RunArgs(const DbtFlags& f, const transform::LoadedProject& p, const json& cli_vars) {
  return {{"select", f.select},
          {"exclude", f.exclude},
          {"vars", cli_vars},
          {"target", p.profile.target},
          {"profiles_dir", f.profiles_dir},
          {"project_dir", p.project.root},
          {"full_refresh", f.full_refresh},
          {"threads", f.threads > 0 ? f.threads : p.profile.threads},
          {"fail_fast", f.fail_fast},
          {"warn_error", f.warn_error},
          {"empty", f.empty},
          {"store_failures", f.store_failures},
          {"target_path", f.target_path}};
}

// Runs one verb; the machine-readable summary goes to *doc (the caller prints it). With
// `only`, exactly those nodes run (retry) instead of the selection.
int RunVerb(Verb verb, const DbtFlags& f, Output& out, json* doc, const std::set<std::string>* only = nullptr) {
  VerbLog log(out, f);
  auto fail = [&](const Status& s, int code) {
    log.Error(s.message());
    *doc = {{"ok", false}, {"error", s.message()}};
    return code;
  };
  transform::LoadOptions lo;
  lo.project_dir = f.project_dir;
  lo.profiles_dir = f.profiles_dir;
  lo.target = f.target;
  lo.full_refresh = f.full_refresh;
  lo.empty = f.empty;
  lo.which = verb == Verb::kFreshness ? "freshness" : transform::VerbName(verb);
  if (!f.vars.empty()) {
    auto vars = ConfigNode::Parse(f.vars, "--vars");
    if (!vars.ok()) return fail(vars.status(), kExitUsage);  // "--vars:1:5: invalid YAML: ..."
    lo.cli_vars = vars->ToJson();
    if (!lo.cli_vars.is_object()) return fail(Status::InvalidArgument("--vars must be a mapping"), kExitUsage);
  }
  // The enclosing Strata project's dashboards are exposures: `-s +exposure:overview` builds
  // what a dashboard reads.
  if (auto project = transform::EnclosingProject(f.project_dir)) {
    auto dashboards = serve::LoadDashboards(JoinPath(project->dir, "dashboards"));
    if (!dashboards.ok()) {
      log.Warn("dashboards are not exposures until they read without errors: " + dashboards.status().message());
    } else {
      for (const auto& d : *dashboards) lo.extra_exposures.push_back(serve::ExposureOf(d));
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  auto loaded = transform::LoadedProject::Load(lo);
  if (!loaded.ok()) return fail(loaded.status(), kExitFailure);
  transform::LoadedProject& p = **loaded;
  log.set_invocation_id(p.settings.invocation_id);
  for (const auto& w : p.warnings) {
    if (f.warn_error) {
      log.Error(w + " (an error with --warn-error)");
    } else {
      log.Warn(w);
    }
  }
  if (f.warn_error && !p.warnings.empty()) {
    *doc = {{"ok", false},
            {"error", "--warn-error: " + std::to_string(p.warnings.size()) + " warning(s) while parsing"}};
    return kExitFailure;
  }
  double parse_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!f.target_path.empty()) transform::SetTargetPath(&p, f.target_path);
  if (f.store_failures) transform::StoreFailures(&p);
  if (f.warn_error) transform::TestWarningsAsErrors(&p);

  transform::RunOptions ro;
  ro.verb = verb;
  ro.selection.select = f.select;
  ro.selection.exclude = f.exclude;
  ro.selection.indirect_selection = f.indirect_selection;
  if (verb != Verb::kList) ro.selection.resource_types = f.resource_types;
  // A manifest.json of another invocation, for --state and --defer-state.
  auto read_manifest = [](const std::string& flag, const std::string& dir) -> Result<json> {
    const std::string path = JoinPath(dir, "manifest.json");
    auto text = ReadFile(path);
    if (!text.ok()) return Status::InvalidArgument(flag + ": " + text.status().message());
    try {
      return json::parse(*text);
    } catch (const json::exception& e) {
      return Status::InvalidArgument(flag + ": " + path + " is not JSON: " + e.what());
    }
  };
  json state, defer_state;
  if (!f.state_dir.empty()) {
    auto read = read_manifest("--state", f.state_dir);
    if (!read.ok()) return fail(read.status(), kExitUsage);
    state = std::move(*read);
    ro.selection.state = &state;
  }
  if (f.defer || f.favor_state) {
    if (f.defer_state_dir.empty() && f.state_dir.empty()) {
      return fail(Status::InvalidArgument("--defer needs --state (or --defer-state): the folder of the manifest.json "
                                          "of the environment to read unselected nodes from"),
                  kExitUsage);
    }
    if (!f.defer_state_dir.empty()) {
      auto read = read_manifest("--defer-state", f.defer_state_dir);
      if (!read.ok()) return fail(read.status(), kExitUsage);
      defer_state = std::move(*read);
    } else {
      defer_state = state;
    }
  }
  ro.threads = f.threads;
  ro.full_refresh = f.full_refresh;
  ro.fail_fast = f.fail_fast;
  if (only != nullptr) {
    std::vector<std::string> missing;
    ro.selection = transform::SelectExactly(p, *only, &missing);
    for (const auto& id : missing) log.Warn("not retried: " + id + " is no longer in the project");
    if (ro.selection.select.empty()) {
      log.Info("Nothing", "Nothing to retry: the nodes that failed are no longer in the project");
      *doc = {{"ok", true}, {"results", json::array()}};
      return kExitOk;
    }
  }

  if (verb == Verb::kList) {
    auto graph_sel = transform::SelectNodes(p.manifest, p.graph, ro.selection);
    if (!graph_sel.ok()) return fail(graph_sel.status(), kExitUsage);
    std::set<std::string> types(f.resource_types.begin(), f.resource_types.end());
    if (types.count("all") || types.count("default")) types.clear();
    const std::set<std::string> excluded(f.exclude_resource_types.begin(), f.exclude_resource_types.end());
    std::vector<std::string> keys;
    for (const auto& k : f.output_keys) {  // "a,b" and "a b" as well as repeated flags
      std::string item;
      for (char c : k + ",") {
        if (c == ',' || c == ' ') {
          if (!item.empty()) keys.push_back(item);
          item.clear();
        } else {
          item.push_back(c);
        }
      }
    }
    json items = json::array();
    for (const auto& id : *graph_sel) {
      const auto* n = p.manifest.Find(id);
      const std::string type = transform::NodeTypeName(n->type);
      if ((!types.empty() && !types.count(type)) || excluded.count(type)) continue;
      std::string line;
      if (f.output == "json") {
        line = transform::ListJson(*n, keys).dump();
      } else if (f.output == "name") {
        line = transform::ListName(*n);
      } else if (f.output == "path") {
        line = n->path;
      } else {
        line = transform::ListSelector(*n);
      }
      log.Result("ListCmdOut", line);
      items.push_back({{"unique_id", id}, {"resource_type", type}, {"fqn", transform::ListSelector(*n)}});
    }
    *doc = {{"ok", true}, {"nodes", items}};
    return kExitOk;
  }

  auto target = transform::ResolveTarget(p.project.root, p.profile);
  if (!target.ok()) return fail(target.status(), kExitFailure);
  log.Info("FoundStats", "Found " + std::to_string(p.manifest.nodes().size()) + " nodes in " + p.project.name +
                             " (parsed in " + Fixed(parse_s) + "s); target '" + p.profile.target + "' (" +
                             target->Describe() + ")");
  std::unique_ptr<warehouse::OpenTarget> open;  // outlives the engine
  std::unique_ptr<warehouse::Engine> db;
  // Compiling connects too, for the introspection macros run (run_query, star, ...); a
  // warehouse that cannot be opened fails only the nodes that query it.
  {
    auto opened = warehouse::OpenTarget::Open(*target, {});
    if (opened.ok()) {
      open = std::move(*opened);
      auto engine = open->NewEngine();
      if (engine.ok()) {
        db = std::move(*engine);
      } else if (verb != Verb::kCompile) {
        return fail(engine.status(), kExitFailure);
      }
    } else if (verb != Verb::kCompile) {
      return fail(opened.status(), kExitFailure);
    }
  }
  if ((f.defer || f.favor_state) && verb != Verb::kList) {
    auto selected = transform::SelectNodes(p.manifest, p.graph, ro.selection);
    if (!selected.ok()) return fail(selected.status(), kExitUsage);
    std::unique_ptr<warehouse::Session> session;
    if (db != nullptr) {
      auto connected = db->Connect();
      if (!connected.ok()) return fail(connected.status(), kExitFailure);
      session = std::move(*connected);
    }
    transform::DeferOptions defer;
    defer.state = &defer_state;
    defer.favor_state = f.favor_state;
    auto deferred = transform::DeferUnselected(&p, *selected, session.get(), defer);
    if (!deferred.ok()) return fail(deferred.status(), kExitUsage);
    if (!deferred->empty()) {
      log.Info("Deferred",
               "Deferred " + std::to_string(deferred->size()) + " unselected node(s) to the state's relations");
    }
  }
  transform::Runner runner(&p, db.get());
  int index = 0;
  ro.on_result = [&](const transform::NodeResult& r) {
    ++index;
    std::string what = r.resource_type == "model" ? r.materialized + " model"
                       : verb == Verb::kFreshness ? "freshness of source"
                                                  : r.resource_type;
    std::string status = r.status == "warn" && f.warn_error ? "fail" : r.status;
    for (auto& c : status) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string line = std::to_string(index) + " " + status + " " + what + " " + r.name;
    if (r.rows_affected >= 0) line += " (" + std::to_string(r.rows_affected) + " rows)";
    if (r.failures > 0) line += " (" + std::to_string(r.failures) + " failing)";
    line += " in " + Fixed(r.seconds) + "s";
    json data = transform::ToJson(r);
    data["resource_type"] = r.resource_type;
    data["name"] = r.name;
    // Failures stay visible under --quiet.
    const bool failed = r.status == "error" || r.status == "fail" || (r.status == "warn" && f.warn_error);
    if (failed) {
      log.Result("NodeFinished", line, {{"node_info", data}});
    } else {
      log.Info("NodeFinished", line, {{"node_info", data}});
    }
    if (!r.message.empty() && r.status != "success" && r.status != "pass") {
      if (failed) {
        log.Result("NodeMessage", "    " + r.message);
      } else {
        log.Info("NodeMessage", "    " + r.message);
      }
    }
  };
  auto results = runner.Execute(ro);
  if (!results.ok()) return fail(results.status(), kExitUsage);
  // The invocation's arguments go into run_results.json as it is written (retry reads them).
  transform::ArtifactExtras extras;
  if (verb != Verb::kFreshness) {
    extras.args = RunArgs(f, p, lo.cli_vars);
    extras.warn_error = f.warn_error;
  }
  Status written = transform::WriteDbtArtifacts(p, &*results, ro, extras);
  if (!written.ok()) log.Error("writing artifacts: " + written.message());

  // With --warn-error, a check that still ends in warn (warn_if met, error_if not) fails.
  const int warns = results->Count("warn");
  const bool warn_failed = f.warn_error && warns > 0;
  log.Info("StatsLine", "Done in " + Fixed(results->elapsed) +
                            "s. PASS/OK=" + std::to_string(results->Count("success") + results->Count("pass")) +
                            " WARN=" + std::to_string(f.warn_error ? 0 : warns) +
                            " ERROR=" + std::to_string(results->Count("error")) +
                            " FAIL=" + std::to_string(results->Count("fail") + (f.warn_error ? warns : 0)) +
                            " SKIP=" + std::to_string(results->Count("skipped")) +
                            " TOTAL=" + std::to_string(results->results.size()));
  if (warn_failed) log.Error("--warn-error: " + std::to_string(warns) + " warning(s) are errors");
  json rs = json::array();
  for (const auto& r : results->results) {
    json j = transform::ToJson(r);
    if (f.warn_error && r.status == "warn") j["status"] = "fail";
    rs.push_back(j);
  }
  // Artifacts that could not be written (a read-only or full target/) fail the command: tools
  // that read run_results.json would otherwise see the previous run's.
  const bool ok = results->success() && written.ok() && !warn_failed;
  *doc = {{"ok", ok}, {"elapsed", results->elapsed}, {"results", rs}};
  if (!written.ok()) (*doc)["error"] = "writing artifacts: " + written.message();
  return ok ? kExitOk : kExitFailure;
}

// The flags every dbt verb takes.
void AddCommonFlags(CLI::App* sub, DbtFlags* f) {
  sub->add_option("--project-dir", f->project_dir, "The dbt project (folder with dbt_project.yml)")
      ->capture_default_str();
  sub->add_option("--profiles-dir", f->profiles_dir, "Folder with profiles.yml (default: project dir, ~/.dbt)");
  sub->add_option("-t,--target", f->target, "Profile target");
  sub->add_option("--vars", f->vars, "YAML/JSON mapping of vars");
  sub->add_option("--target-path", f->target_path,
                  "Where artifacts and compiled SQL go (relative to the project, or absolute; default target-path)")
      ->envname("DBT_TARGET_PATH");
  sub->add_flag("--warn-error", f->warn_error, "Warnings (parse warnings, warn-severity tests) are errors");
  sub->add_option("--log-format", f->log_format, "text, or json: one JSON object per line (dbt's structured logs)")
      ->check(CLI::IsMember({"text", "json", "default"}))
      ->capture_default_str();
  sub->add_flag("-q,--quiet", f->quiet, "Print only errors (and what ls lists)");
  sub->add_flag("--no-version-check", f->no_version_check, "Accepted for dbt compatibility (Strata checks nothing)");
  sub->add_flag("--json", f->json, "Print one JSON document");
}

void AddVerb(CLI::App* app, Verb verb, const std::string& help) {
  auto f = std::make_shared<DbtFlags>();
  CLI::App* sub = app->add_subcommand(transform::VerbName(verb), help);
  AddCommonFlags(sub, f.get());
  sub->add_option("-s,--select,-m,--models", f->select, "Selection (dbt syntax)");
  sub->add_option("--exclude", f->exclude, "Exclusion (dbt syntax)");
  sub->add_option("--state", f->state_dir, "Folder with a previous manifest.json, for state:new / state:modified");
  if (verb != Verb::kList) {
    sub->add_flag("--defer", f->defer,
                  "Unselected nodes the target lacks are read from the --state (or --defer-state) environment");
    sub->add_flag("--favor-state", f->favor_state, "With --defer: read every unselected node from the state");
    sub->add_option("--defer-state", f->defer_state_dir, "Folder of the manifest.json --defer reads (else --state)");
  }
  sub->add_option("--indirect-selection", f->indirect_selection,
                  "Which tests follow the selected nodes: eager (default), cautious, buildable, empty")
      ->check(CLI::IsMember({"eager", "cautious", "buildable", "empty"}));
  if (verb != Verb::kList) {
    sub->add_option("--resource-type,--resource-types", f->resource_types, "Only nodes of this type (repeatable)")
        ->check(CLI::IsMember({"model", "test", "seed", "snapshot", "source", "exposure", "unit_test"}));
  }
  if (verb != Verb::kList && verb != Verb::kCompile) {
    sub->add_option("--threads", f->threads, "Parallel nodes (default: the profile's threads)")
        ->check(CLI::Range(1, kMaxThreads));
  }
  if (verb != Verb::kList && verb != Verb::kCompile && verb != Verb::kFreshness) {
    sub->add_flag("--full-refresh", f->full_refresh, "Rebuild incremental models and seeds from scratch");
    sub->add_flag("-x,--fail-fast", f->fail_fast, "Stop at the first failure");
  }
  if (verb == Verb::kRun || verb == Verb::kBuild) {
    sub->add_flag("--empty", f->empty, "Build with no rows: ref() and source() read nothing (schema-only dry run)");
  }
  if (verb == Verb::kTest || verb == Verb::kBuild) {
    sub->add_flag("--store-failures", f->store_failures,
                  "Keep failing rows of every test (unless it sets store_failures) in <schema>_dbt_test__audit");
  }
  if (verb == Verb::kList) {
    sub->alias("list");
    sub->add_option("--output", f->output, "selector (default), name, path or json")
        ->check(CLI::IsMember({"selector", "name", "path", "json"}))
        ->capture_default_str();
    sub->add_option("--output-keys", f->output_keys, "With --output json: the keys to print (a,b or repeated)");
    sub->add_option("--resource-type,--resource-types", f->resource_types, "Only nodes of this type (repeatable)")
        ->check(
            CLI::IsMember({"model", "test", "seed", "snapshot", "source", "exposure", "unit_test", "all", "default"}));
    sub->add_option("--exclude-resource-type,--exclude-resource-types", f->exclude_resource_types,
                    "Leave out nodes of this type (repeatable)")
        ->check(CLI::IsMember({"model", "test", "seed", "snapshot", "source", "exposure", "unit_test"}));
  }
  sub->callback([verb, f] {
    Output out(f->json);
    json doc;
    int code = RunVerb(verb, *f, out, &doc);
    out.Json(doc);
    if (code != kExitOk) throw CLI::RuntimeError(code);
  });
}

// strata retry: the previous invocation's failed, erroring and skipped nodes, with its verb
// and flags (run_results.json), once more.
void AddRetry(CLI::App* app) {
  auto f = std::make_shared<DbtFlags>();
  CLI::App* sub = app->add_subcommand(
      "retry", "Run again the nodes the previous run, build, test, seed, snapshot or compile failed or skipped");
  AddCommonFlags(sub, f.get());
  sub->add_option("--threads", f->threads, "Parallel nodes (default: the previous invocation's)")
      ->check(CLI::Range(1, kMaxThreads));
  sub->callback([f, sub] {
    Output out(f->json);
    VerbLog log(out, *f);
    auto project = transform::DbtProject::Load(f->project_dir);
    if (!project.ok()) {
      log.Error(project.status().message());
      out.Json({{"ok", false}, {"error", project.status().message()}});
      throw CLI::RuntimeError(kExitUsage);
    }
    if (!f->target_path.empty()) project->target_path = f->target_path;
    const std::string results = transform::TargetDir(*project) + "/run_results.json";
    auto plan = transform::PlanRetry(results, f->warn_error);
    if (!plan.ok()) {
      log.Error(plan.status().message());
      out.Json({{"ok", false}, {"error", plan.status().message()}});
      throw CLI::RuntimeError(UsageCode(plan.status()));
    }
    if (plan->unique_ids.empty()) {
      log.Info("Nothing", "Nothing to retry: the previous " + plan->which + " had no errors, failures or skips");
      out.Json({{"ok", true}, {"which", plan->which}, {"results", json::array()}});
      return;
    }
    // The previous invocation's flags, unless given again.
    const json& a = plan->args;
    DbtFlags g = *f;
    // Recorded again as the invocation's selection; what runs is exactly plan->unique_ids.
    for (const char* key : {"select", "exclude"}) {
      auto& to = std::string(key) == "select" ? g.select : g.exclude;
      if (a.contains(key) && a[key].is_array()) {
        for (const auto& s : a[key]) {
          if (s.is_string()) to.push_back(s.get<std::string>());
        }
      }
    }
    if (sub->count("--vars") == 0 && a.contains("vars") && a["vars"].is_object() && !a["vars"].empty()) {
      g.vars = a["vars"].dump();
    }
    if (sub->count("--target") == 0) g.target = a.value("target", std::string());
    if (sub->count("--profiles-dir") == 0) g.profiles_dir = a.value("profiles_dir", std::string());
    if (sub->count("--threads") == 0) g.threads = a.value("threads", 0);
    if (sub->count("--target-path") == 0) g.target_path = a.value("target_path", std::string());
    g.full_refresh = a.value("full_refresh", false);
    g.fail_fast = a.value("fail_fast", false);
    g.empty = a.value("empty", false);
    g.store_failures = a.value("store_failures", false);
    g.warn_error = f->warn_error || a.value("warn_error", false);
    Verb verb = Verb::kBuild;
    for (Verb v : {Verb::kCompile, Verb::kRun, Verb::kBuild, Verb::kTest, Verb::kSeed, Verb::kSnapshot}) {
      if (plan->which == transform::VerbName(v)) verb = v;
    }
    log.Info("Retry",
             "Retrying " + std::to_string(plan->unique_ids.size()) + " node(s) of the previous " + plan->which);
    json doc;
    int code = RunVerb(verb, g, out, &doc, &plan->unique_ids);
    doc["which"] = plan->which;
    out.Json(doc);
    if (code != kExitOk) throw CLI::RuntimeError(code);
  });
}

}  // namespace

void RegisterTransformCommands(CLI::App* app) {
  AddVerb(app, Verb::kCompile, "Compile models and tests to SQL (target/compiled)");
  AddVerb(app, Verb::kRun, "Build the selected models");
  AddVerb(app, Verb::kBuild, "Seeds, snapshots, models and their tests, in DAG order");
  AddVerb(app, Verb::kTest, "Run data tests and unit tests");
  AddVerb(app, Verb::kSeed, "Load CSV seeds");
  AddVerb(app, Verb::kSnapshot, "Run snapshots (SCD Type 2)");
  AddVerb(app, Verb::kList, "List the selected nodes");
  AddRetry(app);
  CLI::App* source = app->add_subcommand("source", "Source commands (freshness)");
  source->require_subcommand(1);
  AddVerb(source, Verb::kFreshness, "Check the freshness of sources that declare it (target/sources.json)");
}

}  // namespace strata::cli
