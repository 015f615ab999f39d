#include "transform/target.h"

#include <cstdlib>
#include <filesystem>

#include "transform/loader.h"

namespace strata::transform {
namespace fs = std::filesystem;

namespace {

std::string Canonical(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(path, ec);
  return ec ? fs::path(path).lexically_normal().string() : p.string();
}

bool HasDbtProject(const Project& project) {
  std::error_code ec;
  return !project.transform_dir.empty() && fs::exists(fs::path(project.transform_dir) / "dbt_project.yml", ec);
}

// The profile's target, checked against strata.yml's declared warehouse (if any).
Result<warehouse::Target> Reconcile(const Project& project, const Profile& profile) {
  warehouse::Target t = TargetOf(profile, project.warehouse);
  const WarehouseConfig& declared = project.warehouse;
  if (declared.where.empty()) return t;
  const bool same = t.kind == warehouse::Target::Kind::kDuckDb && Canonical(declared.path) == Canonical(profile.path);
  if (same) return t;
  return Status::InvalidArgument("strata.yml and the dbt profile name different warehouses: " + declared.where +
                                 " says duckdb " + declared.path + ", but " + profile.where + " (target '" +
                                 profile.target + "') says " + t.Describe() +
                                 ". Make them name the same warehouse, or remove `warehouse:` from " + project.file +
                                 " so that the dbt target decides alone.");
}

}  // namespace

warehouse::Target TargetOf(const Profile& profile, const WarehouseConfig& duckdb) {
  warehouse::Target t;
  t.origin = profile.where;
  if (profile.type == "postgres") {
    t.kind = warehouse::Target::Kind::kPostgres;
    pg::ConnectOptions& o = t.postgres;
    o.host = profile.host;
    o.port = profile.port;
    o.user = profile.user;
    o.password = profile.password;
    o.dbname = profile.database;
    o.sslmode = profile.sslmode;
    o.connect_timeout_seconds = profile.connect_timeout;
    return t;
  }
  t.kind = warehouse::Target::Kind::kDuckDb;
  t.duckdb = duckdb;
  t.duckdb.path = profile.path == ":memory:" ? "" : profile.path;
  return t;
}

Result<warehouse::Target> ResolveTarget(const Project& project, const std::string& dbt_target) {
  if (!HasDbtProject(project)) {
    warehouse::Target t;
    t.duckdb = project.warehouse;
    t.origin = project.warehouse.where.empty() ? project.file : project.warehouse.where;
    return t;
  }
  LoadOptions lo;
  lo.project_dir = project.transform_dir;
  lo.target = dbt_target;
  STRATA_ASSIGN_OR_RETURN(Profile profile, LoadTargetProfile(lo));
  return Reconcile(project, profile);
}

std::optional<Project> EnclosingProject(const std::string& dbt_project_dir) {
  const std::string root = Canonical(fs::absolute(dbt_project_dir).string());
  for (fs::path dir = fs::path(root).parent_path();; dir = dir.parent_path()) {
    std::error_code ec;
    if (fs::exists(dir / "strata.yml", ec)) {
      // A strata.yml that does not parse, or builds another dbt project, is not this one's.
      auto project = Project::Load((dir / "strata.yml").string());
      if (project.ok() && !project->transform_dir.empty() && Canonical(project->transform_dir) == root) {
        return std::move(*project);
      }
      return std::nullopt;
    }
    if (dir == dir.parent_path()) return std::nullopt;
  }
}

Result<warehouse::Target> ResolveTarget(const std::string& dbt_project_dir, const Profile& profile) {
  std::optional<Project> project = EnclosingProject(dbt_project_dir);
  if (project) return Reconcile(*project, profile);
  return TargetOf(profile);
}

Result<std::optional<pg::ConnectOptions>> PublishTarget(const Project& project) {
  const PublishTargetConfig& c = project.publish;
  if (c.type.empty()) return std::optional<pg::ConnectOptions>();
  pg::ConnectOptions o;
  o.host = c.host;
  o.port = c.port;
  o.dbname = c.dbname;
  o.user = c.user;
  o.sslmode = c.sslmode;
  o.connect_timeout_seconds = c.connect_timeout;
  if (!c.password_env.empty()) {
    const char* secret = std::getenv(c.password_env.c_str());
    if (secret == nullptr) {
      return Status::InvalidArgument(c.where + ": publish: the password variable " + c.password_env +
                                     " is not set in the environment");
    }
    o.password = secret;
  }
  return std::optional<pg::ConnectOptions>(std::move(o));
}

}  // namespace strata::transform
