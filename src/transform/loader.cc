#include "transform/loader.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <random>
#include <set>

#include "core/date.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/parallel.h"
#include "core/strings.h"
#include "transform/builtin_macros.h"
#include "transform/jinja/call_context.h"
#include "transform/jinja/callable.h"

namespace strata::transform {

namespace fs = std::filesystem;
using jinja::Value;
using nlohmann::json;

namespace {

// Files under `root/dir` with extension `ext`, as paths relative to `root`, sorted.
std::vector<std::string> FindFiles(const std::string& root, const std::string& dir, const std::string& ext) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::path base = fs::path(root) / dir;
  if (!fs::is_directory(base, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ext) continue;
    out.push_back(fs::relative(it->path(), root, ec).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// [project, dirs below the resource path..., name].
std::vector<std::string> Fqn(const std::string& project, const std::string& rel_path, const std::string& name) {
  std::vector<std::string> fqn = {project};
  fs::path p(rel_path);
  auto it = p.begin();
  if (it != p.end()) ++it;  // skip the resource folder (models/, seeds/, ...)
  for (; it != p.end(); ++it) {
    if (std::next(it) == p.end()) break;
    fqn.push_back(it->string());
  }
  fqn.push_back(name);
  return fqn;
}

std::string Stem(const std::string& rel_path) { return fs::path(rel_path).stem().string(); }

// dbt's cleaning of test arguments for names: every run of characters other than letters,
// digits and '_' becomes one '_'.
std::string CleanArg(const std::string& s) {
  std::string out;
  bool in_run = false;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      out.push_back(c);
      in_run = false;
    } else if (!in_run) {
      out.push_back('_');
      in_run = true;
    }
  }
  return out;
}

// Python's str() of a YAML value, as dbt names tests with it.
std::string PyStr(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "None";
  return v.dump();
}

// dbt's generic test names: <namespace_><test>_<target>_<args>, the arguments (column_name
// among them) sorted by name, lists and dicts flattened to their values, cleaned and joined
// with "__": not_null_orders_id, accepted_values_orders_status__a__b; tests of a source start
// with source_. A name of 64 characters or more keeps its full form as the node's name; its
// alias (the compiled file's and the stored failures' name) is then the first 30 characters
// of <namespace_><test>_<target> and the MD5 of the full name.
struct TestNames {
  std::string name, alias;
};
TestNames GenericTestNames(const TestSpec& t, const std::string& target_name, bool on_source) {
  if (t.config.contains("alias_name") && t.config["alias_name"].is_string()) {
    return {t.config["alias_name"].get<std::string>(), ""};
  }
  json args = t.kwargs.is_object() ? t.kwargs : json::object();  // sorted by key
  if (!t.column_name.empty()) args["column_name"] = t.column_name;
  std::string unique;
  for (const auto& [k, v] : args.items()) {
    std::vector<std::string> parts;
    if (v.is_object()) {
      for (const auto& [unused, x] : v.items()) parts.push_back(PyStr(x));
    } else if (v.is_array()) {
      for (const auto& x : v) parts.push_back(PyStr(x));
    } else {
      parts.push_back(PyStr(v));
    }
    for (const auto& p : parts) unique += (unique.empty() ? "" : "__") + CleanArg(p);
  }
  const std::string identifier = std::string(on_source ? "source_" : "") + (t.package.empty() ? "" : t.package + "_") +
                                 t.test_name + "_" + target_name;
  const std::string full = identifier + "_" + unique;
  if (full.size() >= 64) return {full, identifier.substr(0, 30) + "_" + Md5Hex(full)};
  return {full, ""};
}

// The profile's target (its values may use env_var()).
Result<Profile> LoadTarget(const DbtProject& proj, const LoadOptions& options) {
  jinja::Environment tmp;
  ContextSettings s;
  s.project_name = proj.name;
  s.allow_secret_env = true;  // profiles.yml is where secrets belong
  InstallDbtContext(&tmp, s);
  TextRenderer render = [&tmp](const std::string& text, const std::string& where) -> Result<std::string> {
    STRATA_ASSIGN_OR_RETURN(auto t, tmp.Parse(text, where));
    jinja::Context ctx;
    return tmp.Render(*t, ctx);
  };
  return LoadProfile(proj, options.profiles_dir, options.target, render);
}

// A fresh random UUID (version 4) per invocation, as dbt's invocation_id.
std::string NewInvocationId() {
  std::random_device rd;
  unsigned char b[16];
  for (auto& x : b) x = static_cast<unsigned char>(rd());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
  }
  return out;
}

// The settings every render of this invocation shares.
ContextSettings MakeContextSettings(const DbtProject& proj, const Profile& profile, const LoadOptions& options) {
  ContextSettings settings;
  settings.project_name = proj.name;
  settings.profile = profile;
  settings.project_vars = proj.vars;
  settings.cli_vars = options.cli_vars;
  settings.full_refresh = options.full_refresh;
  settings.which = options.which;
  settings.empty = options.empty;
  if (options.run_started_at.empty()) {
    // With microseconds, as dbt's current_timestamp: snapshot versions of runs within one
    // second must not share a time (a zero-length interval makes the chain ambiguous).
    const int64_t micros =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    settings.run_started_at = FormatTimestampMicros(micros);
  } else {
    settings.run_started_at = options.run_started_at;
  }
  settings.docs = std::make_shared<std::map<std::string, std::string>>();
  settings.invocation_id = NewInvocationId();
  return settings;
}

// dbt's built-in macros, callable by name and in the `dbt` namespace. They come first: the
// project's macros, added next, override them by name.
Status AddBuiltinMacros(jinja::Environment* env) {
  std::vector<jinja::Definition> builtin_defs;
  for (const auto& f : BuiltinMacroFiles()) {
    STRATA_ASSIGN_OR_RETURN(auto defs, env->ParseDefinitions(f.text, std::string("<strata>/") + f.name));
    builtin_defs.insert(builtin_defs.end(), defs.begin(), defs.end());
  }
  env->AddMacros(builtin_defs);
  env->AddGlobal("dbt", jinja::Environment::MacroNamespace(builtin_defs));
  return Status::OK();
}

// A project's macros and generic tests ({% test %} in macro paths and in <test path>/generic),
// in its namespace (the global of its name, so `dbt_utils.star()` works); the root project's
// are also callable by bare name, overriding dbt's. A package's macros reach each other by
// bare name too (ParseDefinitions' package). {% docs %} blocks go to `docs`.
Status AddProjectMacros(const DbtProject& proj, bool root, jinja::Environment* env,
                        std::map<std::string, std::string>* docs) {
  std::vector<std::string> macro_files;
  for (const auto& dir : proj.macro_paths) {
    for (const auto& f : FindFiles(proj.root, dir, ".sql")) macro_files.push_back(f);
  }
  for (const auto& dir : proj.test_paths) {
    for (const auto& f : FindFiles(proj.root, dir + "/generic", ".sql")) macro_files.push_back(f);
  }
  // Files are named relative to the root project: a package's as dbt_packages/<name>/...
  std::string shown_prefix = root ? "" : proj.root + "/";
  std::vector<jinja::Definition> project_defs;
  for (const auto& rel : macro_files) {
    STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(proj.root + "/" + rel));
    STRATA_ASSIGN_OR_RETURN(auto defs, env->ParseDefinitions(text, shown_prefix + rel, root ? "" : proj.name));
    for (auto& d : defs) {
      if (d.kind == jinja::Definition::Kind::kDocs) (*docs)[d.name] = d.text;
      if (d.kind == jinja::Definition::Kind::kMacro || d.kind == jinja::Definition::Kind::kTest) {
        project_defs.push_back(d);
      }
    }
  }
  if (root) env->AddMacros(project_defs);
  env->AddGlobal(proj.name, jinja::Environment::MacroNamespace(project_defs));
  return Status::OK();
}

