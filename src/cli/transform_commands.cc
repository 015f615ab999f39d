// strata compile | run | build | test | seed | snapshot | ls: dbt's verbs, with dbt's flags.
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <mutex>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/file.h"
#include "db/duckdb.h"
#include "serve/dashboard.h"
#include "transform/dbt_project.h"
#include "transform/loader.h"
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
};

std::string Fixed(double v) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(2) << v;
  return o.str();
}

// Runs one verb; the machine-readable summary goes to *doc (the caller prints it).
int RunVerb(Verb verb, const DbtFlags& f, Output& out, json* doc) {
  auto fail = [&](const Status& s, int code) {
    out.Error(s.message());
    *doc = {{"ok", false}, {"error", s.message()}};
    return code;
  };
  transform::LoadOptions lo;
  lo.project_dir = f.project_dir;
  lo.profiles_dir = f.profiles_dir;
  lo.target = f.target;
  lo.full_refresh = f.full_refresh;
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
      out.Warning("dashboards are not exposures until they read without errors: " + dashboards.status().message());
    } else {
      for (const auto& d : *dashboards) lo.extra_exposures.push_back(serve::ExposureOf(d));
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  auto loaded = transform::LoadedProject::Load(lo);
  if (!loaded.ok()) return fail(loaded.status(), kExitFailure);
  transform::LoadedProject& p = **loaded;
  for (const auto& w : p.warnings) out.Warning(w);
  double parse_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  transform::RunOptions ro;
  ro.verb = verb;
  ro.selection.select = f.select;
  ro.selection.exclude = f.exclude;
  ro.threads = f.threads;
  ro.full_refresh = f.full_refresh;
  ro.fail_fast = f.fail_fast;

  if (verb == Verb::kList) {
    auto graph_sel = transform::SelectNodes(p.manifest, p.graph, ro.selection);
    if (!graph_sel.ok()) return fail(graph_sel.status(), kExitUsage);
    json items = json::array();
    for (const auto& id : *graph_sel) {
      const auto* n = p.manifest.Find(id);
      std::string fqn;
      for (const auto& part : n->fqn) fqn += (fqn.empty() ? "" : ".") + part;
      if (n->type == transform::NodeType::kSource) fqn = "source:" + fqn;
      if (n->type == transform::NodeType::kExposure) fqn = "exposure:" + fqn;
      out.Line(fqn);
      items.push_back({{"unique_id", id}, {"resource_type", transform::NodeTypeName(n->type)}, {"fqn", fqn}});
    }
    *doc = {{"ok", true}, {"nodes", items}};
    return kExitOk;
  }

  auto target = transform::ResolveTarget(p.project.root, p.profile);
  if (!target.ok()) return fail(target.status(), kExitFailure);
  out.Line("Found " + std::to_string(p.manifest.nodes().size()) + " nodes in " + p.project.name + " (parsed in " +
           Fixed(parse_s) + "s); target '" + p.profile.target + "' (" + target->Describe() + ")");
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
  transform::Runner runner(&p, db.get());
  int index = 0;
  std::mutex mu;
  ro.on_result = [&](const transform::NodeResult& r) {
    ++index;
    std::string what = r.resource_type == "model" ? r.materialized + " model"
                       : verb == Verb::kFreshness ? "freshness of source"
                                                  : r.resource_type;
    std::string status = r.status;
    for (auto& c : status) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string line = std::to_string(index) + " " + status + " " + what + " " + r.name;
    if (r.rows_affected >= 0) line += " (" + std::to_string(r.rows_affected) + " rows)";
    if (r.failures > 0) line += " (" + std::to_string(r.failures) + " failing)";
    line += " in " + Fixed(r.seconds) + "s";
    out.Line(line);
    if (!r.message.empty() && r.status != "success" && r.status != "pass") out.Line("    " + r.message);
  };
  auto results = runner.Execute(ro);
  if (!results.ok()) return fail(results.status(), kExitUsage);
  Status written = runner.WriteArtifacts(&*results, ro);
  if (!written.ok()) out.Error("writing artifacts: " + written.message());

  out.Line("Done in " + Fixed(results->elapsed) +
           "s. PASS/OK=" + std::to_string(results->Count("success") + results->Count("pass")) +
           " WARN=" + std::to_string(results->Count("warn")) + " ERROR=" + std::to_string(results->Count("error")) +
           " FAIL=" + std::to_string(results->Count("fail")) + " SKIP=" + std::to_string(results->Count("skipped")) +
           " TOTAL=" + std::to_string(results->results.size()));
  json rs = json::array();
  for (const auto& r : results->results) {
    rs.push_back(transform::ToJson(r));
  }
  // Artifacts that could not be written (a read-only or full target/) fail the command: tools
  // that read run_results.json would otherwise see the previous run's.
  const bool ok = results->success() && written.ok();
  *doc = {{"ok", ok}, {"elapsed", results->elapsed}, {"results", rs}};
  if (!written.ok()) (*doc)["error"] = "writing artifacts: " + written.message();
  return ok ? kExitOk : kExitFailure;
}

void AddVerb(CLI::App* app, Verb verb, const std::string& help) {
  auto f = std::make_shared<DbtFlags>();
  CLI::App* sub = app->add_subcommand(transform::VerbName(verb), help);
  sub->add_option("--project-dir", f->project_dir, "The dbt project (folder with dbt_project.yml)")
      ->capture_default_str();
  sub->add_option("--profiles-dir", f->profiles_dir, "Folder with profiles.yml (default: project dir, ~/.dbt)");
  sub->add_option("-t,--target", f->target, "Profile target");
  sub->add_option("--vars", f->vars, "YAML/JSON mapping of vars");
  sub->add_option("-s,--select,-m,--models", f->select, "Selection (dbt syntax)");
  sub->add_option("--exclude", f->exclude, "Exclusion (dbt syntax)");
  sub->add_flag("--json", f->json, "Print one JSON document");
  if (verb != Verb::kList && verb != Verb::kCompile) {
    sub->add_option("--threads", f->threads, "Parallel nodes (default: the profile's threads)")
        ->check(CLI::Range(1, kMaxThreads));
  }
  if (verb != Verb::kList && verb != Verb::kCompile && verb != Verb::kFreshness) {
    sub->add_flag("--full-refresh", f->full_refresh, "Rebuild incremental models and seeds from scratch");
    sub->add_flag("-x,--fail-fast", f->fail_fast, "Stop at the first failure");
  }
  sub->callback([verb, f] {
    Output out(f->json);
    json doc;
    int code = RunVerb(verb, *f, out, &doc);
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
  CLI::App* source = app->add_subcommand("source", "Source commands (freshness)");
  source->require_subcommand(1);
  AddVerb(source, Verb::kFreshness, "Check the freshness of sources that declare it (target/sources.json)");
}

}  // namespace strata::cli
