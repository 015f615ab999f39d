#include "transform/dbt_project.h"

#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/file.h"

namespace strata::transform {

namespace fs = std::filesystem;
using nlohmann::json;

bool IsConfigKey(const std::string& key) {
  static const std::set<std::string> kKeys = {"enabled",
                                              "materialized",
                                              "schema",
                                              "database",
                                              "alias",
                                              "tags",
                                              "meta",
                                              "docs",
                                              "persist_docs",
                                              "pre-hook",
                                              "post-hook",
                                              "pre_hook",
                                              "post_hook",
                                              "full_refresh",
                                              "unique_key",
                                              "incremental_strategy",
                                              "on_schema_change",
                                              "grants",
                                              "contract",
                                              "column_types",
                                              "quote_columns",
                                              "delimiter",
                                              "strategy",
                                              "updated_at",
                                              "check_cols",
                                              "target_schema",
                                              "target_database",
                                              "invalidate_hard_deletes",
                                              "hard_deletes",
                                              "severity",
                                              "warn_if",
                                              "error_if",
                                              "where",
                                              "limit",
                                              "store_failures",
                                              "fail_calc",
                                              "sql_header",
                                              "snapshot_meta_column_names",
                                              "dbt_valid_to_current",
                                              "group",
                                              "access",
                                              "packages",
                                              "on_configuration_change",
                                              "incremental_predicates",
                                              "batch_size",
                                              "lookback",
                                              "begin",
                                              "event_time"};
  return kKeys.count(key) > 0;
}

namespace {

std::string NormalizeKey(const std::string& key) {
  std::string k = !key.empty() && key[0] == '+' ? key.substr(1) : key;
  if (k == "pre_hook") return "pre-hook";
  if (k == "post_hook") return "post-hook";
  return k;
}

json AsList(const json& v) {
  if (v.is_array()) return v;
  if (v.is_null()) return json::array();
  return json::array({v});
}

// Collects the config keys at one level of a folder-config tree.
json ConfigsAt(const json& level) {
  json out = json::object();
  if (!level.is_object()) return out;
  for (const auto& [k, v] : level.items()) {
    bool plus = !k.empty() && k[0] == '+';
    if (plus || (IsConfigKey(k) && !v.is_object()) || (IsConfigKey(k) && (k == "meta" || k == "docs"))) {
      MergeConfig(&out, json{{k, v}});
    }
  }
  return out;
}

Result<std::vector<std::string>> PathList(const ConfigNode& root, const std::string& key,
                                          std::vector<std::string> def) {
  if (root[key].IsNull()) return def;
  return root[key].StringList();
}

}  // namespace

void MergeConfig(json* base, const json& over) {
  if (!over.is_object()) return;
  for (const auto& [raw_key, v] : over.items()) {
    std::string k = NormalizeKey(raw_key);
    if (k == "tags") {
      json merged = AsList(base->value("tags", json::array()));
      for (const auto& t : AsList(v)) {
        if (std::find(merged.begin(), merged.end(), t) == merged.end()) merged.push_back(t);
      }
      (*base)["tags"] = merged;
    } else if ((k == "meta" || k == "grants") && v.is_object()) {
      json merged = base->value(k, json::object());
      for (const auto& [mk, mv] : v.items()) merged[mk] = mv;
      (*base)[k] = merged;
    } else if (k == "pre-hook" || k == "post-hook") {
      json merged = AsList(base->value(k, json::array()));
      for (const auto& h : AsList(v)) merged.push_back(h);
      (*base)[k] = merged;
    } else {
      (*base)[k] = v;
    }
  }
}

json DbtProject::FolderConfig(const std::string& resource, const std::vector<std::string>& fqn) const {
  const json* tree = resource == "models"       ? &models
                     : resource == "seeds"      ? &seeds
                     : resource == "snapshots"  ? &snapshots
                     : resource == "unit_tests" ? &unit_tests
                                                : &tests;
  json out = ConfigsAt(*tree);
  const json* level = tree;
  for (const auto& part : fqn) {
    if (!level->is_object() || !level->contains(part) || !(*level)[part].is_object()) break;
    level = &(*level)[part];
    MergeConfig(&out, ConfigsAt(*level));
  }
  return out;
}

Result<DbtProject> DbtProject::Load(const std::string& dir) {
  DbtProject p;
  std::error_code ec;
  p.root = fs::absolute(dir.empty() ? "." : dir, ec).lexically_normal().string();
  while (p.root.size() > 1 && p.root.back() == '/') p.root.pop_back();
  std::string file = p.root + "/dbt_project.yml";
  if (!fs::exists(file, ec)) {
    return Status::NotFound("no dbt_project.yml in '" + p.root + "' (pass --project-dir)");
  }
  STRATA_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::Load(file));
  if (!root.IsMap()) return root.Error("expected a map at the top level");
  STRATA_ASSIGN_OR_RETURN(p.name, root.RequiredString("name"));
  STRATA_ASSIGN_OR_RETURN(p.version, root.String("version", ""));
  STRATA_ASSIGN_OR_RETURN(p.profile_name, root.String("profile", p.name));
  STRATA_ASSIGN_OR_RETURN(p.model_paths, PathList(root, "model-paths", p.model_paths));
  STRATA_ASSIGN_OR_RETURN(p.seed_paths, PathList(root, "seed-paths", p.seed_paths));
  STRATA_ASSIGN_OR_RETURN(p.snapshot_paths, PathList(root, "snapshot-paths", p.snapshot_paths));
  STRATA_ASSIGN_OR_RETURN(p.macro_paths, PathList(root, "macro-paths", p.macro_paths));
  STRATA_ASSIGN_OR_RETURN(p.test_paths, PathList(root, "test-paths", p.test_paths));
  STRATA_ASSIGN_OR_RETURN(p.target_path, root.String("target-path", p.target_path));
  STRATA_ASSIGN_OR_RETURN(p.packages_install_path, root.String("packages-install-path", p.packages_install_path));
  STRATA_ASSIGN_OR_RETURN(p.clean_targets, PathList(root, "clean-targets", {}));
  if (root.Has("dispatch")) {
    ConfigNode d = root["dispatch"];
    if (!d.IsList()) return d.Error("dispatch: expected a list of {macro_namespace, search_order}");
    STRATA_ASSIGN_OR_RETURN(auto items, d.Items());
    for (const auto& e : items) {
      STRATA_ASSIGN_OR_RETURN(std::string ns, e.RequiredString("macro_namespace"));
      STRATA_ASSIGN_OR_RETURN(p.dispatch[ns], e["search_order"].StringList());
      if (p.dispatch[ns].empty()) return e.Error("dispatch: search_order must list at least one package");
    }
  }
  for (const char* key : {"on-run-start", "on-run-end"}) {
    ConfigNode h = root[key];
    if (h.IsNull()) continue;
    std::vector<std::string> hooks;
    if (h.IsList()) {
      STRATA_ASSIGN_OR_RETURN(hooks, h.StringList());
    } else {
      STRATA_ASSIGN_OR_RETURN(std::string one, h.String());
      hooks.push_back(one);
    }
    (std::string(key) == "on-run-start" ? p.on_run_start : p.on_run_end) = hooks;
  }
  if (root.Has("vars")) p.vars = root["vars"].ToJson();
  if (root.Has("models")) p.models = root["models"].ToJson();
  if (root.Has("seeds")) p.seeds = root["seeds"].ToJson();
  if (root.Has("snapshots")) p.snapshots = root["snapshots"].ToJson();
  if (root.Has("tests")) p.tests = root["tests"].ToJson();
  if (root.Has("data_tests")) MergeConfig(&p.tests, root["data_tests"].ToJson());
  if (root.Has("unit_tests")) p.unit_tests = root["unit_tests"].ToJson();
  return p;
}