// The number of entries in packages.yml / dependencies.yml (0 when neither exists).
Result<size_t> DeclaredPackages(const DbtProject& proj) {
  std::error_code ec;
  for (const char* name : {"packages.yml", "dependencies.yml"}) {
    std::string file = proj.root + "/" + name;
    if (!fs::exists(file, ec)) continue;
    STRATA_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::Load(file));
    if (root.IsNull() || root["packages"].IsNull()) continue;
    return root["packages"].size();
  }
  return size_t{0};
}

// The installed packages (<packages-install-path>/*/dbt_project.yml), sorted by name. Fewer
// than packages.yml declares is the error dbt gives: run deps.
Result<std::vector<DbtProject>> LoadPackages(const DbtProject& proj) {
  std::string dir = proj.packages_install_path;
  if (dir.empty() || dir[0] != '/') dir = proj.root + "/" + dir;
  std::vector<DbtProject> packages;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    std::vector<std::string> folders;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      // Staging folders and the lock of `strata deps` start with a dot.
      if (e.path().filename().string().rfind('.', 0) == 0) continue;
      if (e.is_directory(ec) && fs::exists(e.path() / "dbt_project.yml", ec)) folders.push_back(e.path().string());
    }
    std::sort(folders.begin(), folders.end());
    for (const auto& f : folders) {
      auto p = DbtProject::Load(f);
      if (!p.ok()) return p.status().WithContext("reading the installed package in " + f);
      if (p->name == proj.name) {
        return Status::InvalidArgument("the package in " + f + " has the root project's name '" + proj.name + "'");
      }
      for (const auto& other : packages) {
        if (other.name == p->name) {
          return Status::InvalidArgument("two installed packages are named '" + p->name + "': " + other.root + " and " +
                                         p->root);
        }
      }
      packages.push_back(std::move(*p));
    }
  }
  STRATA_ASSIGN_OR_RETURN(size_t declared, DeclaredPackages(proj));
  if (declared > packages.size()) {
    return Status::InvalidArgument(std::to_string(declared) + " package(s) are specified in packages.yml, but only " +
                                   std::to_string(packages.size()) + " are installed in " + dir +
                                   ": run 'strata deps' to install them");
  }
  return packages;
}

// Docs blocks (*.md) in model paths, into `docs`.
Status AddDocsBlocks(const DbtProject& proj, const jinja::Environment& env, std::map<std::string, std::string>* docs) {
  for (const auto& dir : proj.model_paths) {
    for (const auto& rel : FindFiles(proj.root, dir, ".md")) {
      STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(proj.root + "/" + rel));
      STRATA_ASSIGN_OR_RETURN(auto defs, env.ParseDefinitions(text, rel));
      for (auto& d : defs) {
        if (d.kind == jinja::Definition::Kind::kDocs) (*docs)[d.name] = d.text;
      }
    }
  }
  return Status::OK();
}

// A node named `name` from the file `rel` (relative to the project root) of a `resource` folder
// ("models", "seeds", ...): its ids, path, fqn and dbt_project.yml folder config.
Node FileNode(const DbtProject& proj, NodeType type, const std::string& resource, const std::string& rel,
              const std::string& name) {
  Node n;
  n.type = type;
  n.name = name;
  n.package = proj.name;
  n.unique_id = std::string(NodeTypeName(type)) + "." + proj.name + "." + name;
  n.path = rel;
  n.fqn = Fqn(proj.name, rel, name);
  n.config = proj.FolderConfig(resource, n.fqn);
  return n;
}

// Models: the *.sql files in model paths.
Status FindModels(const DbtProject& proj, std::vector<Node>* out) {
  for (const auto& dir : proj.model_paths) {
    for (const auto& rel : FindFiles(proj.root, dir, ".sql")) {
      Node n = FileNode(proj, NodeType::kModel, "models", rel, Stem(rel));
      STRATA_ASSIGN_OR_RETURN(n.raw_code, ReadFile(proj.root + "/" + rel));
      out->push_back(std::move(n));
    }
  }
  return Status::OK();
}

// Seeds: the *.csv files in seed paths. A seed has no raw_code: the run loads its seed_path.
void FindSeeds(const DbtProject& proj, std::vector<Node>* out) {
  for (const auto& dir : proj.seed_paths) {
    for (const auto& rel : FindFiles(proj.root, dir, ".csv")) {
      Node n = FileNode(proj, NodeType::kSeed, "seeds", rel, Stem(rel));
      n.seed_path = proj.root + "/" + rel;
      if (!n.config.contains("materialized")) n.config["materialized"] = "seed";
      out->push_back(std::move(n));
    }
  }
}

// Snapshots: each {% snapshot %} block of the *.sql files in snapshot paths. A block's body,
// kept in `bodies` by unique id, is the snapshot's template.
Status FindSnapshots(const DbtProject& proj, bool root, const jinja::Environment& env, std::vector<Node>* out,
                     std::map<std::string, std::shared_ptr<jinja::Template>>* bodies) {
  for (const auto& dir : proj.snapshot_paths) {
    for (const auto& rel : FindFiles(proj.root, dir, ".sql")) {
      STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(proj.root + "/" + rel));
      STRATA_ASSIGN_OR_RETURN(auto defs,
                              env.ParseDefinitions(text, root ? rel : proj.root + "/" + rel, root ? "" : proj.name));
      for (auto& d : defs) {
        if (d.kind != jinja::Definition::Kind::kSnapshot) continue;
        Node n = FileNode(proj, NodeType::kSnapshot, "snapshots", rel, d.name);
        n.raw_code = text;
        n.config["materialized"] = "snapshot";
        (*bodies)[n.unique_id] = d.body;
        out->push_back(std::move(n));
      }
    }
  }
  return Status::OK();
}

// Snapshots defined in YAML (dbt 1.9: name, relation, config): a snapshot node of `select *`
// from its relation, which the YAML entry then configures as it would a file's.
void AddYamlSnapshots(const DbtProject& proj, const Properties& props, std::vector<Node>* out) {
  for (const auto& p : props.patches) {
    if (p.resource != "snapshots" || p.relation.empty()) continue;
    Node n = FileNode(proj, NodeType::kSnapshot, "snapshots", p.file, p.name);
    n.raw_code = "select * from {{ " + p.relation + " }}";
    n.config["materialized"] = "snapshot";
    out->push_back(std::move(n));
  }
}

