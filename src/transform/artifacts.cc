#include "transform/artifacts.h"

#include <cctype>
#include <filesystem>
#include <future>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/file.h"
#include "core/hash.h"
#include "core/json_writer.h"
#include "core/parallel.h"
#include "transform/builtin_macros.h"
#include "transform/dbt_context.h"
#include "transform/dbt_project.h"

extern char** environ;

namespace strata::transform {

namespace fs = std::filesystem;
using nlohmann::json;

std::string IsoTimestamp(std::chrono::system_clock::time_point t) {
  // By hand rather than through strftime: run_results.json has two per node.
  using namespace std::chrono;
  const int64_t micros = duration_cast<microseconds>(t.time_since_epoch()).count();
  const int64_t day_micros = int64_t{86400} * 1000000;
  int64_t day = micros / day_micros, in_day = micros % day_micros;
  if (in_day < 0) {
    in_day += day_micros;
    --day;
  }
  const year_month_day ymd{sys_days{days{day}}};
  const int64_t secs = in_day / 1000000;
  char buf[32];
  auto put = [&buf](int at, int64_t value, int width) {
    for (int i = at + width - 1; i >= at; --i, value /= 10) buf[i] = static_cast<char>('0' + value % 10);
  };
  put(0, static_cast<int>(ymd.year()), 4);
  buf[4] = '-';
  put(5, static_cast<unsigned>(ymd.month()), 2);
  buf[7] = '-';
  put(8, static_cast<unsigned>(ymd.day()), 2);
  buf[10] = 'T';
  put(11, secs / 3600, 2);
  buf[13] = ':';
  put(14, secs / 60 % 60, 2);
  buf[16] = ':';
  put(17, secs % 60, 2);
  buf[19] = '.';
  put(20, in_day % 1000000, 6);
  buf[26] = 'Z';
  return std::string(buf, 27);
}

namespace {

constexpr const char* kManifestSchema = "https://schemas.getdbt.com/dbt/manifest/v12.json";
constexpr const char* kRunResultsSchema = "https://schemas.getdbt.com/dbt/run-results/v6.json";
constexpr const char* kSourcesSchema = "https://schemas.getdbt.com/dbt/sources/v3.json";
// dbt hashes seed files up to this size; a larger seed's checksum is its path.
constexpr uintmax_t kMaxHashedSeed = uintmax_t{1} << 20;

}  // namespace

std::pair<std::string, std::string> NodeChecksum(const Node& n) {
  // Most nodes are generic tests, which have no code of their own.
  static const std::string kEmptySha = Sha256::Of("");
  if (n.type != NodeType::kSeed) return {"sha256", n.raw_code.empty() ? kEmptySha : Sha256::Of(n.raw_code)};
  std::error_code ec;
  const uintmax_t size = fs::file_size(n.seed_path, ec);
  auto hashed = !ec && size <= kMaxHashedSeed ? Sha256::OfFile(n.seed_path) : Result<std::string>(std::string());
  if (hashed.ok() && !hashed->empty()) return {"sha256", *hashed};
  return {"path", n.path};
}

namespace {

// run_started_at ("YYYY-MM-DD HH:MM:SS[.ffffff]", UTC) in the artifacts' ISO form.
std::string IsoOf(std::string timestamp) {
  if (timestamp.size() < 19) return timestamp;
  timestamp[10] = 'T';
  return timestamp + "Z";
}

// The metadata every artifact starts with. Only dbt's keys: readers validate it strictly.
void WriteMetadata(JsonWriter& w, const LoadedProject& p, const char* schema, bool manifest = false) {
  w.Key("metadata");
  w.BeginObject();
  w.Member("dbt_schema_version", schema);
  w.Member("dbt_version", kDbtCompatVersion);
  w.Member("generated_at", IsoTimestamp(std::chrono::system_clock::now()));
  w.Member("invocation_id", p.settings.invocation_id);
  w.Member("invocation_started_at", IsoOf(p.settings.run_started_at));
  // dbt's env: the DBT_ENV_CUSTOM_ENV_* variables, without the prefix.
  constexpr std::string_view kPrefix = "DBT_ENV_CUSTOM_ENV_";
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const size_t eq = kv.find('=');
    if (kv.substr(0, kPrefix.size()) != kPrefix || eq == std::string_view::npos) continue;
    env[std::string(kv.substr(kPrefix.size(), eq - kPrefix.size()))] = std::string(kv.substr(eq + 1));
  }
  w.Key("env");
  w.BeginObject();
  for (const auto& [k, v] : env) w.Member(k, v);
  w.EndObject();
  if (manifest) {
    w.Member("project_name", p.project.name);
    w.Member("project_id", Md5Hex(p.project.name));
    w.Key("user_id");
    w.Null();
    w.Key("send_anonymous_usage_stats");
    w.Bool(false);
    w.Member("adapter_type", p.profile.type);
  }
  w.EndObject();
}

bool IsRefable(NodeType t) { return t == NodeType::kModel || t == NodeType::kSeed || t == NodeType::kSnapshot; }
bool IsGenericTest(const Node& n) { return n.type == NodeType::kTest && !n.test_name.empty(); }
std::string SourceName(const Node& source) { return source.fqn.size() >= 2 ? source.fqn[source.fqn.size() - 2] : ""; }

// The relation a node builds or reads; empty for ephemeral models and tests (dbt's null).
std::string RelationName(const Node& n) {
  if (n.type == NodeType::kSource || n.type == NodeType::kSeed || n.type == NodeType::kSnapshot ||
      (n.type == NodeType::kModel && n.materialized() != "ephemeral")) {
    return RelationText(n.database, n.schema, n.alias.empty() ? n.name : n.alias);
  }
  return "";
}

// Where a node's compiled SQL is written, relative to the target folder: compiled/<project>/
// <path> (compile) or run/<project>/<path>; a generic or unit test's beside its YAML file, as
// <name>.sql.
std::string CompiledFile(const LoadedProject& p, const Node& n, Verb verb) {
  std::string path = n.path;
  if (IsGenericTest(n) || n.type == NodeType::kUnitTest) path = path.substr(0, path.rfind('/') + 1) + n.name + ".sql";
  return std::string(verb == Verb::kCompile ? "compiled/" : "run/") + p.project.name + "/" + path;
}

void NullOr(JsonWriter& w, std::string_view key, const std::string& s) {
  w.Key(key);
  s.empty() ? w.Null() : w.String(s);
}

// The text of the {% macro %} or {% test %} block whose name is at line:col (1-based, columns
// in characters) of `text`, through its {% endmacro %}; empty when it cannot be found.
std::string_view BlockAt(std::string_view text, int line, int col) {
  size_t pos = 0;
  for (int l = 1; l < line; ++l) {
    pos = text.find('\n', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  for (int c = 1; c < col && pos < text.size(); ++c) {
    ++pos;
    while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
  }
  auto skip_blank = [&](size_t i) {
    while (i < text.size() && (text[i] == '-' || std::isspace(static_cast<unsigned char>(text[i])))) ++i;
    return i;
  };
  const size_t start = text.rfind("{%", pos);
  if (start == std::string_view::npos) return {};
  const size_t kw = skip_blank(start + 2);
  std::string end_word;
  if (text.substr(kw, 6) == "macro ") end_word = "endmacro";
  if (text.substr(kw, 5) == "test ") end_word = "endtest";
  if (end_word.empty()) return {};
  for (size_t tag = text.find("{%", pos); tag != std::string_view::npos; tag = text.find("{%", tag + 2)) {
    const size_t word = skip_blank(tag + 2);
    if (text.substr(word, end_word.size()) != end_word) continue;
    const size_t close = text.find("%}", word);
    if (close == std::string_view::npos) return {};
    return text.substr(start, close + 2 - start);
  }
  return {};
}

struct Macro {
  std::string package;
  std::string name;
  std::string path;  // relative to its package's root
  std::string file;  // as read: the built-in file's name, else an absolute path
  bool builtin = false;
  int line = 0;
  int col = 0;
};

// Every macro of the environment: dbt's built-ins (the `dbt` namespace), each package's and
// the root project's (the namespace globals named after them), by unique id.
std::map<std::string, Macro> CollectMacros(const LoadedProject& p) {
  std::map<std::string, Macro> out;
  auto add = [&](const std::string& package, const std::string& root, bool builtin) {
    const jinja::Value* ns = p.env->FindGlobal(package);
    if (ns == nullptr || !ns->is_dict()) return;
    for (const auto& [key, value] : ns->as_dict().entries()) {
      if (!key.is_string() || !value.is_callable() || !value.as_callable().is_macro()) continue;
      // "file:line:col"
      const std::string where = value.as_callable().where();
      const size_t c = where.rfind(':');
      const size_t l = c == std::string::npos || c == 0 ? std::string::npos : where.rfind(':', c - 1);
      if (l == std::string::npos) continue;
      Macro m;
      m.package = package;
      m.name = key.as_string();
      m.file = where.substr(0, l);
      m.line = std::atoi(where.c_str() + l + 1);
      m.col = std::atoi(where.c_str() + c + 1);
      m.builtin = builtin;
      constexpr std::string_view kBuiltinPrefix = "<strata>/";
      if (builtin && m.file.rfind(kBuiltinPrefix, 0) == 0) {
        m.file = m.file.substr(kBuiltinPrefix.size());
        m.path = "macros/" + m.file;
      } else if (!root.empty() && m.file.rfind(root + "/", 0) == 0) {
        m.path = m.file.substr(root.size() + 1);
      } else {
        m.path = m.file;
        m.file = p.project.root + "/" + m.file;
      }
      out["macro." + package + "." + m.name] = std::move(m);
    }
  };
  add("dbt", "", true);
  for (const auto& pkg : p.packages) add(pkg.name, pkg.root, false);
  add(p.project.name, "", false);
  return out;
}

// What every part of the manifest reads: the project, the macros, what the run compiled.
struct ManifestContext {
  ManifestContext(const LoadedProject& project, const RunResults* results, Verb verb)
      : p(project), verb(verb), macros(CollectMacros(project)) {
    created_at = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (results != nullptr) {
      compiled.reserve(results->results.size());
      for (const auto& r : results->results) {
        if (!r.compiled_sql.empty()) compiled[r.unique_id] = &r;
      }
    }
  }
  const LoadedProject& p;
  const Verb verb;
  const std::map<std::string, Macro> macros;
  std::unordered_map<std::string_view, const NodeResult*> compiled;  // by unique id
  double created_at = 0;
};

// Writes resources as dbt's manifest has them, into its own JsonWriter (one per thread).
class NodeWriter {
 public:
  explicit NodeWriter(const ManifestContext& c)
      : p_(c.p), verb_(c.verb), macros_(c.macros), compiled_(c.compiled), created_at_(c.created_at) {}

  JsonWriter& w() { return w_; }

  void Empty(const char* key) {
    w_.Key(key);
    w_.BeginObject();
    w_.EndObject();
  }

  void WriteAny(const Node& n) {
    switch (n.type) {
      case NodeType::kSource:
        return WriteSource(n);
      case NodeType::kExposure:
        return WriteExposure(n);
      case NodeType::kUnitTest:
        return WriteUnitTest(n);
      default:
        return WriteNode(n);
    }
  }

  void WriteMacros() {
    // Each file's text, read once: the built-ins from the binary, the others from disk.
    std::unordered_map<std::string_view, std::string_view> builtin_text;
    for (const auto& f : BuiltinMacroFiles()) builtin_text.emplace(f.name, f.text);
    std::unordered_map<std::string, std::string> read;
    w_.Key("macros");
    w_.BeginObject();
    for (const auto& [id, m] : macros_) {
      std::string_view text;
      if (m.builtin) {
        auto it = builtin_text.find(m.file);
        if (it != builtin_text.end()) text = it->second;
      } else {
        auto it = read.find(m.file);
        if (it == read.end()) {
          auto file = ReadFile(m.file);
          it = read.emplace(m.file, file.ok() ? std::move(*file) : std::string()).first;
        }
        text = it->second;
      }
      w_.Key(id);
      w_.BeginObject();
      w_.Member("name", m.name);
      w_.Member("resource_type", "macro");
      w_.Member("package_name", m.package);
      w_.Member("path", m.path);
      w_.Member("original_file_path", m.path);
      w_.Member("unique_id", id);
      w_.Member("macro_sql", BlockAt(text, m.line, m.col));
      w_.Key("depends_on");
      w_.BeginObject();
      w_.Key("macros");
      w_.BeginArray();
      w_.EndArray();
      w_.EndObject();
      w_.Member("description", "");
      w_.Key("meta");
      w_.BeginObject();
      w_.EndObject();
      w_.Key("docs");
      w_.BeginObject();
      w_.Key("show");
      w_.Bool(true);
      w_.Key("node_color");
      w_.Null();
      w_.EndObject();
      w_.Key("patch_path");
      w_.Null();
      w_.Key("arguments");
      w_.BeginArray();
      w_.EndArray();
      CreatedAt();
      w_.Key("supported_languages");
      w_.Null();
      w_.EndObject();
    }
    w_.EndObject();
  }

  // {% docs %} blocks, all in the root project's namespace (the loader keeps names and texts).
  void WriteDocs() {
    w_.Key("docs");
    w_.BeginObject();
    if (p_.settings.docs != nullptr) {
      for (const auto& [name, text] : *p_.settings.docs) {
        const std::string id = "doc." + p_.project.name + "." + name;
        w_.Key(id);
        w_.BeginObject();
        w_.Member("name", name);
        w_.Member("resource_type", "doc");
        w_.Member("package_name", p_.project.name);
        w_.Member("path", "");
        w_.Member("original_file_path", "");
        w_.Member("unique_id", id);
        w_.Member("block_contents", text);
        w_.EndObject();
      }
    }
    w_.EndObject();
  }

 private:
  // The fields every resource starts with (dbt's BaseResource and GraphResource).
  void WriteBase(const Node& n, const std::string& path) {
    w_.Member("name", n.name);
    w_.Member("resource_type", NodeTypeName(n.type));
    w_.Member("package_name", n.package);
    w_.Member("path", path);
    w_.Member("original_file_path", n.path);
    w_.Member("unique_id", n.unique_id);
    w_.Key("fqn");
    w_.StringArray(n.fqn);
  }

  void CreatedAt() {
    w_.Key("created_at");
    w_.Double(created_at_);
  }

  // A model's, seed's, snapshot's or test's path within its resource folder, as dbt's `path`:
  // "staging/stg_orders.sql" for models/staging/stg_orders.sql; a generic test's is its name.
  std::string ResourcePath(const Node& n) const {
    if (IsGenericTest(n)) return n.name + ".sql";
    if (n.package != p_.project.name) return n.path;
    const std::vector<std::string>* dirs = n.type == NodeType::kModel      ? &p_.project.model_paths
                                           : n.type == NodeType::kSeed     ? &p_.project.seed_paths
                                           : n.type == NodeType::kSnapshot ? &p_.project.snapshot_paths
                                           : n.type == NodeType::kTest     ? &p_.project.test_paths
                                                                           : nullptr;
    if (dirs == nullptr) return n.path;
    for (const auto& dir : *dirs) {
      if (dir.empty()) continue;
      std::string prefix = dir.back() == '/' ? dir : dir + "/";
      if (n.path.size() > prefix.size() && n.path.compare(0, prefix.size(), prefix) == 0) {
        return n.path.substr(prefix.size());
      }
    }
    return n.path;
  }

  // The SHA-256 of the node's file: its SQL, or a seed's CSV (a seed over 1 MiB by its path,
  // as dbt does).
  void Checksum(const Node& n) {
    auto [name, sum] = NodeChecksum(n);
    w_.Key("checksum");
    w_.BeginObject();
    w_.Member("name", name);
    w_.Member("checksum", sum);
    w_.EndObject();
  }

  // refs and sources from the node's parents: dbt's [{name, package, version}] and
  // [[source_name, table]].
  void RefsAndSources(const Node& n) {
    parents_.clear();
    for (const auto& id : n.depends_on) {
      if (const Node* parent = Find(id)) parents_.push_back(parent);
    }
    w_.Key("refs");
    w_.BeginArray();
    for (const Node* parent : parents_) {
      if (!IsRefable(parent->type)) continue;
      w_.BeginObject();
      w_.Member("name", parent->name);
      NullOr(w_, "package", parent->package == n.package ? "" : parent->package);
      w_.Key("version");
      w_.Null();
      w_.EndObject();
    }
    w_.EndArray();
    w_.Key("sources");
    w_.BeginArray();
    for (const Node* parent : parents_) {
      if (parent->type != NodeType::kSource) continue;
      w_.BeginArray();
      w_.String(SourceName(*parent));
      w_.String(parent->name);
      w_.EndArray();
    }
    w_.EndArray();
    w_.Key("metrics");
    w_.BeginArray();
    w_.EndArray();
  }

  void DependsOn(const Node& n, const std::vector<std::string>& macros, bool with_nodes = true) {
    w_.Key("depends_on");
    w_.BeginObject();
    w_.Key("macros");
    w_.StringArray(macros);
    if (with_nodes) {
      w_.Key("nodes");
      w_.StringArray(n.depends_on);
    }
    w_.EndObject();
  }

  // A generic test's macro: test_<name> in its namespace, else in the project, dbt's
  // built-ins or a package (the order the loader resolves it in).
  const std::string& TestMacro(const Node& n) {
    auto [cached, added] = test_macros_.try_emplace(n.test_name);
    if (added) cached->second = FindTestMacro(n.test_name);
    return cached->second;
  }
  std::string FindTestMacro(const std::string& test_name) const {
    std::string name = test_name, ns;
    if (size_t dot = name.find('.'); dot != std::string::npos) {
      ns = name.substr(0, dot);
      name = name.substr(dot + 1);
    }
    const std::string macro = "test_" + name;
    if (!ns.empty()) return "macro." + ns + "." + macro;
    std::vector<std::string> order = {p_.project.name, "dbt"};
    for (const auto& pkg : p_.packages) order.push_back(pkg.name);
    for (const auto& pkg : order) {
      if (macros_.count("macro." + pkg + "." + macro)) return "macro." + pkg + "." + macro;
    }
    return "";
  }

  // dbt's test_metadata: the generic test's name, namespace and arguments (with `model` and
  // `column_name`, as dbt records them).
  void TestMetadata(const Node& n) {
    const size_t dot = n.test_name.find('.');
    // The tested node is among the parents RefsAndSources found.
    const Node* tested = nullptr;
    for (const Node* parent : parents_) {
      if (parent->unique_id == n.attached_node) tested = parent;
    }
    std::string model;
    if (tested != nullptr) {
      model = tested->type == NodeType::kSource ? "source('" + SourceName(*tested) + "', '" + tested->name + "')"
                                                : "ref('" + tested->name + "')";
    }
    w_.Key("test_metadata");
    w_.BeginObject();
    w_.Member("name", dot == std::string::npos ? n.test_name : n.test_name.substr(dot + 1));
    w_.Key("kwargs");
    w_.BeginObject();
    if (!n.column_name.empty()) w_.Member("column_name", n.column_name);
    if (!model.empty()) w_.Member("model", "{{ get_where_subquery(" + model + ") }}");
    for (const auto& [k, v] : n.test_kwargs.items()) {
      if (k == "column_name" || k == "model") continue;
      w_.Member(k, v);
    }
    w_.EndObject();
    NullOr(w_, "namespace", dot == std::string::npos ? "" : n.test_name.substr(0, dot));
    w_.EndObject();
    if (tested != nullptr) {
      w_.Member("file_key_name",
                (tested->type == NodeType::kSource ? "sources." + SourceName(*tested) : "models." + tested->name));
    }
  }

  // Models, seeds, snapshots and tests (dbt's Model, Seed, Snapshot, SingularTest, GenericTest).
  void WriteNode(const Node& n) {
    const bool seed = n.type == NodeType::kSeed;
    w_.BeginObject();
    w_.Member("database", n.database);
    w_.Member("schema", n.schema);
    WriteBase(n, ResourcePath(n));
    w_.Member("alias", n.alias.empty() ? n.name : n.alias);
    Checksum(n);
    w_.Member("config", n.config);
    w_.Key("tags");
    w_.StringArray(n.tags);
    w_.Member("description", n.description);
    w_.Member("columns", n.columns);
    w_.Member("meta", n.meta);
    const json* group = n.config.contains("group") ? &n.config["group"] : nullptr;
    NullOr(w_, "group", group != nullptr && group->is_string() ? group->get<std::string>() : "");
    const json* docs = n.config.contains("docs") && n.config["docs"].is_object() ? &n.config["docs"] : nullptr;
    w_.Key("docs");
    w_.BeginObject();
    w_.Key("show");
    w_.Bool(docs == nullptr || docs->value("show", true));
    w_.Key("node_color");
    docs != nullptr && docs->contains("node_color") ? w_.Value((*docs)["node_color"]) : w_.Null();
    w_.EndObject();
    w_.Key("patch_path");
    w_.Null();
    auto compiled = seed ? compiled_.end() : compiled_.find(n.unique_id);
    const std::string file =
        compiled == compiled_.end() ? "" : p_.project.target_path + "/" + CompiledFile(p_, n, verb_);
    NullOr(w_, "build_path", verb_ == Verb::kCompile ? "" : file);
    w_.Key("unrendered_config");
    w_.BeginObject();
    w_.EndObject();
    CreatedAt();
    NullOr(w_, "relation_name", RelationName(n));
    w_.Member("raw_code", n.raw_code);
    if (seed) {
      w_.Member("root_path", p_.project.root);
      DependsOn(n, {}, /*with_nodes=*/false);
      w_.EndObject();
      return;
    }
    w_.Member("language", "sql");
    RefsAndSources(n);
    std::vector<std::string> macros;
    if (IsGenericTest(n)) {
      const std::string& test_macro = TestMacro(n);
      if (!test_macro.empty()) macros.push_back(test_macro);
      if (macros_.count("macro.dbt.get_where_subquery")) macros.push_back("macro.dbt.get_where_subquery");
    }
    DependsOn(n, macros);
    NullOr(w_, "compiled_path", verb_ == Verb::kCompile ? file : "");
    if (compiled != compiled_.end()) {
      w_.Key("compiled");
      w_.Bool(true);
      w_.Member("compiled_code", compiled->second->compiled_sql);
      w_.Key("extra_ctes_injected");
      w_.Bool(true);
      w_.Key("extra_ctes");
      w_.BeginArray();
      w_.EndArray();
    }
    const json* contract =
        n.config.contains("contract") && n.config["contract"].is_object() ? &n.config["contract"] : nullptr;
    w_.Key("contract");
    w_.BeginObject();
    w_.Key("enforced");
    w_.Bool(contract != nullptr && contract->value("enforced", false));
    w_.Key("alias_types");
    w_.Bool(contract == nullptr || contract->value("alias_types", true));
    w_.Key("checksum");
    w_.Null();
    w_.EndObject();
    if (n.type == NodeType::kModel) {
      const json* access = n.config.contains("access") ? &n.config["access"] : nullptr;
      w_.Member("access", access != nullptr && access->is_string() ? access->get<std::string>() : "protected");
      for (const char* key : {"version", "latest_version", "deprecation_date"}) {
        w_.Key(key);
        w_.Null();
      }
    }
    if (IsGenericTest(n)) {
      NullOr(w_, "column_name", n.column_name);
      NullOr(w_, "attached_node", n.attached_node);
      TestMetadata(n);
    }
    w_.EndObject();
  }

  void WriteSource(const Node& n) {
    w_.BeginObject();
    w_.Member("database", n.database);
    w_.Member("schema", n.schema);
    WriteBase(n, n.path);
    w_.Member("source_name", SourceName(n));
    w_.Member("source_description", "");
    w_.Member("loader", "");
    w_.Member("identifier", n.alias.empty() ? n.name : n.alias);
    w_.Key("quoting");
    w_.BeginObject();
    w_.EndObject();
    const json* loaded_at = n.config.contains("loaded_at_field") ? &n.config["loaded_at_field"] : nullptr;
    NullOr(w_, "loaded_at_field", loaded_at != nullptr && loaded_at->is_string() ? loaded_at->get<std::string>() : "");
    w_.Key("freshness");
    n.config.contains("freshness") && n.config["freshness"].is_object() ? w_.Value(n.config["freshness"]) : w_.Null();
    w_.Key("external");
    w_.Null();
    w_.Member("description", n.description);
    w_.Member("columns", n.columns);
    w_.Member("meta", n.meta);
    w_.Key("source_meta");
    w_.BeginObject();
    w_.EndObject();
    w_.Key("tags");
    w_.StringArray(n.tags);
    w_.Member("config", n.config);
    w_.Key("patch_path");
    w_.Null();
    w_.Key("unrendered_config");
    w_.BeginObject();
    w_.EndObject();
    NullOr(w_, "relation_name", RelationName(n));
    CreatedAt();
    w_.EndObject();
  }

  void WriteExposure(const Node& n) {
    auto text = [&](const char* key) {
      const json* v = n.config.contains(key) ? &n.config[key] : nullptr;
      return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
    };
    w_.BeginObject();
    WriteBase(n, n.path);
    w_.Member("type", text("type").empty() ? "dashboard" : text("type"));
    w_.Key("owner");
    n.config.contains("owner") && n.config["owner"].is_object() ? w_.Value(n.config["owner"])
                                                                : w_.Value(json::object());
    w_.Member("description", n.description);
    NullOr(w_, "label", text("label"));
    NullOr(w_, "maturity", text("maturity"));
    w_.Member("meta", n.meta);
    w_.Key("tags");
    w_.StringArray(n.tags);
    w_.Member("config", n.config);
    w_.Key("unrendered_config");
    w_.BeginObject();
    w_.EndObject();
    NullOr(w_, "url", text("url"));
    DependsOn(n, {});
    RefsAndSources(n);
    CreatedAt();
    w_.EndObject();
  }

  void WriteUnitTest(const Node& n) {
    const Node* model = Find(n.attached_node);
    auto spec = p_.unit_tests.find(n.unique_id);
    w_.BeginObject();
    w_.Member("model", model != nullptr ? model->name : "");
    if (spec != p_.unit_tests.end()) {
      w_.Member("given", spec->second.given);
      w_.Member("expect", spec->second.expect);
    } else {
      w_.Member("given", json::array());
      w_.Member("expect", json::object());
    }
    WriteBase(n, n.path);
    w_.Member("description", n.description);
    if (spec != p_.unit_tests.end()) w_.Member("overrides", spec->second.overrides);
    DependsOn(n, {});
    w_.Member("config", n.config);
    if (model != nullptr) w_.Member("schema", model->schema);
    CreatedAt();
    w_.EndObject();
  }

  const Node* Find(const std::string& id) const { return p_.manifest.Find(id); }

  const LoadedProject& p_;
  const Verb verb_;
  const std::map<std::string, Macro>& macros_;
  const std::unordered_map<std::string_view, const NodeResult*>& compiled_;
  const double created_at_;
  std::vector<const Node*> parents_;                          // of the node being written
  std::unordered_map<std::string, std::string> test_macros_;  // by generic test name
  JsonWriter w_;
};

// The manifest's text. Its nodes, the bulk of it, are written on one thread and the other
// sections on another; the second text is appended to the first (its writer's object left
// open), which usually has the room for it.
std::string ManifestText(const LoadedProject& p, const RunResults* results, Verb verb) {
  const ManifestContext context(p, results, verb);
  // The manifest lists enabled nodes by section, the disabled ones apart.
  std::vector<const Node*> nodes, sources, exposures, unit_tests, disabled;
  for (const auto& [id, n] : p.manifest.nodes()) {
    std::vector<const Node*>* in = !n.enabled()                    ? &disabled
                                   : n.type == NodeType::kSource   ? &sources
                                   : n.type == NodeType::kExposure ? &exposures
                                   : n.type == NodeType::kUnitTest ? &unit_tests
                                                                   : &nodes;
    in->push_back(&n);
  }
  std::string texts[2];
  Status written = ParallelFor(2, 2, [&](size_t i) {
    NodeWriter nw(context);
    JsonWriter& w = nw.w();
    w.BeginObject();
    auto section = [&](const char* name, const std::vector<const Node*>& list) {
      w.Key(name);
      w.BeginObject();
      for (const Node* n : list) {
        w.Key(n->unique_id);
        nw.WriteAny(*n);
      }
      w.EndObject();
    };
    if (i == 0) {
      WriteMetadata(w, p, kManifestSchema, /*manifest=*/true);
      section("nodes", nodes);
      texts[0] = w.Take();  // {"metadata":{...},"nodes":{...}
      return Status::OK();
    }
    section("sources", sources);
    nw.WriteMacros();
    nw.WriteDocs();
    section("exposures", exposures);
    for (const char* empty : {"metrics", "groups", "selectors"}) nw.Empty(empty);
    w.Key("disabled");
    w.BeginObject();
    for (const Node* n : disabled) {
      w.Key(n->unique_id);
      w.BeginArray();
      nw.WriteAny(*n);
      w.EndArray();
    }
    w.EndObject();
    for (bool parents : {true, false}) {
      w.Key(parents ? "parent_map" : "child_map");
      w.BeginObject();
      for (const auto& id : p.graph.Nodes()) {
        w.Key(id);
        w.StringArray(parents ? p.graph.Parents(id) : p.graph.Children(id));
      }
      w.EndObject();
    }
    for (const char* empty : {"group_map", "saved_queries", "semantic_models"}) nw.Empty(empty);
    section("unit_tests", unit_tests);
    w.EndObject();
    texts[1] = w.Take();  // {"sources":...}
    return Status::OK();
  });
  (void)written;  // the parts cannot fail
  std::string out = std::move(texts[0]);
  out.push_back(',');
  out.append(std::string_view(texts[1]).substr(1));
  out.push_back('\n');
  return out;
}

// dbt's `which`: the command's name as dbt spells it.
const char* Which(Verb verb) { return verb == Verb::kList ? "list" : VerbName(verb); }

void WriteTiming(JsonWriter& w, const NodeResult& r, Verb verb) {
  w.Key("timing");
  w.BeginArray();
  if (r.started_at != std::chrono::system_clock::time_point{}) {
    const std::string start = IsoTimestamp(r.started_at), end = IsoTimestamp(r.completed_at);
    const bool compile_only = verb == Verb::kCompile || verb == Verb::kList;
    for (const char* phase : {"compile", "execute"}) {
      const bool compile = phase[0] == 'c';
      w.BeginObject();
      w.Member("name", phase);
      w.Member("started_at", compile || !compile_only ? start : end);
      w.Member("completed_at", compile && !compile_only ? start : end);
      w.EndObject();
    }
  }
  w.EndArray();
}

// dbt's adapter response of a node that built something: the statement's kind and the rows it
// affected. Empty ({} in the file) for tests, skips, failures and compiling, as in dbt.
std::string AdapterMessage(const NodeResult& r, const Node* n, std::string* code) {
  if (n == nullptr || r.status != "success" || !IsRefable(n->type) || r.materialized.empty() ||
      r.materialized == "ephemeral") {
    return "";
  }
  const std::string& m = r.materialized;
  if (m == "view") {
    *code = "CREATE VIEW";
  } else if (m == "table") {
    *code = "CREATE TABLE";
  } else if (m == "incremental" || m == "seed" || m == "snapshot") {
    *code = "INSERT";
  } else {
    *code = "OK";  // a custom materialization
  }
  return r.rows_affected < 0 ? *code : *code + " " + std::to_string(r.rows_affected);
}

// dbt's `args`: what RunOptions holds, then the command line's other arguments.
void WriteArgs(JsonWriter& w, const LoadedProject& p, const RunOptions& options, const ArtifactExtras& extras) {
  const SelectOptions& s = options.selection;
  json args = {{"which", Which(options.verb)},
               {"indirect_selection", s.indirect_tests ? s.indirect_selection : std::string("empty")},
               {"threads", options.threads > 0 ? options.threads : p.profile.threads},
               {"full_refresh", options.full_refresh},
               {"fail_fast", options.fail_fast},
               {"vars", p.settings.cli_vars.is_object() ? p.settings.cli_vars : json::object()},
               {"project_dir", p.project.root},
               {"target", p.profile.target}};
  if (!s.select.empty()) args["select"] = s.select;
  if (!s.exclude.empty()) args["exclude"] = s.exclude;
  if (!s.resource_types.empty()) args["resource_types"] = s.resource_types;
  if (extras.args.is_object()) {
    for (const auto& [k, v] : extras.args.items()) {
      if (k != "which" && (!args.contains(k) || k == "select" || k == "exclude")) args[k] = v;
    }
  }
  w.Member("args", args);
}

// target/sources.json: dbt writes it instead of run_results.json for `source freshness`.
std::string SourcesJson(const LoadedProject& project, const RunResults& results) {
  JsonWriter w;
  w.BeginObject();
  WriteMetadata(w, project, kSourcesSchema);
  w.Key("results");
  w.BeginArray();
  for (const auto& r : results.results) {
    w.BeginObject();
    w.Member("unique_id", r.unique_id);
    if (!r.freshness.is_object() || !r.freshness.contains("max_loaded_at")) {
      w.Member("status", "runtime error");
      w.Member("error", r.message);
      w.EndObject();
      continue;
    }
    for (const auto& [k, v] : r.freshness.items()) {
      if (k != "unique_id" && k != "status") w.Member(k, v);
    }
    w.Member("status", r.status);
    w.Key("adapter_response");
    w.BeginObject();
    w.EndObject();
    WriteTiming(w, r, Verb::kFreshness);
    w.Member("thread_id", r.thread_id.empty() ? "main" : r.thread_id);
    w.Key("execution_time");
    w.Double(r.seconds);
    if (!r.message.empty()) w.Member("message", r.message);
    w.EndObject();
  }
  w.EndArray();
  w.Key("elapsed_time");
  w.Double(results.elapsed);
  w.EndObject();
  std::string text = w.Take();
  text.push_back('\n');
  return text;
}

}  // namespace

Status WriteManifest(const LoadedProject& project, const RunResults* results, Verb verb, const std::string& target) {
  // Written straight to text, compact as dbt writes it: a DOM of the whole manifest dumped by
  // nlohmann::json cost more than compiling the project.
  std::string text = ManifestText(project, results, verb);
  return WriteFileAtomic(target + "/manifest.json", text, Durability::kAtomicOnly);
}

Status WriteRunResults(const LoadedProject& project, const RunResults& results, const RunOptions& options,
                       const std::string& target, const ArtifactExtras& extras) {
  if (options.verb == Verb::kFreshness) {
    return WriteFileAtomic(target + "/sources.json", SourcesJson(project, results), Durability::kAtomicOnly);
  }
  JsonWriter w;
  w.BeginObject();
  WriteMetadata(w, project, kRunResultsSchema);
  w.Key("results");
  w.BeginArray();
  std::vector<std::pair<std::string, const std::string*>> files;  // compiled SQL per node
  for (const auto& r : results.results) {
    const Node* n = project.manifest.Find(r.unique_id);
    std::string code;
    const std::string adapter_message = AdapterMessage(r, n, &code);
    w.BeginObject();
    w.Member("status", extras.warn_error && r.status == "warn" ? std::string("fail") : r.status);
    WriteTiming(w, r, options.verb);
    w.Member("thread_id", r.thread_id.empty() ? "main" : r.thread_id);
    w.Key("execution_time");
    w.Double(r.seconds);
    w.Key("adapter_response");
    w.BeginObject();
    if (!adapter_message.empty()) {
      w.Member("_message", adapter_message);
      w.Member("code", code);
      if (r.rows_affected >= 0) {
        w.Key("rows_affected");
        w.Int(r.rows_affected);
      }
    }
    w.EndObject();
    NullOr(w, "message", r.message.empty() ? adapter_message : r.message);
    w.Key("failures");
    r.failures < 0 ? w.Null() : w.Int(r.failures);
    w.Member("unique_id", r.unique_id);
    w.Key("compiled");
    n == nullptr || n->type == NodeType::kSeed ? w.Null() : w.Bool(!r.compiled_sql.empty());
    NullOr(w, "compiled_code", r.compiled_sql);
    NullOr(w, "relation_name", n == nullptr ? "" : RelationName(*n));
    w.Key("batch_results");
    w.Null();
    w.EndObject();
    if (n != nullptr && !r.compiled_sql.empty()) {
      files.emplace_back(target + "/" + CompiledFile(project, *n, options.verb), &r.compiled_sql);
    }
  }
  w.EndArray();
  w.Key("elapsed_time");
  w.Double(results.elapsed);
  WriteArgs(w, project, options, extras);
  w.EndObject();
  // Debugging artifacts, rewritten every run: atomic, not worth an fsync each, and left alone
  // when unchanged (most of them, when re-compiling after an edit).
  STRATA_RETURN_IF_ERROR(ParallelFor(files.size(), CpuThreads(), [&](size_t i) {
    return WriteFileIfChanged(files[i].first, *files[i].second + "\n").status();
  }));
  std::string doc = w.Take();
  doc.push_back('\n');
  return WriteFileAtomic(target + "/run_results.json", doc, Durability::kAtomicOnly);
}

Status WriteDbtArtifacts(const LoadedProject& project, const RunResults* results, const RunOptions& options,
                         const ArtifactExtras& extras) {
  const std::string& path = project.project.target_path;
  const std::string target = fs::path(path).is_absolute() ? path : project.project.root + "/" + path;
  if (results == nullptr) return WriteManifest(project, nullptr, options.verb, target);
  // Serializing the manifest takes as long as writing the results: do both at once.
  auto manifest = std::async(std::launch::async, [&] { return WriteManifest(project, results, options.verb, target); });
  Status written = WriteRunResults(project, *results, options, target, extras);
  Status manifest_written = manifest.get();
  return manifest_written.ok() ? written : manifest_written;
}

}  // namespace strata::transform