std::vector<std::string> ProfilesCandidates(const DbtProject& project, const std::string& profiles_dir) {
  std::vector<std::string> candidates;
  if (!profiles_dir.empty()) {
    candidates.push_back(profiles_dir + "/profiles.yml");
  } else {
    if (const char* env = std::getenv("DBT_PROFILES_DIR")) candidates.push_back(std::string(env) + "/profiles.yml");
    candidates.push_back(project.root + "/profiles.yml");
    if (const char* home = std::getenv("HOME")) candidates.push_back(std::string(home) + "/.dbt/profiles.yml");
  }
  return candidates;
}

std::string ProfilesFile(const DbtProject& project, const std::string& profiles_dir) {
  std::error_code ec;
  for (const auto& c : ProfilesCandidates(project, profiles_dir)) {
    if (fs::exists(c, ec)) return fs::absolute(c, ec).lexically_normal().string();
  }
  return "";
}

Result<Profile> LoadProfile(const DbtProject& project, const std::string& profiles_dir, const std::string& target,
                            const TextRenderer& render) {
  const std::string file = ProfilesFile(project, profiles_dir);
  if (file.empty()) {
    std::string tried;
    for (const auto& c : ProfilesCandidates(project, profiles_dir)) tried += (tried.empty() ? "" : ", ") + c;
    return Status::NotFound("no profiles.yml found (looked in: " + tried + ")");
  }
  STRATA_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::Load(file));
  ConfigNode prof = root[project.profile_name];
  if (prof.IsNull()) {
    std::vector<std::string> names;
    if (root.IsMap()) {
      auto entries = root.Entries();
      if (entries.ok()) {
        for (auto& [k, v] : *entries) names.push_back(k);
      }
    }
    std::string hint = Closest(project.profile_name, names);
    return Status::NotFound(file + ": no profile '" + project.profile_name + "' (named by dbt_project.yml)" +
                            (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
  }
  Profile out;
  out.name = project.profile_name;
  STRATA_ASSIGN_OR_RETURN(std::string default_target, prof.String("target", "dev"));
  if (render && default_target.find("{{") != std::string::npos) {  // target: "{{ env_var('X', 'dev') }}"
    STRATA_ASSIGN_OR_RETURN(default_target, render(default_target, prof["target"].Where()));
  }
  out.target = target.empty() ? default_target : target;
  ConfigNode t = prof["outputs"][out.target];
  if (t.IsNull()) {
    std::vector<std::string> names;
    auto entries = prof["outputs"].Entries();
    if (entries.ok()) {
      for (auto& [k, v] : *entries) names.push_back(k);
    }
    std::string hint = Closest(out.target, names);
    return prof["outputs"].Error("no target '" + out.target + "'" +
                                 (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
  out.where = t.Where();
  auto value = [&](const std::string& key, const std::string& def) -> Result<std::string> {
    STRATA_ASSIGN_OR_RETURN(std::string raw, t.String(key, def));
    if (!render || raw.find("{{") == std::string::npos) return raw;
    return render(raw, t[key].Where());
  };
  STRATA_ASSIGN_OR_RETURN(out.type, value("type", ""));
  if (out.type != "duckdb" && out.type != "postgres") {
    return t["type"].Error("unsupported target type '" + out.type + "' (this build supports: duckdb, postgres)");
  }
  auto number = [&](const std::string& key, int def, int lo, int hi, int* into) -> Status {
    STRATA_ASSIGN_OR_RETURN(std::string text, value(key, std::to_string(def)));
    char* end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < lo || v > hi) {
      return t[key].Error(key + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                          ", not '" + text + "'");
    }
    *into = static_cast<int>(v);
    return Status::OK();
  };
  if (out.type == "duckdb") {
    STRATA_ASSIGN_OR_RETURN(std::string path, value("path", ":memory:"));
    out.path = path == ":memory:" || path.empty() || fs::path(path).is_absolute()
                   ? path
                   : (fs::path(project.root) / path).lexically_normal().string();
    STRATA_ASSIGN_OR_RETURN(out.database, value("database", ""));
    STRATA_ASSIGN_OR_RETURN(out.schema, value("schema", "main"));
  } else {
    STRATA_ASSIGN_OR_RETURN(out.host, value("host", "127.0.0.1"));
    STRATA_ASSIGN_OR_RETURN(out.user, value("user", ""));
    STRATA_ASSIGN_OR_RETURN(std::string dbname, value("dbname", ""));
    if (dbname.empty()) {
      STRATA_ASSIGN_OR_RETURN(dbname, value("database", ""));
    }
    if (dbname.empty()) return t.Error("a postgres target needs 'dbname'");
    out.database = dbname;
    STRATA_ASSIGN_OR_RETURN(out.schema, value("schema", "public"));
    STRATA_ASSIGN_OR_RETURN(out.sslmode, value("sslmode", "prefer"));
    STRATA_RETURN_IF_ERROR(number("port", 5432, 1, 65535, &out.port));
    STRATA_RETURN_IF_ERROR(number("connect_timeout", 10, 1, 3600, &out.connect_timeout));
    if (!t["password"].IsNull()) {
      STRATA_ASSIGN_OR_RETURN(std::string raw, t.String("password", ""));
      if (raw.find("env_var(") == std::string::npos) {
        return t["password"].Error(
            "the password must come from the environment, not the profile: password: \"{{ env_var('" +
            std::string("DBT_PG_PASSWORD") + "') }}\"");
      }
      STRATA_ASSIGN_OR_RETURN(out.password, value("password", ""));
    }
  }
  STRATA_ASSIGN_OR_RETURN(std::string threads, value("threads", "1"));
  out.threads = std::max(1, std::atoi(threads.c_str()));
  out.settings = t.ToJson();
  if (out.settings.is_object()) out.settings.erase("password");  // never kept beside the rest
  return out;
}

}  // namespace strata::transform