// Singular tests: the *.sql files in test paths, but for the generic tests' definitions
// (<test path>/generic, which are macros).
Status FindSingularTests(const DbtProject& proj, std::vector<Node>* out) {
  for (const auto& dir : proj.test_paths) {
    for (const auto& rel : FindFiles(proj.root, dir, ".sql")) {
      if (rel.find("/generic/") != std::string::npos) continue;
      Node n = FileNode(proj, NodeType::kTest, "tests", rel, Stem(rel));
      STRATA_ASSIGN_OR_RETURN(n.raw_code, ReadFile(proj.root + "/" + rel));
      n.config["materialized"] = "test";
      out->push_back(std::move(n));
    }
  }
  return Status::OK();
}

// The YAML properties files (*.yml, *.yaml) of model, seed and snapshot paths, merged in file
// order.
Result<Properties> ParseAllProperties(const DbtProject& proj) {
  std::set<std::string> yml_files;
  for (const auto& dirs : {proj.model_paths, proj.seed_paths, proj.snapshot_paths}) {
    for (const auto& dir : dirs) {
      for (const char* ext : {".yml", ".yaml"}) {
        for (const auto& rel : FindFiles(proj.root, dir, ext)) yml_files.insert(rel);
      }
    }
  }
  // Files parse independently (in parallel), then merge in file order.
  std::vector<std::string> files(yml_files.begin(), yml_files.end());
  std::vector<Properties> parsed(files.size());
  STRATA_RETURN_IF_ERROR(ParallelFor(files.size(), CpuThreads(), [&](size_t i) {
    return ParseProperties(proj.name, files[i], proj.root + "/" + files[i], &parsed[i]);
  }));
  Properties props;
  for (auto& p : parsed) {
    std::move(p.sources.begin(), p.sources.end(), std::back_inserter(props.sources));
    std::move(p.source_tests.begin(), p.source_tests.end(), std::back_inserter(props.source_tests));
    std::move(p.patches.begin(), p.patches.end(), std::back_inserter(props.patches));
    std::move(p.unit_tests.begin(), p.unit_tests.end(), std::back_inserter(props.unit_tests));
    std::move(p.exposures.begin(), p.exposures.end(), std::back_inserter(props.exposures));
  }
  return props;
}

// Renders every SQL node of the manifest once in parse mode (seeds have none), keeping its
// template in lp->templates: its ref(), source() and config() calls are recorded in `states`,
// and its config() calls also in `file_configs`, by unique id. A snapshot's template is its
// block's body from `snapshot_bodies`.
Status ParseRenderNodes(LoadedProject* lp,
                        const std::map<std::string, std::shared_ptr<jinja::Template>>& snapshot_bodies,
                        std::map<std::string, RenderState>* states, std::map<std::string, json>* file_configs) {
  const jinja::Environment& env = *lp->env;
  // Templates parse and render independently: in parallel, into entries made beforehand.
  std::vector<Node*> to_render;
  for (const auto& [id, node_const] : lp->manifest.nodes()) {
    Node* n = lp->manifest.FindMutable(id);
    if (n->type == NodeType::kSeed) continue;
    to_render.push_back(n);
    (*states)[id];
    (*file_configs)[id];
    lp->templates[id];
  }
  return ParallelFor(to_render.size(), CpuThreads(), [&](size_t i) -> Status {
    Node& node = *to_render[i];
    std::shared_ptr<jinja::Template> tmpl;
    if (auto body = snapshot_bodies.find(node.unique_id); body != snapshot_bodies.end()) {
      tmpl = body->second;
    } else {
      // A package's node names its file under the package's folder, and reaches the package's
      // macros by bare name.
      const DbtProject* owner = lp->ProjectOf(node);
      const bool root = owner == nullptr || owner == &lp->project;
      STRATA_ASSIGN_OR_RETURN(
          tmpl, env.Parse(node.raw_code, root ? node.path : owner->root + "/" + node.path, root ? "" : node.package));
    }
    RenderState& state = states->at(node.unique_id);
    state.mode = RenderMode::kParse;
    state.node = &node;
    jinja::Context ctx;
    FillRenderContext(&ctx, &state, node);
    STRATA_RETURN_IF_ERROR(env.Render(*tmpl, ctx).status());
    file_configs->at(node.unique_id) = state.config;
    lp->templates.at(node.unique_id) = tmpl;
    return Status::OK();
  });
}

// What a YAML entry under models:, seeds: or snapshots: describes.
NodeType PatchedType(const Patch& p) {
  return p.resource == "models" ? NodeType::kModel : p.resource == "seeds" ? NodeType::kSeed : NodeType::kSnapshot;
}

// The unique id of the node a YAML entry describes.
std::string PatchedId(const Patch& p, const std::string& project) {
  return std::string(NodeTypeName(PatchedType(p))) + "." + project + "." + p.name;
}

// Patches: YAML descriptions, columns and configs onto the nodes they describe (the YAML
// config over the folder's). An entry that matches no file is a warning, as in dbt (its tests
// are left out); a node is described once.
// Returns the patch of each described node, by unique id.
Result<std::map<std::string, const Patch*>> ApplyPatches(const std::vector<Patch>& patches, const std::string& project,
                                                         Manifest* manifest, std::vector<std::string>* warnings) {
  std::map<std::string, const Patch*> patch_of;
  for (const auto& p : patches) {
    NodeType type = PatchedType(p);
    std::string id = PatchedId(p, project);
    Node* n = manifest->FindMutable(id);
    if (n == nullptr) {
      std::vector<std::string> names;
      for (const auto& [nid, node] : manifest->nodes()) {
        if (node.type == type) names.push_back(node.name);
      }
      std::string hint = Closest(p.name, names);
      warnings->push_back(p.where + ": " + p.resource + " entry '" + p.name + "' matches no " + NodeTypeName(type) +
                          " file" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                          "; it and its tests are ignored");
      continue;
    }
    if (patch_of.count(id)) {
      return Status::InvalidArgument(p.where + ": '" + p.name + "' is also described in " + patch_of[id]->where);
    }
    patch_of[id] = &p;
    n->description = p.description;
    n->columns = p.columns;
    n->constraints = p.constraints;
    MergeConfig(&n->config, p.config);
  }
  return patch_of;
}

// The config() calls of each node's SQL, over its YAML and folder configs (folder < YAML < config()).
void MergeFileConfigs(const std::map<std::string, json>& file_configs, Manifest* manifest) {
  for (const auto& [id, cfg] : file_configs) {
    Node* n = manifest->FindMutable(id);
    MergeConfig(&n->config, cfg);
  }
}

// The dbt_project.yml folder name of a node type's configs.
const char* ConfigResource(NodeType type) {
  switch (type) {
    case NodeType::kSeed:
      return "seeds";
    case NodeType::kSnapshot:
      return "snapshots";
    case NodeType::kTest:
      return "tests";
    default:
      return "models";
  }
}

// A package's nodes take the root project's dbt_project.yml configs for them (its top-level
// ones and those under the package's name) over their own, config() calls included: dbt
// applies the active project's configs last.
void ApplyRootConfigsToPackages(const DbtProject& root, Manifest* manifest) {
  for (const auto& [id, node_const] : manifest->nodes()) {
    if (node_const.package == root.name || node_const.type == NodeType::kSource) continue;
    Node* n = manifest->FindMutable(id);
    MergeConfig(&n->config, root.FolderConfig(ConfigResource(n->type), n->fqn));
  }
}

