// strata debug | run-operation | show | parse | clean | init: dbt's verbs around the runs.
// Thin: each parses its flags, calls transform/operations.h and prints.
#include <chrono>
#include <iomanip>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/config.h"
#include "core/file.h"
#include "serve/dashboard.h"
#include "transform/dbt_project.h"
#include "transform/loader.h"
#include "transform/operations.h"
#include "transform/runner.h"
#include "transform/target.h"

namespace strata::cli {
namespace {

using nlohmann::json;

struct ProjectFlags {
  std::string project_dir = ".";
  std::string profiles_dir;
  std::string target;
  std::string vars;
  std::string target_path;
  bool warn_error = false;
  bool quiet = false;
  bool no_version_check = false;
  bool json = false;
};

void AddProjectFlags(CLI::App* sub, ProjectFlags* f, bool vars = true) {
  sub->add_option("--project-dir", f->project_dir, "The dbt project (folder with dbt_project.yml)")
      ->capture_default_str();
  sub->add_option("--profiles-dir", f->profiles_dir, "Folder with profiles.yml (default: project dir, ~/.dbt)");
  sub->add_option("-t,--target", f->target, "Profile target");
  if (vars) sub->add_option("--vars", f->vars, "YAML/JSON mapping of vars");
  sub->add_flag("-q,--quiet", f->quiet, "Print only errors and the command's result");
  sub->add_flag("--no-version-check", f->no_version_check, "Accepted for dbt compatibility (Strata checks nothing)");
  sub->add_flag("--json", f->json, "Print one JSON document");
}

std::string Fixed(double v) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(2) << v;
  return o.str();
}

transform::LoadOptions LoadOptionsOf(const ProjectFlags& f, const std::string& which, Output& out) {
  transform::LoadOptions lo;
  lo.project_dir = f.project_dir;
  lo.profiles_dir = f.profiles_dir;
  lo.target = f.target;
  lo.which = which;
  if (!f.vars.empty()) {
    auto vars = ConfigNode::Parse(f.vars, "--vars");
    if (!vars.ok()) Fail(out, vars.status(), kExitUsage);
    lo.cli_vars = vars->ToJson();
    if (!lo.cli_vars.is_object()) Fail(out, Status::InvalidArgument("--vars must be a mapping"), kExitUsage);
  }
  // The enclosing Strata project's dashboards are exposures, as in the run verbs.
  if (auto project = transform::EnclosingProject(f.project_dir)) {
    auto dashboards = serve::LoadDashboards(JoinPath(project->dir, "dashboards"));
    if (dashboards.ok()) {
      for (const auto& d : *dashboards) lo.extra_exposures.push_back(serve::ExposureOf(d));
    } else {
      out.Warning("dashboards are not exposures until they read without errors: " + dashboards.status().message());
    }
  }
  return lo;
}

// Loads the project; parse warnings are printed, or with --warn-error fail the command.
std::unique_ptr<transform::LoadedProject> LoadOrFail(const ProjectFlags& f, const transform::LoadOptions& lo,
                                                     Output& out) {
  auto loaded = transform::LoadedProject::Load(lo);
  if (!loaded.ok()) Fail(out, loaded.status(), kExitFailure);
  for (const auto& w : (*loaded)->warnings) out.Warning(w);
  if (f.warn_error && !(*loaded)->warnings.empty()) {
    Fail(out, Status::Failed("--warn-error: " + std::to_string((*loaded)->warnings.size()) + " warning(s)"));
  }
  if (!f.target_path.empty()) transform::SetTargetPath(loaded->get(), f.target_path);
  return std::move(*loaded);
}

// ---- debug ----------------------------------------------------------------------------------

void AddDebug(CLI::App* app) {
  auto f = std::make_shared<ProjectFlags>();
  CLI::App* sub = app->add_subcommand(
      "debug", "Check the project, profiles.yml, the target and the warehouse connection (dbt debug)");
  AddProjectFlags(sub, f.get(), false);
  sub->callback([f] {
    Output out(f->json);
    transform::LoadOptions lo;
    lo.project_dir = f->project_dir;
    lo.profiles_dir = f->profiles_dir;
    lo.target = f->target;
    transform::DebugReport r = transform::Debug(lo);
    out.Line(std::string("strata: ") + kStrataVersion + " (follows dbt " + transform::kDbtCompatVersion + ")");
    out.Line("project dir: " + r.project_dir);
    out.Line("profiles.yml: " + (r.profiles_file.empty() ? std::string("none found") : "using " + r.profiles_file));
    json checks = json::array();
    int failed = 0;
    std::string first_error;
    for (const auto& c : r.checks) {
      checks.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
      if (c.name == "connection" && !r.target.empty()) {
        out.Line("target:");
        for (const auto& [k, v] : r.target) out.Line("  " + k + ": " + v);
      }
      out.Line(c.name + ": " + (c.ok ? "[OK] " : "[ERROR] ") + c.detail);
      if (!c.ok) {
        ++failed;
        if (first_error.empty()) first_error = c.name + ": " + c.detail;
      }
    }
    json target = json::object();
    for (const auto& [k, v] : r.target) target[k] = v;
    if (r.ok()) {
      out.Line("All checks passed!");
    } else {
      out.Error(std::to_string(std::max(failed, 1)) + " check failed: " + first_error);
    }
    out.Json({{"ok", r.ok()},
              {"strata_version", kStrataVersion},
              {"dbt_version", transform::kDbtCompatVersion},
              {"project_dir", r.project_dir},
              {"profiles_file", r.profiles_file},
              {"target", target},
              {"checks", checks}});
    if (!r.ok()) throw CLI::RuntimeError(kExitFailure);
  });
}

// ---- run-operation ----------------------------------------------------------------------------

void AddRunOperation(CLI::App* app) {
  auto f = std::make_shared<ProjectFlags>();
  auto macro = std::make_shared<std::string>();
  auto args = std::make_shared<std::string>();
  CLI::App* sub = app->add_subcommand("run-operation",
                                      "Call a macro (name or package.name) with --args, on the target's warehouse");
  sub->add_option("macro", *macro, "The macro: name, or package.name")->required();
  sub->add_option("--args", *args, "YAML/JSON mapping of the macro's keyword arguments");
  AddProjectFlags(sub, f.get());
  sub->callback([f, macro, args] {
    Output out(f->json);
    json kwargs = json::object();
    if (!args->empty()) {
      auto parsed = ConfigNode::Parse(*args, "--args");
      if (!parsed.ok()) Fail(out, parsed.status(), kExitUsage);
      kwargs = parsed->ToJson();
      if (!kwargs.is_object()) Fail(out, Status::InvalidArgument("--args must be a mapping"), kExitUsage);
    }
    auto lo = LoadOptionsOf(*f, "run-operation", out);
    auto p = LoadOrFail(*f, lo, out);
    auto target = transform::ResolveTarget(p->project.root, p->profile);
    if (!target.ok()) Fail(out, target.status());
    transform::TargetSession session(*target);
    if (!f->quiet) out.Line("Running operation " + *macro + " on " + target->Describe());
    auto t0 = std::chrono::steady_clock::now();
    auto result = transform::RunOperation(*p, *macro, kwargs, session.Fn());
    if (!result.ok()) {
      Fail(out, result.status().WithContext("Encountered an error while running operation " + *macro),
           result.status().code() == Status::Code::kNotFound ? kExitUsage : kExitFailure);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!result->empty()) out.Line(*result);
    if (!f->quiet) out.Line("Finished operation " + *macro + " in " + Fixed(s) + "s");
    out.Json({{"ok", true}, {"macro", *macro}, {"result", *result}, {"elapsed", s}});
  });
}

// ---- show -------------------------------------------------------------------------------------

void AddShow(CLI::App* app) {
  auto f = std::make_shared<ProjectFlags>();
  auto o = std::make_shared<transform::ShowOptions>();
  auto output = std::make_shared<std::string>("text");
  CLI::App* sub = app->add_subcommand(
      "show", "Compile a model (or inline SQL) and preview its first rows, without building anything");
  auto* select = sub->add_option("-s,--select", o->select, "The model, seed, snapshot or test to preview");
  auto* inl = sub->add_option("--inline", o->inline_sql, "SQL (with ref, source, macros) to preview instead");
  select->excludes(inl);
  sub->add_option("--limit", o->limit, "Rows to fetch (-1: all)")->capture_default_str();
  sub->add_option("--output", *output, "text (a table) or json ({\"node\", \"show\": [rows]})")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  AddProjectFlags(sub, f.get());
  sub->callback([f, o, output] {
    Output out(f->json);
    if (o->select.empty() && o->inline_sql.empty()) {
      Fail(out, Status::InvalidArgument("show needs -s MODEL or --inline SQL"), kExitUsage);
    }
    auto lo = LoadOptionsOf(*f, "show", out);
    auto p = LoadOrFail(*f, lo, out);
    auto target = transform::ResolveTarget(p->project.root, p->profile);
    if (!target.ok()) Fail(out, target.status());
    transform::TargetSession session(*target);
    auto r = transform::Show(p.get(), *o, &session);
    if (!r.ok()) Fail(out, r.status(), kExitFailure);
    json rows = transform::RowsToJson(r->rows);
    if (*output == "json") {
      out.Line(json{{"node", r->node}, {"show", rows}}.dump());
    } else {
      out.Line(o->inline_sql.empty() ? "Previewing node '" + r->node + "':" : std::string("Previewing inline node:"));
      std::string table = transform::FormatTable(r->rows);
      if (!table.empty() && table.back() == '\n') table.pop_back();
      out.Line(table);
    }
    out.Json({{"ok", true}, {"node", r->node}, {"compiled_sql", r->compiled_sql}, {"show", rows}});
  });
}

// ---- parse ------------------------------------------------------------------------------------

void AddParse(CLI::App* app) {
  auto f = std::make_shared<ProjectFlags>();
  CLI::App* sub = app->add_subcommand("parse", "Parse the project and write target/manifest.json");
  AddProjectFlags(sub, f.get());
  sub->add_option("--target-path", f->target_path, "Where manifest.json goes (relative to the project, or absolute)")
      ->envname("DBT_TARGET_PATH");
  sub->add_flag("--warn-error", f->warn_error, "Parse warnings are errors");
  sub->callback([f] {
    Output out(f->json);
    auto t0 = std::chrono::steady_clock::now();
    auto lo = LoadOptionsOf(*f, "parse", out);
    auto p = LoadOrFail(*f, lo, out);
    const double parse_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    transform::Runner runner(p.get(), nullptr);
    transform::RunOptions ro;
    Status written = runner.WriteArtifacts(nullptr, ro);
    if (!written.ok()) Fail(out, written.WithContext("writing the manifest"));
    std::map<std::string, int> counts;
    for (const auto& [id, n] : p->manifest.nodes()) ++counts[transform::NodeTypeName(n.type)];
    std::string summary;
    json jcounts = json::object();
    for (const auto& [type, n] : counts) {
      summary += (summary.empty() ? "" : ", ") + std::to_string(n) + " " + type + (n == 1 ? "" : "s");
      jcounts[type] = n;
    }
    const std::string manifest = transform::TargetDir(p->project) + "/manifest.json";
    if (!f->quiet) {
      out.Line("Parsed " + p->project.name + ": " + (summary.empty() ? std::string("no nodes") : summary) + " in " +
               Fixed(parse_s) + "s");
      out.Line("Wrote " + manifest);
    }
    out.Json({{"ok", true}, {"counts", jcounts}, {"elapsed", parse_s}, {"manifest", manifest}});
  });
}

// ---- clean ------------------------------------------------------------------------------------

void AddClean(CLI::App* app) {
  auto f = std::make_shared<ProjectFlags>();
  auto project_files_only = std::make_shared<bool>(true);
  CLI::App* sub = app->add_subcommand("clean", "Delete the project's clean-targets (default: its target-path)");
  sub->add_option("--project-dir", f->project_dir, "The dbt project (folder with dbt_project.yml)")
      ->capture_default_str();
  sub->add_flag("--clean-project-files-only,!--no-clean-project-files-only", *project_files_only,
                "Refuse clean-targets outside the project (the default); the --no- form deletes them too");
  sub->add_flag("-q,--quiet", f->quiet, "Print only errors");
  sub->add_flag("--json", f->json, "Print one JSON document");
  sub->callback([f, project_files_only] {
    Output out(f->json);
    auto project = transform::DbtProject::Load(f->project_dir);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    auto r = transform::Clean(*project, *project_files_only);
    if (!r.ok()) Fail(out, r.status(), kExitFailure);
    if (!f->quiet) {
      for (const auto& p : r->removed) out.Line("Cleaned " + p);
      for (const auto& p : r->missing) out.Line("Nothing to clean at " + p + " (does not exist)");
      out.Line("Finished cleaning all paths.");
    }
    out.Json({{"ok", true}, {"removed", r->removed}, {"missing", r->missing}});
  });
}

// ---- init -------------------------------------------------------------------------------------

void AddInit(CLI::App* app) {
  auto name = std::make_shared<std::string>();
  auto json_out = std::make_shared<bool>(false);
  CLI::App* sub = app->add_subcommand(
      "init", "Create a new dbt project in ./NAME (dbt's starter project, built in a DuckDB file beside it)");
  sub->add_option("name", *name, "The project's name (letters, digits, _); also its folder");
  sub->add_flag("--json", *json_out, "Print one JSON document");
  sub->callback([name, json_out] {
    Output out(*json_out);
    if (name->empty())
      Fail(out, Status::InvalidArgument("init needs the project's name: strata init NAME"), kExitUsage);
    auto files = transform::InitProject(".", *name);
    if (!files.ok()) Fail(out, files.status(), kExitUsage);
    out.Line("Created the dbt project " + *name + " in ./" + *name + ":");
    for (const auto& file : *files) {
      if (file.find(".gitkeep") == std::string::npos) out.Line("  " + file);
    }
    out.Line("Next: cd " + *name + " && strata debug && strata build");
    out.Json({{"ok", true}, {"project", *name}, {"files", *files}});
  });
}

}  // namespace

void RegisterDbtVerbs(CLI::App* app) {
  AddDebug(app);
  AddRunOperation(app);
  AddShow(app);
  AddParse(app);
  AddClean(app);
  AddInit(app);
}

}  // namespace strata::cli
