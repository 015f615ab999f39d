// strata deps: dbt's package installer (packages.yml -> dbt_packages/, package-lock.yml).
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output.h"
#include "transform/deps.h"

namespace strata::cli {

namespace {

using nlohmann::json;

struct DepsFlags {
  std::string project_dir = ".";
  bool upgrade = false;
  bool json = false;
};

}  // namespace

void RegisterDepsCommand(CLI::App* app) {
  auto f = std::make_shared<DepsFlags>();
  CLI::App* sub = app->add_subcommand(
      "deps", "Install the dbt packages of packages.yml into dbt_packages/ (as package-lock.yml pins them)");
  sub->add_option("--project-dir", f->project_dir, "The dbt project (folder with dbt_project.yml)")
      ->capture_default_str();
  sub->add_flag("--upgrade", f->upgrade, "Resolve the versions again although package-lock.yml matches");
  sub->add_flag("--json", f->json, "Print one JSON document");
  sub->callback([f] {
    Output out(f->json);
    transform::DepsOptions options;
    options.project_dir = f->project_dir;
    options.upgrade = f->upgrade;
    options.log = [&out](const std::string& line) { out.Line(line); };
    options.warn = [&out](const std::string& text) { out.Warning(text); };
    auto result = transform::InstallPackages(options);
    if (!result.ok()) Fail(out, result.status(), UsageCode(result.status()));
    json packages = json::array();
    for (const auto& p : result->packages) {
      json j = {{"name", p.name}, {"source", p.source}, {"id", p.id}, {"path", p.path}, {"reused", p.reused}};
      if (!p.version.empty()) j["version"] = p.version;
      if (!p.subdirectory.empty()) j["subdirectory"] = p.subdirectory;
      packages.push_back(j);
    }
    out.Json({{"ok", true},
              {"up_to_date", result->up_to_date},
              {"resolved", result->resolved},
              {"install_path", result->install_path},
              {"lock", result->lock_path},
              {"packages", packages},
              {"removed", result->removed},
              {"warnings", result->warnings}});
  });
}

}  // namespace strata::cli
