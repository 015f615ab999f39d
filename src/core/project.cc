#include "core/project.h"

#include <filesystem>
#include <regex>

namespace strata {

namespace fs = std::filesystem;

namespace {

bool ValidName(const std::string& s) {
  static const std::regex kName("^[a-z][a-z0-9_]{0,62}$");
  return std::regex_match(s, kName);
}

}  // namespace

std::string Project::Resolve(const std::string& path) const {
  if (path.empty() || path.rfind("s3://", 0) == 0 || path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0) {
    return path;
  }
  fs::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (fs::path(dir) / p).lexically_normal().string();
}

const SourceConfig* Project::FindSource(const std::string& source_name) const {
  for (const auto& s : sources) {
    if (s.name == source_name) return &s;
  }
  return nullptr;
}

std::vector<std::string> Project::SourceNames() const {
  std::vector<std::string> out;
  for (const auto& s : sources) out.push_back(s.name);
  return out;
}

Result<Project> Project::Load(const std::string& path_or_dir) {
  std::error_code ec;
  fs::path p = fs::absolute(path_or_dir.empty() ? "." : path_or_dir, ec);
  if (!fs::exists(p, ec)) {
    return Status::NotFound("no strata.yml at '" + p.string() + "': the path does not exist");
  }
  if (fs::is_directory(p, ec)) {
    if (fs::exists(p / "strata.yml", ec)) {
      p /= "strata.yml";
    } else if (fs::exists(p / "strata.yaml", ec)) {
      p /= "strata.yaml";
    } else {
      return Status::NotFound("no strata.yml in '" + p.string() + "' (pass --project PATH to name the project file)");
    }
  }
  Project project;
  project.file = p.lexically_normal().string();
  project.dir = p.parent_path().lexically_normal().string();
  STRATA_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::Load(project.file, /*unique_keys=*/true));
  if (root.IsNull()) return root.Error("the project file is empty");
  if (!root.IsMap()) return root.Error("expected a map at the top level");
  STRATA_RETURN_IF_ERROR(root.CheckKeys({"name", "lake", "warehouse", "publish", "state_dir", "lock_timeout", "sources",
                                         "transform", "quality", "pipelines"}));

  STRATA_ASSIGN_OR_RETURN(project.name, root.RequiredString("name"));
  if (!ValidName(project.name)) {
    return root["name"].Error("'" + project.name + "' is not a valid name (lower-case letters, digits, _)");
  }
  STRATA_ASSIGN_OR_RETURN(std::string lake, root.String("lake", "lake"));
  project.lake_location = project.Resolve(lake);
  STRATA_ASSIGN_OR_RETURN(std::string state, root.String("state_dir", ".strata"));
  project.state_dir = project.Resolve(state);
  STRATA_ASSIGN_OR_RETURN(int64_t lock_timeout, root.Int("lock_timeout", project.lock_timeout_seconds));
  if (lock_timeout < 0 || lock_timeout > 86400) {
    return root["lock_timeout"].Error("expected a number of seconds from 0 to 86400");
  }
  project.lock_timeout_seconds = static_cast<int>(lock_timeout);
  project.warehouse.lock_timeout_seconds = project.lock_timeout_seconds;

  ConfigNode wh = root["warehouse"];
  if (!wh.IsNull()) {
    STRATA_RETURN_IF_ERROR(wh.CheckKeys({"type", "path", "threads", "memory_limit"}));
    project.warehouse.where = wh.Where();
    STRATA_ASSIGN_OR_RETURN(project.warehouse.type, wh.String("type", "duckdb"));
    if (project.warehouse.type != "duckdb") {
      return wh["type"].Error("unknown warehouse type '" + project.warehouse.type + "' (this build supports: duckdb)");
    }
    STRATA_ASSIGN_OR_RETURN(std::string path, wh.String("path", "warehouse/" + project.name + ".duckdb"));
    project.warehouse.path = project.Resolve(path);
    STRATA_ASSIGN_OR_RETURN(int64_t threads, wh.Int("threads", 0));
    project.warehouse.threads = static_cast<int>(threads);
    STRATA_ASSIGN_OR_RETURN(project.warehouse.memory_limit, wh.String("memory_limit", ""));
  } else {
    project.warehouse.path = project.Resolve("warehouse/" + project.name + ".duckdb");
  }

  ConfigNode pub = root["publish"];
  if (!pub.IsNull()) {
    STRATA_RETURN_IF_ERROR(
        pub.CheckKeys({"type", "host", "port", "dbname", "user", "password_env", "sslmode", "connect_timeout"}));
    PublishTargetConfig& t = project.publish;
    t.where = pub.Where();
    STRATA_ASSIGN_OR_RETURN(t.type, pub.RequiredString("type"));
    if (t.type != "postgres") {
      return pub["type"].Error("unknown publish target type '" + t.type + "' (this build supports: postgres)");
    }
    STRATA_ASSIGN_OR_RETURN(t.host, pub.String("host", t.host));
    STRATA_ASSIGN_OR_RETURN(int64_t port, pub.Int("port", t.port));
    if (port < 1 || port > 65535) return pub["port"].Error("port must be from 1 to 65535");
    t.port = static_cast<int>(port);
    STRATA_ASSIGN_OR_RETURN(t.dbname, pub.RequiredString("dbname"));
    STRATA_ASSIGN_OR_RETURN(t.user, pub.RequiredString("user"));
    STRATA_ASSIGN_OR_RETURN(t.password_env, pub.String("password_env", ""));
    STRATA_ASSIGN_OR_RETURN(t.sslmode, pub.String("sslmode", t.sslmode));
    STRATA_ASSIGN_OR_RETURN(int64_t timeout, pub.Int("connect_timeout", t.connect_timeout));
    t.connect_timeout = static_cast<int>(timeout);
  }

  STRATA_ASSIGN_OR_RETURN(std::string transform, root.String("transform", ""));
  if (!transform.empty()) project.transform_dir = project.Resolve(transform);
  STRATA_ASSIGN_OR_RETURN(std::string quality, root.String("quality", ""));
  if (!quality.empty()) project.quality_dir = project.Resolve(quality);
  project.pipelines = root["pipelines"];
  STRATA_ASSIGN_OR_RETURN(auto sources, root["sources"].Entries());
  for (auto& [name, node] : sources) {
    if (!ValidName(name)) {
      return node.Error("'" + name + "' is not a valid source name (lower-case letters, digits, _)");
    }
    if (!node.IsMap()) return node.Error("expected a map with the source's settings");
    STRATA_ASSIGN_OR_RETURN(std::string type, node.RequiredString("type"));
    project.sources.push_back(SourceConfig{name, type, node});
  }
  return project;
}

}  // namespace strata
