#include "transform/operations.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "core/config.h"
#include "core/date.h"
#include "core/file.h"
#include "core/redact.h"
#include "core/strings.h"
#include "transform/target.h"

namespace strata::transform {

namespace fs = std::filesystem;
using jinja::Value;
using nlohmann::json;

namespace {

bool IsIdentifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

// ---- debug ----------------------------------------------------------------------------------

bool DebugReport::ok() const {
  if (checks.empty()) return false;
  for (const auto& c : checks) {
    if (!c.ok) return false;
  }
  return checks.size() == 3;
}

DebugReport Debug(const LoadOptions& options) {
  DebugReport r;
  std::error_code ec;
  r.project_dir = fs::absolute(options.project_dir.empty() ? "." : options.project_dir, ec).lexically_normal().string();
  while (r.project_dir.size() > 1 && r.project_dir.back() == '/') r.project_dir.pop_back();

  auto project = DbtProject::Load(options.project_dir);
  if (!project.ok()) {
    r.checks.push_back({"dbt_project.yml", false, project.status().message()});
    return r;
  }
  r.checks.push_back(
      {"dbt_project.yml", true,
       project->root + "/dbt_project.yml (project '" + project->name + "', profile '" + project->profile_name + "')"});

  r.profiles_file = ProfilesFile(*project, options.profiles_dir);
  auto profile = LoadTargetProfile(options);
  if (!profile.ok()) {
    r.checks.push_back({"profiles.yml", false, profile.status().message()});
    return r;
  }
  RegisterSecret(profile->password);
  r.checks.push_back(
      {"profiles.yml", true, r.profiles_file + " (profile '" + profile->name + "', target '" + profile->target + "')"});
  r.target.push_back({"type", profile->type});
  if (profile->type == "postgres") {
    r.target.push_back({"host", profile->host});
    r.target.push_back({"port", std::to_string(profile->port)});
    r.target.push_back({"user", profile->user});
    r.target.push_back({"dbname", profile->database});
    r.target.push_back({"schema", profile->schema});
    if (!profile->sslmode.empty()) r.target.push_back({"sslmode", profile->sslmode});
    r.target.push_back({"password", profile->password.empty() ? "(none: PGPASSWORD or ~/.pgpass)" : "(set)"});
  } else {
    r.target.push_back({"path", profile->path.empty() ? ":memory:" : profile->path});
    r.target.push_back({"schema", profile->schema});
  }
  r.target.push_back({"threads", std::to_string(profile->threads)});

  auto fail = [&](const Status& s) { r.checks.push_back({"connection", false, s.message()}); };
  auto target = ResolveTarget(project->root, *profile);
  if (!target.ok()) {
    fail(target.status());
    return r;
  }
  // A held DuckDB file is a finding, not something to wait a minute for.
  target->duckdb.lock_timeout_seconds = std::min(target->duckdb.lock_timeout_seconds, 5);
  auto open = warehouse::OpenTarget::Open(*target, {});
  if (!open.ok()) {
    fail(open.status());
    return r;
  }
  auto engine = (*open)->NewEngine();
  if (!engine.ok()) {
    fail(engine.status());
    return r;
  }
  auto session = (*engine)->Connect();
  if (!session.ok()) {
    fail(session.status());
    return r;
  }
  auto one = (*session)->Query("select 1");
  if (!one.ok()) {
    fail(one.status());
    return r;
  }
  if (one->Scalar().value_or("") != "1") {
    fail(Status::Failed("select 1 answered '" + one->Scalar().value_or("NULL") + "'"));
    return r;
  }
  r.checks.push_back({"connection", true, target->Describe() + ": select 1 OK"});
  return r;
}

// ---- a warehouse session for renders ----------------------------------------------------------

TargetSession::~TargetSession() = default;

Result<warehouse::Session*> TargetSession::Get() {
  if (session_) return session_.get();
  if (!open_) {
    STRATA_ASSIGN_OR_RETURN(open_, warehouse::OpenTarget::Open(target_, {}));
  }
  if (!engine_) {
    STRATA_ASSIGN_OR_RETURN(engine_, open_->NewEngine());
  }
  STRATA_ASSIGN_OR_RETURN(session_, engine_->Connect());
  return session_.get();
}

// ---- run-operation ----------------------------------------------------------------------------

Result<std::string> RunOperation(const LoadedProject& project, const std::string& macro, const json& args,
                                 const std::function<Result<warehouse::Session*>()>& session) {
  if (!args.is_object()) return Status::InvalidArgument("--args must be a mapping of the macro's arguments");
  const size_t dot = macro.find('.');
  const std::string package = dot == std::string::npos ? "" : macro.substr(0, dot);
  const std::string name = dot == std::string::npos ? macro : macro.substr(dot + 1);
  if (!IsIdentifier(name) || (dot != std::string::npos && !IsIdentifier(package))) {
    return Status::InvalidArgument("'" + macro + "' is not a macro name (name, or package.name)");
  }
  const jinja::Environment& env = *project.env;
  std::vector<std::string> names;  // for "did you mean"
  bool found = false;
  if (package.empty()) {
    const Value* v = env.FindGlobal(name);
    found = v != nullptr && v->is_callable();
    for (const auto& g : env.GlobalNames()) {
      const Value* gv = env.FindGlobal(g);
      if (gv != nullptr && gv->is_callable()) names.push_back(g);
    }
  } else {
    const Value* ns = env.FindGlobal(package);
    if (ns == nullptr || !ns->is_dict()) {
      std::vector<std::string> packages = {project.project.name};
      for (const auto& p : project.packages) packages.push_back(p.name);
      std::string hint = Closest(package, packages);
      return Status::NotFound("no package '" + package + "' for run-operation " + macro +
                              (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
    const Value* v = ns->as_dict().Find(name);
    found = v != nullptr && v->is_callable();
    for (const auto& [k, unused] : ns->as_dict().entries()) names.push_back(package + "." + k.Str());
  }
  if (!found) {
    std::string hint = Closest(macro, names);
    return Status::NotFound("no macro named '" + macro + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
  // The arguments travel as a variable, never as template text: values are not code.
  const std::string call = "{{ " + macro + "(**__strata_operation_args) }}";
  STRATA_ASSIGN_OR_RETURN(std::string out,
                          project.RenderHook(call, "run-operation " + macro, nullptr,
                                             {{"__strata_operation_args", JsonToValue(args)}}, session));
  return Trim(out);
}

// ---- show -------------------------------------------------------------------------------------

Result<ShowResult> Show(LoadedProject* project, const ShowOptions& options, TargetSession* session) {
  if (options.select.empty() == options.inline_sql.empty()) {
    return Status::InvalidArgument("show needs one of --select MODEL or --inline SQL");
  }
  ShowResult r;
  if (!options.inline_sql.empty()) {
    // dbt's inline node: compiled like a model of the root project, so ref() to ephemeral models
    // inlines them as CTEs.
    Node n;
    n.type = NodeType::kModel;
    n.name = "inline_query";
    n.package = project->project.name;
    n.unique_id = "sql_operation." + n.package + ".inline_query";
    n.path = "inline_query.sql";
    n.fqn = {n.package, "inline_query"};
    n.raw_code = options.inline_sql;
    n.schema = project->profile.schema;
    n.database = project->profile.database;
    n.config = {{"materialized", "view"}, {"enabled", true}};
    STRATA_ASSIGN_OR_RETURN(auto tmpl, project->env->Parse(options.inline_sql, "inline SQL"));
    project->templates[n.unique_id] = tmpl;
    r.node = n.name;
    STRATA_ASSIGN_OR_RETURN(r.compiled_sql, project->Compile(n, false, nullptr, session->Fn()));
  } else {
    SelectOptions so;
    so.select = {options.select};
    so.indirect_tests = false;
    STRATA_ASSIGN_OR_RETURN(auto ids, SelectNodes(project->manifest, project->graph, so));
    std::vector<const Node*> nodes;
    for (const auto& id : ids) {
      const Node* n = project->manifest.Find(id);
      if (n->type == NodeType::kModel || n->type == NodeType::kSeed || n->type == NodeType::kSnapshot ||
          n->type == NodeType::kTest) {
        nodes.push_back(n);
      }
    }
    if (nodes.empty()) {
      return Status::InvalidArgument("--select '" + options.select + "' selects no model, seed, snapshot or test");
    }
    if (nodes.size() > 1) {
      std::string list;
      for (size_t i = 0; i < nodes.size() && i < 5; ++i) list += (i ? ", " : "") + nodes[i]->name;
      if (nodes.size() > 5) list += ", ...";
      return Status::InvalidArgument("show previews one node; --select '" + options.select + "' selects " +
                                     std::to_string(nodes.size()) + ": " + list);
    }
    const Node& n = *nodes[0];
    r.node = n.name;
    if (n.type == NodeType::kSeed) {
      r.compiled_sql = "select * from " + n.Relation();  // a seed's SQL is its loaded table
    } else {
      STRATA_ASSIGN_OR_RETURN(r.compiled_sql, project->Compile(n, false, nullptr, session->Fn()));
    }
  }
  const std::string body(TrimSqlEnd(r.compiled_sql));
  // The limit goes into the query (as dbt's get_limit_subquery_sql), so that the warehouse
  // only produces the rows shown. Newlines keep a trailing `--` comment from eating the ')'.
  r.query = options.limit < 0
                ? body
                : "select * from (\n" + body + "\n) as model_limit_subq\nlimit " + std::to_string(options.limit);
  STRATA_ASSIGN_OR_RETURN(warehouse::Session * s, session->Get());
  STRATA_ASSIGN_OR_RETURN(r.rows, s->Query(r.query));
  return r;
}

namespace {

enum class ColumnKind { kText, kInteger, kNumber, kBool };

ColumnKind KindOf(const std::string& type_name) {
  std::string t = AsciiLower(type_name);
  t = t.substr(0, t.find('('));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  static const std::set<std::string> kIntegers = {
      "tinyint", "smallint", "integer", "bigint",    "hugeint",     "utinyint", "usmallint", "uinteger",
      "ubigint", "uhugeint", "int",     "int2",      "int4",        "int8",     "int16",     "int32",
      "int64",   "int128",   "serial",  "bigserial", "smallserial", "oid"};
  static const std::set<std::string> kNumbers = {"double", "float",   "real",    "float4",
                                                 "float8", "decimal", "numeric", "double precision"};
  if (kIntegers.count(t)) return ColumnKind::kInteger;
  if (kNumbers.count(t)) return ColumnKind::kNumber;
  if (t == "boolean" || t == "bool") return ColumnKind::kBool;
  return ColumnKind::kText;
}

json CellToJson(const sql::Cell& cell, ColumnKind kind) {
  if (!cell) return nullptr;
  const std::string& s = *cell;
  switch (kind) {
    case ColumnKind::kBool:
      if (s == "true" || s == "t") return true;
      if (s == "false" || s == "f") return false;
      return s;
    case ColumnKind::kInteger:
    case ColumnKind::kNumber: {
      json v = json::parse(s, nullptr, false);
      if (v.is_number()) return v;
      return s;  // inf, nan, or an integer past 64 bits stays text
    }
    case ColumnKind::kText:
      break;
  }
  return s;
}

}  // namespace

std::string FormatTable(const sql::QueryResult& rows) {
  const size_t n = rows.columns.size();
  std::vector<size_t> width(n, 1);
  std::vector<bool> right(n, false);
  for (size_t c = 0; c < n; ++c) {
    width[c] = std::max<size_t>(width[c], rows.columns[c].size());
    const ColumnKind k = c < rows.column_types.size() ? KindOf(rows.column_types[c]) : ColumnKind::kText;
    right[c] = k == ColumnKind::kInteger || k == ColumnKind::kNumber;
  }
  for (const auto& row : rows.rows) {
    for (size_t c = 0; c < n && c < row.size(); ++c) width[c] = std::max(width[c], row[c] ? row[c]->size() : 0);
  }
  auto cell = [&](const std::string& text, size_t c, bool align_right) {
    std::string pad(width[c] - std::min(width[c], text.size()), ' ');
    return " " + (align_right ? pad + text : text + pad) + " |";
  };
  std::string out = "|";
  for (size_t c = 0; c < n; ++c) out += cell(rows.columns[c], c, false);
  out += "\n|";
  for (size_t c = 0; c < n; ++c) out += " " + std::string(width[c], '-') + " |";
  out += "\n";
  for (const auto& row : rows.rows) {
    out += "|";
    for (size_t c = 0; c < n; ++c) out += cell(c < row.size() && row[c] ? *row[c] : "", c, right[c]);
    out += "\n";
  }
  return out;
}

json RowsToJson(const sql::QueryResult& rows) {
  std::vector<ColumnKind> kinds;
  for (size_t c = 0; c < rows.columns.size(); ++c) {
    kinds.push_back(c < rows.column_types.size() ? KindOf(rows.column_types[c]) : ColumnKind::kText);
  }
  json out = json::array();
  for (const auto& row : rows.rows) {
    json o = json::object();
    for (size_t c = 0; c < rows.columns.size() && c < row.size(); ++c)
      o[rows.columns[c]] = CellToJson(row[c], kinds[c]);
    out.push_back(std::move(o));
  }
  return out;
}

// ---- ls ---------------------------------------------------------------------------------------

std::string ListSelector(const Node& node) {
  std::string fqn = Join(node.fqn, ".");
  if (node.type == NodeType::kSource) return "source:" + fqn;
  if (node.type == NodeType::kExposure) return "exposure:" + fqn;
  return fqn;
}

namespace {

std::string SourceName(const Node& node) {
  return node.type == NodeType::kSource && node.fqn.size() >= 2 ? node.fqn[node.fqn.size() - 2] : "";
}

}  // namespace

std::string ListName(const Node& node) {
  return node.type == NodeType::kSource ? SourceName(node) + "." + node.name : node.name;
}

json ListJson(const Node& node, const std::vector<std::string>& keys) {
  json all = {{"name", node.name},
              {"resource_type", NodeTypeName(node.type)},
              {"package_name", node.package},
              {"path", node.path},
              {"original_file_path", node.path},
              {"unique_id", node.unique_id},
              {"fqn", node.fqn},
              {"alias", node.alias.empty() ? node.name : node.alias},
              {"schema", node.schema},
              {"database", node.database},
              {"config", node.config},
              {"tags", node.tags},
              {"description", node.description},
              {"columns", node.columns},
              {"meta", node.meta},
              {"depends_on", {{"macros", json::array()}, {"nodes", node.depends_on}}}};
  if (node.type == NodeType::kSource) all["source_name"] = SourceName(node);
  if (node.type == NodeType::kTest || node.type == NodeType::kUnitTest) all["attached_node"] = node.attached_node;
  if (node.type == NodeType::kTest && !node.test_name.empty()) {
    all["column_name"] = node.column_name;
    all["test_metadata"] = {{"name", node.test_name}, {"kwargs", node.test_kwargs}};
  }
  static const std::vector<std::string> kDefaultKeys = {
      "alias",  "name",          "package_name", "depends_on",         "tags",
      "config", "resource_type", "source_name",  "original_file_path", "unique_id"};
  json out = json::object();
  for (const auto& k : keys.empty() ? kDefaultKeys : keys) {
    if (all.contains(k)) out[k] = all[k];
  }
  return out;
}

// ---- clean ------------------------------------------------------------------------------------

namespace {

// Whether `path` is strictly inside `dir` (both absolute and normal).
bool IsInside(const fs::path& path, const fs::path& dir) {
  fs::path rel = path.lexically_relative(dir);
  if (rel.empty() || rel == ".") return false;
  return *rel.begin() != "..";
}

fs::path Normal(const fs::path& p) {
  fs::path n = p.lexically_normal();
  if (!n.has_filename() && n.has_parent_path() && n != n.root_path()) n = n.parent_path();  // "target/" -> "target"
  return n;
}

}  // namespace

Result<CleanReport> Clean(const DbtProject& project, bool project_files_only) {
  const std::vector<std::string> targets =
      project.clean_targets.empty() ? std::vector<std::string>{project.target_path} : project.clean_targets;
  const fs::path root = Normal(project.root);
  std::error_code ec;
  const fs::path real_root = fs::weakly_canonical(root, ec);
  std::vector<fs::path> protect;  // sources: deleting them would delete the project's work
  for (const auto* paths : {&project.model_paths, &project.seed_paths, &project.snapshot_paths, &project.macro_paths,
                            &project.test_paths}) {
    for (const auto& p : *paths) protect.push_back(Normal(root / p));
  }
  std::vector<fs::path> paths;
  for (const auto& t : targets) {
    if (Trim(t).empty()) return Status::InvalidArgument("dbt_project.yml: clean-targets has an empty entry");
    const fs::path abs = Normal(fs::path(t).is_absolute() ? fs::path(t) : root / t);
    if (abs == root || IsInside(root, abs)) {
      return Status::InvalidArgument("clean-targets: '" + t + "' is the project folder or holds it (" + abs.string() +
                                     "); nothing was deleted");
    }
    for (const auto& p : protect) {
      if (abs == p || IsInside(p, abs)) {
        return Status::InvalidArgument("clean-targets: '" + t + "' would delete the project's sources (" + p.string() +
                                       "); nothing was deleted");
      }
    }
    // Outside by its path, or by where its folder really is (a symlinked parent).
    const fs::path real_parent = fs::weakly_canonical(abs.parent_path(), ec);
    const bool inside = IsInside(abs, root) && (real_parent == real_root || IsInside(real_parent, real_root));
    if (!inside && project_files_only) {
      return Status::InvalidArgument("clean-targets: '" + t + "' (" + abs.string() +
                                     ") is outside the project folder " + root.string() +
                                     "; dbt clean refuses it (--no-clean-project-files-only deletes it); nothing "
                                     "was deleted");
    }
    paths.push_back(abs);
  }
  CleanReport report;
  for (const auto& p : paths) {
    if (fs::symlink_status(p, ec).type() == fs::file_type::not_found) {
      report.missing.push_back(p.string());
      continue;
    }
    fs::remove_all(p, ec);  // a symlink goes, not what it points to
    if (ec) return Status::IOError("removing " + p.string() + ": " + ec.message());
    report.removed.push_back(p.string());
  }
  return report;
}

// ---- retry ------------------------------------------------------------------------------------

Result<RetryPlan> PlanRetry(const std::string& run_results_path, bool warn_error) {
  std::error_code ec;
  if (!fs::exists(run_results_path, ec)) {
    return Status::NotFound("no previous run to retry: " + run_results_path + " does not exist");
  }
  STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(run_results_path));
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::Corruption(run_results_path + ": not a JSON object");
  }
  RetryPlan plan;
  plan.args = doc.contains("args") && doc["args"].is_object() ? doc["args"] : json::object();
  plan.which = plan.args.value("which", std::string());
  if (plan.which.empty()) {
    return Status::InvalidArgument(run_results_path + " does not say which command wrote it (args.which)");
  }
  static const std::set<std::string> kRetryable = {"run", "build", "test", "seed", "snapshot", "compile"};
  if (!kRetryable.count(plan.which)) {
    return Status::InvalidArgument("retry repeats run, build, test, seed, snapshot and compile; " + run_results_path +
                                   " is from '" + plan.which + "'");
  }
  warn_error = warn_error || plan.args.value("warn_error", false);
  if (doc.contains("results") && doc["results"].is_array()) {
    for (const auto& r : doc["results"]) {
      const std::string status = r.value("status", std::string());
      const std::string id = r.value("unique_id", std::string());
      if (id.empty()) continue;
      if (status == "error" || status == "fail" || status == "skipped" || status == "runtime error" ||
          (warn_error && status == "warn")) {
        plan.unique_ids.insert(id);
      }
    }
  }
  return plan;
}

SelectOptions SelectExactly(const LoadedProject& project, const std::set<std::string>& ids,
                            std::vector<std::string>* missing) {
  SelectOptions so;
  so.indirect_tests = false;
  std::set<std::string> wanted;
  for (const auto& id : ids) {
    const Node* n = project.manifest.Find(id);
    if (n == nullptr || !n->enabled()) {
      if (missing != nullptr) missing->push_back(id);
      continue;
    }
    wanted.insert(id);
    // The fqn, narrowed by type and file: together they name one node.
    std::string spec = "fqn:" + Join(n->fqn, ".") + ",resource_type:" + NodeTypeName(n->type);
    if (!n->path.empty() && n->path.find_first_of(" \t,") == std::string::npos) spec += ",path:" + n->path;
    so.select.push_back(spec);
  }
  if (so.select.empty()) return so;
  // Anything else a selector still matches is excluded by the same means.
  auto got = SelectNodes(project.manifest, project.graph, so);
  if (got.ok()) {
    for (const auto& id : *got) {
      if (wanted.count(id)) continue;
      const Node* n = project.manifest.Find(id);
      std::string spec = "fqn:" + Join(n->fqn, ".") + ",resource_type:" + NodeTypeName(n->type);
      if (!n->path.empty() && n->path.find_first_of(" \t,") == std::string::npos) spec += ",path:" + n->path;
      so.exclude.push_back(spec);
    }
  }
  return so;
}

// ---- run flags --------------------------------------------------------------------------------

void StoreFailures(LoadedProject* project) {
  std::vector<std::string> tests;
  for (const auto& [id, n] : project->manifest.nodes()) {
    if (n.type == NodeType::kTest) tests.push_back(id);
  }
  for (const auto& id : tests) {
    Node* n = project->manifest.FindMutable(id);
    if (!n->config.contains("store_failures") || n->config["store_failures"].is_null()) {
      n->config["store_failures"] = true;
    }
  }
}

void TestWarningsAsErrors(LoadedProject* project) {
  std::vector<std::string> tests;
  for (const auto& [id, n] : project->manifest.nodes()) {
    if (n.type == NodeType::kTest) tests.push_back(id);
  }
  for (const auto& id : tests) project->manifest.FindMutable(id)->config["severity"] = "error";
}

void SetTargetPath(LoadedProject* project, const std::string& path) {
  fs::path p(path);
  // The runner joins the project root and target_path: an absolute path goes in relative.
  project->project.target_path =
      p.is_absolute() ? Normal(p).lexically_relative(Normal(project->project.root)).string() : path;
}

std::string TargetDir(const DbtProject& project) {
  fs::path p(project.target_path);
  return Normal(p.is_absolute() ? p : fs::path(project.root) / p).string();
}

// ---- structured logs --------------------------------------------------------------------------

std::string LogLineJson(const std::string& level, const std::string& name, const std::string& msg, const json& data,
                        const std::string& invocation_id) {
  const int64_t micros =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::string ts = FormatTimestampMicros(micros);
  std::replace(ts.begin(), ts.end(), ' ', 'T');
  json info = {{"name", name}, {"level", level}, {"msg", msg}, {"ts", ts + "Z"}};
  if (!invocation_id.empty()) info["invocation_id"] = invocation_id;
  return json{{"info", info}, {"data", data}}.dump();
}

}  // namespace strata::transform