// A description, rendered if it has Jinja: descriptions may use doc().
Result<std::string> RenderDescription(const jinja::Environment& env, const std::string& text,
                                      const std::string& where) {
  if (text.find("{{") == std::string::npos && text.find("{%") == std::string::npos) return text;
  STRATA_ASSIGN_OR_RETURN(auto t, env.Parse(text, where));
  jinja::Context ctx;
  return env.Render(*t, ctx);
}

// Each node's tags, from its resolved config, and its and its columns' descriptions rendered
// (errors name the YAML file that describes the node, if any).
Status ResolveTagsAndDescriptions(const jinja::Environment& env, const std::map<std::string, const Patch*>& patch_of,
                                  Manifest* manifest) {
  for (const auto& [id, node_const] : manifest->nodes()) {
    Node* n = manifest->FindMutable(id);
    n->tags.clear();
    if (n->config.contains("tags")) {
      for (const auto& t : n->config["tags"]) {
        if (t.is_string()) n->tags.push_back(t.get<std::string>());
      }
    }
    auto patch = patch_of.find(id);
    std::string where = patch != patch_of.end() ? patch->second->where : n->path;
    STRATA_ASSIGN_OR_RETURN(n->description, RenderDescription(env, n->description, where));
    for (auto& [col, c] : n->columns.items()) {
      STRATA_ASSIGN_OR_RETURN(std::string d, RenderDescription(env, c.value("description", ""), where));
      c["description"] = d;
    }
  }
  return Status::OK();
}

// Renders a YAML expression such as `ref('dim_customers')` in parse mode for `node`, so
// that `state` records the refs and sources it names.
Status RecordRefs(const jinja::Environment& env, const std::string& expr, const std::string& where, Node* node,
                  RenderState* state) {
  STRATA_ASSIGN_OR_RETURN(auto tmpl, env.Parse("{{ " + expr + " }}", where));
  jinja::Context ctx;
  state->mode = RenderMode::kParse;
  state->node = node;
  FillRenderContext(&ctx, state, *node);
  Status rendered = env.Render(*tmpl, ctx).status();
  state->node = nullptr;
  return rendered;
}

// A generic test node from YAML (`spec`, in the file `yml`) on the node or source `attached`;
// the refs and sources its arguments name are recorded in states[its unique id].
Status AddGenericTest(LoadedProject* lp, const DbtProject& proj, const std::string& attached, const TestSpec& spec,
                      const std::string& yml, std::map<std::string, RenderState>* states) {
  const Node* target = lp->manifest.Find(attached);
  Node t;
  t.type = NodeType::kTest;
  std::string target_name =
      target->type == NodeType::kSource ? target->fqn[target->fqn.size() - 2] + "_" + target->name : target->name;
  TestNames names = GenericTestNames(spec, target_name, target->type == NodeType::kSource);
  t.name = names.name;
  t.alias = names.alias;
  t.package = proj.name;
  t.unique_id = "test." + proj.name + "." + t.name;
  t.path = yml;
  t.fqn = Fqn(proj.name, yml, t.name);
  t.config = proj.FolderConfig("tests", t.fqn);
  MergeConfig(&t.config, spec.config);
  t.config.erase("alias_name");
  t.config["materialized"] = "test";
  t.attached_node = attached;
  t.column_name = spec.column_name;
  t.test_name = spec.package.empty() ? spec.test_name : spec.package + "." + spec.test_name;
  t.test_kwargs = spec.kwargs;
  t.depends_on.push_back(attached);
  // Arguments such as `to: ref('dim_customers')` are Jinja expressions: record their refs.
  RenderState& state = (*states)[t.unique_id];
  state.mode = RenderMode::kParse;
  for (const auto& [k, v] : spec.kwargs.items()) {
    if (!v.is_string()) continue;
    std::string s = v.get<std::string>();
    if (s.find("ref(") == std::string::npos && s.find("source(") == std::string::npos) continue;
    STRATA_RETURN_IF_ERROR(RecordRefs(*lp->env, s, spec.where, &t, &state));
  }
  Status s = lp->manifest.Add(std::move(t));
  if (s.code() == Status::Code::kAlreadyExists) return Status::InvalidArgument(spec.where + ": " + s.message());
  return s;
}

// Exposure nodes; the refs and sources of their depends_on are recorded in states[their id].
Status AddExposures(const std::vector<ExposureSpec>& specs, LoadedProject* lp,
                    std::map<std::string, RenderState>* states) {
  for (const ExposureSpec& x : specs) {
    Node n;
    n.type = NodeType::kExposure;
    n.name = x.name;
    n.package = lp->project.name;
    n.unique_id = "exposure." + n.package + "." + n.name;
    n.path = x.file;
    n.fqn = {n.package, n.name};
    n.description = x.description;
    n.tags = x.tags;
    n.meta = x.meta;
    n.config = {{"enabled", true}, {"type", x.type},         {"label", x.label},
                {"url", x.url},    {"maturity", x.maturity}, {"owner", x.owner}};
    RenderState& state = (*states)[n.unique_id];
    state.mode = RenderMode::kParse;
    for (const auto& expr : x.depends_on) STRATA_RETURN_IF_ERROR(RecordRefs(*lp->env, expr, x.where, &n, &state));
    Status s = lp->manifest.Add(std::move(n));
    if (s.code() == Status::Code::kAlreadyExists) {
      return Status::InvalidArgument(x.where + ": two exposures are named '" + x.name + "'");
    }
    STRATA_RETURN_IF_ERROR(s);
  }
  return Status::OK();
}

// Generic tests from YAML: those of models, seeds and snapshots, then those of sources.
Status AddGenericTests(const DbtProject& proj, const Properties& props, LoadedProject* lp,
                       std::map<std::string, RenderState>* states) {
  for (const auto& p : props.patches) {
    std::string id = PatchedId(p, proj.name);
    const Node* tested = lp->manifest.Find(id);
    if (tested == nullptr) continue;  // an orphan entry: warned about by ApplyPatches
    if (!tested->enabled() && !p.tests.empty()) {
      lp->warnings.push_back(p.where + ": " + std::to_string(p.tests.size()) + " test(s) of '" + p.name +
                             "', which is disabled, are disabled too");
      continue;
    }
    for (const auto& spec : p.tests) STRATA_RETURN_IF_ERROR(AddGenericTest(lp, proj, id, spec, p.file, states));
  }
  for (const auto& [source_id, spec] : props.source_tests) {
    STRATA_RETURN_IF_ERROR(AddGenericTest(lp, proj, source_id, spec, lp->manifest.Find(source_id)->path, states));
  }
  return Status::OK();
}

void AddDependency(Node* n, const std::string& id) {
  if (std::find(n->depends_on.begin(), n->depends_on.end(), id) == n->depends_on.end()) n->depends_on.push_back(id);
}

// The refs and sources recorded in `states` become dependencies of their nodes. A ref or
// source that names nothing is an error at the call, with a "did you mean".
Status ResolveDependencies(const std::map<std::string, RenderState>& states, Manifest* manifest) {
  for (const auto& [id, state] : states) {
    Node* n = manifest->FindMutable(id);
    if (n == nullptr) continue;
    for (const auto& r : state.refs) {
      const Node* target = manifest->FindRefable(r.name, r.package, n->package);
      if (target == nullptr) {
        std::string hint = Closest(r.name, manifest->RefableNames());
        return Status::InvalidArgument(r.where + ": ref('" + r.name + "') in '" + n->name +
                                       "': no model, seed or snapshot named '" + r.name + "'" +
                                       (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
      }
      AddDependency(n, target->unique_id);
    }
    for (const auto& s : state.sources) {
      const Node* target = manifest->FindSource(s.source, s.table);
      if (target == nullptr) {
        std::string hint = Closest(s.source + "." + s.table, manifest->SourceNames());
        return Status::InvalidArgument(s.where + ": source('" + s.source + "', '" + s.table +
                                       "') is not defined in any .yml file" +
                                       (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
      }
      AddDependency(n, target->unique_id);
    }
  }
  return Status::OK();
}

// The unique id of what a unit test's `given` input names: a ref('...') or a source('...', '...')
// (rendered in parse mode for the unit test node `t`), or "this".
Result<std::string> ResolveGivenInput(const jinja::Environment& env, const Manifest& manifest, const UnitTestSpec& spec,
                                      const json& given, Node* t) {
  std::string input = given.is_object() && given.contains("input") && given["input"].is_string()
                          ? given["input"].get<std::string>()
                          : "";
  std::string trimmed = input;
  trimmed.erase(0, trimmed.find_first_not_of(" \t\n"));
  trimmed.erase(trimmed.find_last_not_of(" \t\n") + 1);
  if (trimmed == "this") return std::string("this");
  RenderState st;
  Status parsed = trimmed.rfind("ref(", 0) != 0 && trimmed.rfind("source(", 0) != 0
                      ? Status::InvalidArgument("")
                      : RecordRefs(env, trimmed, spec.where, t, &st);
  if (!parsed.ok() || st.refs.size() + st.sources.size() != 1) {
    return Status::InvalidArgument(spec.where + ": unit test '" + spec.name + "': given input '" + input +
                                   "' must be a ref('...'), a source('...', '...') or this" +
                                   (parsed.message().empty() ? "" : " (" + parsed.message() + ")"));
  }
  const Node* target = !st.refs.empty() ? manifest.FindRefable(st.refs[0].name, st.refs[0].package)
                                        : manifest.FindSource(st.sources[0].source, st.sources[0].table);
  if (target == nullptr) {
    return Status::InvalidArgument(spec.where + ": unit test '" + spec.name + "': given input " + trimmed +
                                   " names no model, seed, snapshot or source");
  }
  return target->unique_id;
}

// A unit test (dbt 1.8): a node, child of the model it tests, and its spec in lp->unit_tests
// with the unique id of each `given` input, which must name a ref, a source or `this`.
Status AddUnitTest(UnitTestSpec spec, LoadedProject* lp) {
  const DbtProject& proj = lp->project;
  const Node* model = lp->manifest.FindRefable(spec.model);
  if (model == nullptr || model->type != NodeType::kModel) {
    std::vector<std::string> models;
    for (const auto& [id, n] : lp->manifest.nodes()) {
      if (n.type == NodeType::kModel) models.push_back(n.name);
    }
    std::string hint = Closest(spec.model, models);
    return Status::InvalidArgument(spec.where + ": unit test '" + spec.name + "' tests model '" + spec.model +
                                   "', which does not exist" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
  Node t;
  t.type = NodeType::kUnitTest;
  t.name = spec.name;
  t.package = proj.name;
  t.unique_id = "unit_test." + proj.name + "." + model->name + "." + spec.name;
  t.path = spec.file;
  t.fqn = Fqn(proj.name, spec.file, model->name);
  t.fqn.push_back(spec.name);
  t.description = spec.description;
  t.config = proj.FolderConfig("unit_tests", t.fqn);
  MergeConfig(&t.config, spec.config);
  t.config["materialized"] = "unit";
  t.attached_node = model->unique_id;
  t.depends_on.push_back(model->unique_id);
  for (const auto& g : spec.given) {
    STRATA_ASSIGN_OR_RETURN(std::string input_id, ResolveGivenInput(*lp->env, lp->manifest, spec, g, &t));
    spec.input_ids.push_back(std::move(input_id));
  }
  std::string id = t.unique_id;
  Status s = lp->manifest.Add(std::move(t));
  if (s.code() == Status::Code::kAlreadyExists) {
    return Status::InvalidArgument(spec.where + ": two unit tests named '" + spec.name + "' for model '" + spec.model +
                                   "'");
  }
  STRATA_RETURN_IF_ERROR(s);
  lp->unit_tests[id] = std::move(spec);
  return Status::OK();
}

// The string value of config `key`, else None: the custom name the naming macros get.
Value StringConfig(const Node& n, const char* key) {
  return n.config.contains(key) && n.config.at(key).is_string() ? Value(n.config.at(key).get<std::string>())
                                                                : Value::None();
}

// Calls a naming macro (generate_schema_name, generate_alias_name) with (custom, node); its
// output, trimmed.
Result<std::string> CallNamingMacro(const jinja::Environment& env, const char* macro, const Value& custom,
                                    const Value& node_value, const jinja::Context& ctx) {
  const Value* fn = env.FindGlobal(macro);
  STRATA_ASSIGN_OR_RETURN(Value out, env.Call(*fn, jinja::Args({custom, node_value}), ctx));
  std::string name = out.Str();
  name.erase(0, name.find_first_not_of(" \n\t"));
  name.erase(name.find_last_not_of(" \n\t") + 1);
  return name;
}

// Where each node lives: generate_schema_name / generate_alias_name (overridable macros).
// A snapshot's target_schema, when set, is its schema as is.
Status ResolveSchemasAndAliases(const jinja::Environment& env, Manifest* manifest) {
  for (const auto& [id, node_const] : manifest->nodes()) {
    Node* n = manifest->FindMutable(id);
    if (n->type == NodeType::kSource || n->type == NodeType::kTest || n->type == NodeType::kUnitTest) continue;
    jinja::Context ctx;
    Value node_value = NodeToValue(*n);  // the whole node, as dbt passes it
    if (n->type == NodeType::kSnapshot && n->config.contains("target_schema")) {
      n->schema = n->config["target_schema"].get<std::string>();
    } else {
      STRATA_ASSIGN_OR_RETURN(
          n->schema, CallNamingMacro(env, "generate_schema_name", StringConfig(*n, "schema"), node_value, ctx));
    }
    STRATA_ASSIGN_OR_RETURN(n->alias,
                            CallNamingMacro(env, "generate_alias_name", StringConfig(*n, "alias"), node_value, ctx));
  }
  return Status::OK();
}

}  // namespace

namespace {

// dbt renders Jinja in dbt_project.yml's configs (`+enabled: "{{ var('x', true) }}"`, `+schema:
// "{{ env_var('S') }}"), and reads the rendered text as a native value: "true"/"false" (any
// case) become booleans, numbers numbers.
Status RenderProjectConfigs(jinja::Environment& env, DbtProject* proj) {
  std::function<Status(json*, const std::string&)> walk = [&](json* v, const std::string& where) -> Status {
    if (v->is_object()) {
      for (auto& [k, child] : v->items()) {
        // Hooks render when they run, with the node's context (as dbt keeps them unrendered).
        std::string key = !k.empty() && k[0] == '+' ? k.substr(1) : k;
        if (key == "pre-hook" || key == "post-hook" || key == "pre_hook" || key == "post_hook") continue;
        STRATA_RETURN_IF_ERROR(walk(&child, where + "." + k));
      }
    } else if (v->is_array()) {
      for (size_t i = 0; i < v->size(); ++i)
        STRATA_RETURN_IF_ERROR(walk(&(*v)[i], where + "[" + std::to_string(i) + "]"));
    } else if (v->is_string()) {
      const std::string text = *v;
      if (text.find("{{") == std::string::npos && text.find("{%") == std::string::npos) return Status::OK();
      const std::string name = "dbt_project.yml " + where;
      STRATA_ASSIGN_OR_RETURN(auto t, env.Parse(text, name));
      jinja::Context ctx;
      auto rendered = env.Render(*t, ctx);
      if (!rendered.ok()) return rendered.status().WithContext(name);
      std::string out = *rendered;
      const std::string lower = AsciiLower(out);
      if (lower == "true" || lower == "false") {
        *v = lower == "true";
      } else {
        char* end = nullptr;
        const double d = std::strtod(out.c_str(), &end);
        if (!out.empty() && *end == '\0' && out.find_first_not_of("0123456789.-+eE") == std::string::npos) {
          *v = d == static_cast<double>(static_cast<int64_t>(d)) ? json(static_cast<int64_t>(d)) : json(d);
        } else {
          *v = out;
        }
      }
    }
    return Status::OK();
  };
  for (auto* tree : {&proj->models, &proj->seeds, &proj->snapshots, &proj->tests, &proj->unit_tests}) {
    const std::string resource = tree == &proj->models      ? "models"
                                 : tree == &proj->seeds     ? "seeds"
                                 : tree == &proj->snapshots ? "snapshots"
                                 : tree == &proj->tests     ? "tests"
                                                            : "unit_tests";
    STRATA_RETURN_IF_ERROR(walk(tree, resource));
  }
  return Status::OK();
}

// `enabled` is a boolean, however it was written ("True" in YAML quotes, a rendered var):
// anything else is an error naming the node, never an abort.
Status CheckEnabled(Manifest* manifest) {
  std::vector<std::string> ids;
  for (const auto& [id, node] : manifest->nodes()) ids.push_back(id);
  for (const auto& id : ids) {
    Node& node = *manifest->FindMutable(id);
    json* e = node.config.contains("enabled") ? &node.config["enabled"] : nullptr;
    if (e == nullptr || e->is_boolean()) continue;
    const std::string text = AsciiLower(e->is_string() ? e->get<std::string>() : e->dump());
    if (text == "true" || text == "false") {
      *e = text == "true";
      continue;
    }
    return Status::InvalidArgument(node.path + ": " + std::string(NodeTypeName(node.type)) + " '" + node.name +
                                   "': enabled must be true or false, not " + e->dump());
  }
  return Status::OK();
}

}  // namespace

namespace {

// Whether `fn` is dbt's own generic test `name` (not a root project's override).
bool IsDbtBuiltinTest(const jinja::Environment& env, const std::string& name, const Value& fn) {
  const Value* dbt = env.FindGlobal("dbt");
  const Value* builtin = dbt != nullptr && dbt->is_dict() ? dbt->as_dict().Find("test_" + name) : nullptr;
  return builtin != nullptr && builtin->is_callable() && fn.is_callable() &&
         builtin->callable_ptr() == fn.callable_ptr();
}

// The macro of generic test `name` ("unique", "dbt_utils.expression_is_true"): a namespaced
// name in its package; a bare one in the root project or dbt's, else in the one package that
// defines it (dbt's priority: root, packages, core). Undefined when none does.
Result<Value> FindGenericTest(const jinja::Environment& env, const std::string& name,
                              const std::vector<DbtProject>& packages) {
  size_t dot = name.find('.');
  if (dot != std::string::npos) {
    const Value* ns = env.FindGlobal(name.substr(0, dot));
    if (ns != nullptr && ns->is_dict()) {
      if (const Value* m = ns->as_dict().Find("test_" + name.substr(dot + 1))) return *m;
    }
    return Value();
  }
  const Value* m = env.FindGlobal("test_" + name);
  // A root override or dbt's own; a package's bare test beats dbt's built-in only if the root
  // has none (dbt's locality order puts imported packages above core).
  Value found;
  std::string from;
  for (const auto& p : packages) {
    const Value* ns = env.FindGlobal(p.name);
    if (ns == nullptr || !ns->is_dict()) continue;
    if (const Value* pm = ns->as_dict().Find("test_" + name)) {
      if (!from.empty()) {
        return Status::InvalidArgument("the generic test '" + name + "' is defined by both '" + from + "' and '" +
                                       p.name + "': write '" + p.name + "." + name + "' or '" + from + "." + name +
                                       "'");
      }
      found = *pm;
      from = p.name;
    }
  }
  if (m != nullptr && (!IsDbtBuiltinTest(env, name, *m) || found.is_undefined())) return *m;
  return found;
}

// dbt renders a generic test's macro while parsing, so that config() inside it (fail_calc,
// warn_if, error_if, severity, where, ...) becomes the test's config; the test's own YAML and
// folder configs still win. dbt's built-in tests call no config(), so they are not rendered.
Status CaptureTestMacroConfigs(LoadedProject* lp) {
  const jinja::Environment& env = *lp->env;
  std::vector<std::string> tests;
  for (const auto& [id, node] : lp->manifest.nodes()) {
    if (node.type == NodeType::kTest && !node.test_name.empty()) tests.push_back(id);
  }
  for (const auto& id : tests) {
    Node* n = lp->manifest.FindMutable(id);
    auto fn = FindGenericTest(env, n->test_name, lp->packages);
    if (!fn.ok() || !fn->is_callable()) continue;  // compiling the test reports it
    if (IsDbtBuiltinTest(env, n->test_name, *fn)) continue;
    const Node* target = lp->manifest.Find(n->attached_node);
    if (target == nullptr) continue;
    RenderState state;
    state.mode = RenderMode::kParse;
    state.node = n;
    state.manifest = &lp->manifest;
    jinja::Context ctx;
    FillRenderContext(&ctx, &state, *n);
    jinja::Args args;
    args.kwargs.push_back({"model", MakeRelation(target->database, target->schema,
                                                 target->alias.empty() ? target->name : target->alias)});
    if (!n->column_name.empty()) args.kwargs.push_back({"column_name", Value(n->column_name)});
    for (const auto& [k, v] : n->test_kwargs.items()) args.kwargs.push_back({k, JsonToValue(v)});
    // A macro that fails while parsing (it needs the warehouse, say) still counts the config()
    // it set before failing; compiling the test reports the real error.
    (void)env.Call(*fn, args, ctx);
    for (const auto& [k, v] : state.config.items()) {
      if (!n->config.contains(k)) n->config[k] = v;
    }
  }
  return Status::OK();
}

}  // namespace

Result<Profile> LoadTargetProfile(const LoadOptions& options) {
  STRATA_ASSIGN_OR_RETURN(DbtProject proj, DbtProject::Load(options.project_dir));
  return LoadTarget(proj, options);
}

Result<std::unique_ptr<LoadedProject>> LoadedProject::Load(const LoadOptions& options) {
  auto lp = std::make_unique<LoadedProject>();
  STRATA_ASSIGN_OR_RETURN(lp->project, DbtProject::Load(options.project_dir));
  const DbtProject& proj = lp->project;
  STRATA_ASSIGN_OR_RETURN(lp->profile, LoadTarget(proj, options));
  lp->settings = MakeContextSettings(proj, lp->profile, options);
  STRATA_ASSIGN_OR_RETURN(lp->packages, LoadPackages(proj));
  for (const auto& p : lp->packages) {
    lp->settings.packages.push_back(p.name);
    lp->settings.package_vars[p.name] = p.vars;
  }
  lp->manifest.set_root_package(proj.name);
  lp->settings.dispatch = proj.dispatch;
  for (const auto& [ns, order] : proj.dispatch) {
    for (const auto& name : order) {
      if (name != proj.name && name != "dbt" &&
          std::find(lp->settings.packages.begin(), lp->settings.packages.end(), name) == lp->settings.packages.end()) {
        return Status::InvalidArgument(proj.root + "/dbt_project.yml: dispatch for '" + ns + "' searches '" + name +
                                       "', which is neither the project nor an installed package");
      }
    }
  }
  lp->env = std::make_unique<jinja::Environment>();
  jinja::Environment& env = *lp->env;
  env.set_chainable_undefined(true);  // dbt's parse-time Undefined, until parsing is done
  InstallDbtContext(&env, lp->settings);
  STRATA_RETURN_IF_ERROR(RenderProjectConfigs(env, &lp->project));

  // Macros: built-ins first (globals and the `dbt` namespace), then each package's (in its
  // namespace), then the root project's (globals that override dbt's, and its namespace).
  STRATA_RETURN_IF_ERROR(AddBuiltinMacros(&env));
  for (const auto& p : lp->packages) STRATA_RETURN_IF_ERROR(AddProjectMacros(p, false, &env, lp->settings.docs.get()));
  STRATA_RETURN_IF_ERROR(AddProjectMacros(proj, true, &env, lp->settings.docs.get()));
  for (const auto& p : lp->packages) STRATA_RETURN_IF_ERROR(AddDocsBlocks(p, env, lp->settings.docs.get()));
  STRATA_RETURN_IF_ERROR(AddDocsBlocks(proj, env, lp->settings.docs.get()));

  // While parsing, `graph` is empty (dbt fills it once the manifest exists): models that read
  // it under `{% if execute %}` parse, and see every node when compiled.
  env.AddGlobal("graph", Value::MakeDict({{"nodes", Value::MakeDict()},
                                          {"sources", Value::MakeDict()},
                                          {"exposures", Value::MakeDict()},
                                          {"macros", Value::MakeDict()}}));

  // Nodes from files; sources, patches, generic and unit tests from YAML: the installed
  // packages' (as dbt builds them with the project), then the root project's.
  std::vector<const DbtProject*> projects;
  for (const auto& p : lp->packages) projects.push_back(&p);
  projects.push_back(&proj);
  std::vector<Node> file_nodes;
  std::map<std::string, std::shared_ptr<jinja::Template>> snapshot_bodies;
  std::vector<Properties> props_of(projects.size());
  for (size_t i = 0; i < projects.size(); ++i) {
    const DbtProject& p = *projects[i];
    STRATA_RETURN_IF_ERROR(FindModels(p, &file_nodes));
    FindSeeds(p, &file_nodes);
    STRATA_RETURN_IF_ERROR(FindSnapshots(p, &p == &proj, env, &file_nodes, &snapshot_bodies));
    STRATA_RETURN_IF_ERROR(FindSingularTests(p, &file_nodes));
    STRATA_ASSIGN_OR_RETURN(props_of[i], ParseAllProperties(p));
    AddYamlSnapshots(p, props_of[i], &file_nodes);
  }
  const Properties& props = props_of.back();

  // Each node with its parse-time render state: what its SQL (or a test's arguments) calls.
  std::map<std::string, RenderState> states;
  std::map<std::string, json> file_configs;
  for (auto& n : file_nodes) STRATA_RETURN_IF_ERROR(lp->manifest.Add(std::move(n)));
  STRATA_RETURN_IF_ERROR(ParseRenderNodes(lp.get(), snapshot_bodies, &states, &file_configs));
  for (const Properties& pp : props_of) {
    for (auto s : pp.sources) {
      // dbt renders a source's database, schema and identifier ("{{ target.schema }}_raw").
      for (std::string* field : {&s.database, &s.schema, &s.alias}) {
        if (field->find("{{") == std::string::npos && field->find("{%") == std::string::npos) continue;
        STRATA_ASSIGN_OR_RETURN(auto tmpl, env.Parse(*field, s.path + ": source " + s.name));
        jinja::Context ctx;
        STRATA_ASSIGN_OR_RETURN(*field, env.Render(*tmpl, ctx));
      }
      STRATA_RETURN_IF_ERROR(lp->manifest.Add(s));
    }
  }

  // Configs (folder < YAML < config(), and for a package's node the root project's
  // dbt_project.yml over all of those, as in dbt), tags and descriptions.
  std::map<std::string, const Patch*> patch_of;
  for (size_t i = 0; i < projects.size(); ++i) {
    STRATA_ASSIGN_OR_RETURN(auto patched,
                            ApplyPatches(props_of[i].patches, projects[i]->name, &lp->manifest, &lp->warnings));
    patch_of.insert(patched.begin(), patched.end());
  }
  MergeFileConfigs(file_configs, &lp->manifest);
  ApplyRootConfigsToPackages(proj, &lp->manifest);
  STRATA_RETURN_IF_ERROR(ResolveTagsAndDescriptions(env, patch_of, &lp->manifest));
  STRATA_RETURN_IF_ERROR(CheckEnabled(&lp->manifest));

  // Generic tests; refs and sources resolved into dependencies; unit tests; where nodes live.
  for (size_t i = 0; i < projects.size(); ++i) {
    STRATA_RETURN_IF_ERROR(AddGenericTests(*projects[i], props_of[i], lp.get(), &states));
  }
  STRATA_RETURN_IF_ERROR(AddExposures(props.exposures, lp.get(), &states));
  STRATA_RETURN_IF_ERROR(AddExposures(options.extra_exposures, lp.get(), &states));
  STRATA_RETURN_IF_ERROR(ResolveDependencies(states, &lp->manifest));
  for (const UnitTestSpec& spec : props.unit_tests) STRATA_RETURN_IF_ERROR(AddUnitTest(spec, lp.get()));
  STRATA_RETURN_IF_ERROR(ResolveSchemasAndAliases(env, &lp->manifest));
  STRATA_ASSIGN_OR_RETURN(lp->graph, lp->manifest.BuildGraph());
  // Parsing is lenient, as dbt's is (what only exists when executing renders as nothing);
  // compiling is not: an undefined name in a node's output is an error naming it.
  STRATA_RETURN_IF_ERROR(CaptureTestMacroConfigs(lp.get()));
  env.AddGlobal("graph", MakeGraphValue(&lp->manifest));
  env.set_chainable_undefined(false);
  env.set_strict_undefined(true);
  return lp;
}

Result<std::string> LoadedProject::RenderHook(const std::string& sql, const std::string& where, const Node* node,
                                              const std::map<std::string, jinja::Value>& extra,
                                              const std::function<Result<warehouse::Session*>()>& session) const {
  RenderState state;
  state.mode = RenderMode::kCompile;
  state.node = const_cast<Node*>(node);
  state.manifest = &manifest;
  state.session = session;
  jinja::Context ctx;
  if (node != nullptr) {
    FillRenderContext(&ctx, &state, *node);
  } else {
    FillStateContext(&ctx, &state);
  }
  for (const auto& [k, v] : extra) ctx.Set(k, v);
  STRATA_ASSIGN_OR_RETURN(auto tmpl, env->Parse(sql, where));
  return env->Render(*tmpl, ctx);
}

const DbtProject* LoadedProject::ProjectOf(const Node& node) const {
  if (node.package == project.name) return &project;
  for (const auto& p : packages) {
    if (p.name == node.package) return &p;
  }
  return nullptr;
}

Result<std::string> LoadedProject::CallMacro(const std::string& name, std::vector<jinja::Value> args) const {
  const Value* fn = env->FindGlobal(name);
  if (fn == nullptr) return Status::Internal("no macro '" + name + "'");
  jinja::Context ctx;
  STRATA_ASSIGN_OR_RETURN(Value v, env->Call(*fn, jinja::Args(std::move(args)), ctx));
  return v.Str();
}

Result<std::string> LoadedProject::Compile(const Node& node, bool is_incremental, const RenderOverrides* overrides,
                                           const std::function<Result<warehouse::Session*>()>& session) const {
  RenderState state;
  state.mode = RenderMode::kCompile;
  state.node = const_cast<Node*>(&node);
  state.manifest = &manifest;
  state.is_incremental = is_incremental;
  state.overrides = overrides;
  state.session = session;
  jinja::Context ctx;
  FillRenderContext(&ctx, &state, node);
  if (overrides != nullptr) {
    auto it = overrides->relations.find("this");
    if (it != overrides->relations.end()) ctx.Set("this", MakeRelation("", "", it->second, "cte"));
    for (const auto& [name, value] : overrides->macros.items()) {
      if (name == "is_incremental") {
        state.is_incremental = value.is_boolean() ? value.get<bool>() : false;
        continue;
      }
      Value v = JsonToValue(value);
      ctx.Set(name, Value::Function(name, [v](jinja::CallContext&, const jinja::Args&) -> Result<Value> { return v; }));
    }
  }
  std::string sql;
  if (node.type == NodeType::kTest && !node.test_name.empty()) {
    // A generic test: call test_<name>(model=..., column_name=..., **kwargs). `model` is the
    // tested relation, or with `where` the filtered subquery (text), as in dbt.
    const Node* target = manifest.Find(node.attached_node);
    const std::string target_alias = target->alias.empty() ? target->name : target->alias;
    Value model = MakeRelation(target->database, target->schema, target_alias, "", profile.type);
    if (target->type == NodeType::kModel && target->materialized() == "ephemeral") {
      model = MakeRelation("", "", "__dbt__cte__" + target->name, "cte");
      state.ephemerals.push_back(target->unique_id);
    }
    if (node.config.contains("where") && node.config["where"].is_string()) {
      model = Value("(select * from " + model.Str() + " where " + node.config["where"].get<std::string>() +
                    ") dbt_subquery");
    }
    STRATA_ASSIGN_OR_RETURN(Value fn, FindGenericTest(*env, node.test_name, packages));
    if (!fn.is_callable()) {
      return Status::InvalidArgument(node.path + ": test '" + node.name + "' uses the generic test '" + node.test_name +
                                     "', which is not defined (no {% test " +
                                     node.test_name.substr(node.test_name.find('.') + 1) + " %})");
    }
    jinja::Args args;
    args.kwargs.push_back({"model", model});
    if (!node.column_name.empty()) args.kwargs.push_back({"column_name", Value(node.column_name)});
    for (const auto& [k, v] : node.test_kwargs.items()) {
      if (v.is_string() && (v.get<std::string>().find("ref(") != std::string::npos ||
                            v.get<std::string>().find("source(") != std::string::npos)) {
        // The expression's value (a Relation for ref() and source()), as dbt passes it.
        STRATA_ASSIGN_OR_RETURN(auto defs, env->ParseDefinitions("{% macro __strata_test_arg() %}{{ return(" +
                                                                     v.get<std::string>() + ") }}{% endmacro %}",
                                                                 node.path));
        if (defs.empty()) return Status::Internal("test argument '" + k + "' did not parse");
        STRATA_ASSIGN_OR_RETURN(Value arg, env->Call(defs[0].macro, {}, ctx));
        args.kwargs.push_back({k, arg});
      } else {
        args.kwargs.push_back({k, JsonToValue(v)});
      }
    }
    STRATA_ASSIGN_OR_RETURN(Value out, env->Call(fn, args, ctx));
    sql = out.Str();
  } else {
    auto it = templates.find(node.unique_id);
    if (it == templates.end()) return Status::Internal("no template for " + node.unique_id);
    STRATA_ASSIGN_OR_RETURN(sql, env->Render(*it->second, ctx));
  }
  if (state.ephemerals.empty()) return sql;

  // Inline ephemeral models as CTEs (their own ephemerals first), each once.
  std::vector<std::string> order;
  std::set<std::string> seen;
  std::vector<std::pair<std::string, std::string>> ctes;
  std::function<Status(const std::string&)> add = [&](const std::string& id) -> Status {
    if (seen.count(id)) return Status::OK();
    seen.insert(id);
    const Node* e = manifest.Find(id);
    RenderState es;
    es.mode = RenderMode::kCompile;
    es.node = const_cast<Node*>(e);
    es.manifest = &manifest;
    jinja::Context ectx;
    FillRenderContext(&ectx, &es, *e);
    STRATA_ASSIGN_OR_RETURN(std::string esql, env->Render(*templates.at(id), ectx));
    for (const auto& dep : es.ephemerals) STRATA_RETURN_IF_ERROR(add(dep));
    ctes.push_back({"__dbt__cte__" + e->name, esql});
    return Status::OK();
  };
  for (const auto& id : state.ephemerals) STRATA_RETURN_IF_ERROR(add(id));
  std::string with = "with ";
  for (size_t i = 0; i < ctes.size(); ++i) {
    with += (i ? ",\n" : "") + ctes[i].first + " as (\n" + ctes[i].second + "\n)";
  }
  // Merge with the model's own WITH, if it starts with one.
  size_t start = sql.find_first_not_of(" \t\r\n");
  if (start != std::string::npos && sql.size() >= start + 5) {
    std::string head = sql.substr(start, 5);
    std::transform(head.begin(), head.end(), head.begin(), ::tolower);
    if (head == "with " || head == "with\n") return with + ",\n" + sql.substr(start + 5);
  }
  return with + "\n" + sql;
}

Result<std::unique_ptr<LoadedProject>> LoadTransformOf(const Project& project, const nlohmann::json& vars) {
  if (project.transform_dir.empty()) return std::unique_ptr<LoadedProject>();
  LoadOptions lo;
  lo.project_dir = project.transform_dir;
  lo.cli_vars = vars;
  auto loaded = LoadedProject::Load(lo);
  if (!loaded.ok()) return loaded.status().WithContext("reading the dbt project");
  return std::move(*loaded);
}

}  // namespace strata::transform
