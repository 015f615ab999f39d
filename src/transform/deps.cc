#include "transform/deps.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>

#include "core/config.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/http_client.h"
#include "core/redact.h"
#include "core/subprocess.h"
#include "transform/dbt_project.h"

namespace strata::transform {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kDefaultHub = "https://hub.getdbt.com";
constexpr const char* kLockFile = "package-lock.yml";
constexpr const char* kMarker = ".strata-installed.json";
constexpr const char* kOwnPrefix = ".strata-";
// The dbt version Strata's templates report (dbt_version in dbt_context.cc). A hub package
// that requires another dbt is still installed (with a warning): dbt itself only refuses such
// a package when it parses the project.
constexpr const char* kDbtVersion = kDbtCompatVersion;

// --- small helpers -----------------------------------------------------------------------------

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// A project name is a folder name in the install path: an identifier, nothing that walks.
bool IsProjectName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// A string as a YAML scalar: plain when it reads back as the same string, else double-quoted
// (a JSON string is a valid YAML double-quoted scalar).
std::string YamlScalar(const std::string& s) {
  static const std::set<std::string> kWords = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"};
  std::string lower;
  for (char c : s) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  bool plain = !s.empty() && !kWords.count(lower) &&
               (std::isalnum(static_cast<unsigned char>(s[0])) || s[0] == '.' || s[0] == '/' || s[0] == '_');
  for (char c : s)
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || (c != 0 && std::strchr("_./@:~+-=<>", c)));
  const bool numberish =
      std::all_of(s.begin(), s.end(), [](char c) { return c != 0 && std::strchr("0123456789._eE+-", c); }) &&
      std::count(s.begin(), s.end(), '.') <= 1;
  return plain && !numberish ? s : json(s).dump();
}

Result<std::string> FindProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (const auto& dir : Split(path != nullptr && *path ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return Status::NotFound("the '" + name + "' program was not found on PATH (strata deps runs it)");
}

// --- versions ----------------------------------------------------------------------------------

struct SemVer {
  int64_t major = 0, minor = 0, patch = 0;
  std::vector<std::string> pre;  // prerelease identifiers ("rc", "1")
};

std::optional<SemVer> ParseSemVer(std::string_view s) {
  s = s.substr(0, s.find('+'));  // build metadata does not order
  SemVer v;
  const size_t dash = s.find('-');
  if (dash != std::string_view::npos) {
    v.pre = Split(s.substr(dash + 1), '.');
    for (const auto& id : v.pre) {
      if (id.empty() || !std::all_of(id.begin(), id.end(),
                                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; })) {
        return std::nullopt;
      }
    }
    s = s.substr(0, dash);
  }
  std::vector<std::string> parts = Split(s, '.');
  if (parts.empty() || parts.size() > 3) return std::nullopt;
  int64_t* fields[] = {&v.major, &v.minor, &v.patch};
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& p = parts[i];
    if (p.empty() || p.size() > 18 || !std::all_of(p.begin(), p.end(), ::isdigit)) return std::nullopt;
    *fields[i] = std::stoll(p);
  }
  return v;
}

bool IsNumber(const std::string& s) { return !s.empty() && std::all_of(s.begin(), s.end(), ::isdigit); }

int Compare(const SemVer& a, const SemVer& b) {
  if (a.major != b.major) return a.major < b.major ? -1 : 1;
  if (a.minor != b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch != b.patch) return a.patch < b.patch ? -1 : 1;
  if (a.pre.empty() != b.pre.empty()) return a.pre.empty() ? 1 : -1;  // 1.0.0-rc1 < 1.0.0
  for (size_t i = 0; i < std::min(a.pre.size(), b.pre.size()); ++i) {
    const std::string &x = a.pre[i], &y = b.pre[i];
    if (x == y) continue;
    const bool nx = IsNumber(x), ny = IsNumber(y);
    if (nx && ny) return x.size() != y.size() ? (x.size() < y.size() ? -1 : 1) : (x < y ? -1 : 1);
    if (nx != ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.pre.size() == b.pre.size() ? 0 : (a.pre.size() < b.pre.size() ? -1 : 1);
}

struct Constraint {
  std::string op;  // ">=", ">", "<=", "<", "="
  SemVer v;
};

bool Allows(const Constraint& c, const SemVer& v) {
  const int r = Compare(v, c.v);
  if (c.op == ">=") return r >= 0;
  if (c.op == ">") return r > 0;
  if (c.op == "<=") return r <= 0;
  if (c.op == "<") return r < 0;
  return r == 0;
}

// ">=1.0.0", "<2", "1.3.3" or several of them separated by commas.
Result<std::vector<Constraint>> ParseRange(const std::string& text) {
  std::vector<Constraint> out;
  for (const auto& piece : Split(text, ',')) {
    std::string t = Trim(piece);
    Constraint c;
    for (const char* op : {">=", "<=", "==", ">", "<", "="}) {
      if (t.rfind(op, 0) == 0) {
        c.op = op;
        t = Trim(t.substr(c.op.size()));
        break;
      }
    }
    if (c.op.empty() || c.op == "==") c.op = "=";
    auto v = ParseSemVer(t);
    if (!v) {
      return Status::InvalidArgument("'" + text +
                                     "' is not a version range (expected e.g. \"1.3.3\", \">=1.0.0\" or \"<2.0.0\")");
    }
    c.v = *v;
    out.push_back(c);
  }
  return out;
}

// Versions asked for one hub package: by whom, as written.
struct Request {
  std::vector<std::string> ranges;
  std::vector<Constraint> constraints;
  bool prerelease = false;  // install-prerelease
  std::string asked_by;
};

std::string DescribeRequests(const std::vector<Request>& requests) {
  std::string out;
  for (const auto& r : requests)
    out += "\n  " + json(r.ranges).dump() + (r.asked_by.empty() ? "" : " from " + r.asked_by);
  return out;
}

// Whether some version could satisfy every constraint (available or not).
bool Satisfiable(const std::vector<Constraint>& cs) {
  std::optional<Constraint> lo, hi;
  for (const auto& c : cs) {
    if (c.op != "<" && c.op != "<=") {  // a lower bound; "=" is both
      Constraint l{c.op == "=" ? ">=" : c.op, c.v};
      const int r = lo ? Compare(l.v, lo->v) : 1;
      if (r > 0 || (r == 0 && l.op == ">")) lo = l;
    }
    if (c.op != ">" && c.op != ">=") {
      Constraint h{c.op == "=" ? "<=" : c.op, c.v};
      const int r = hi ? Compare(h.v, hi->v) : -1;
      if (r < 0 || (r == 0 && h.op == "<")) hi = h;
    }
  }
  if (!lo || !hi) return true;
  const int r = Compare(lo->v, hi->v);
  return r < 0 || (r == 0 && lo->op == ">=" && hi->op == "<=");
}

// The highest available version every request allows; "" when there is none.
Result<std::string> Pick(const std::string& package, const std::vector<Request>& requests,
                         const std::vector<std::string>& available) {
  std::vector<Constraint> all;
  bool prerelease = false;
  for (const auto& r : requests) {
    all.insert(all.end(), r.constraints.begin(), r.constraints.end());
    prerelease = prerelease || r.prerelease;
    for (const auto& c : r.constraints) prerelease = prerelease || !c.v.pre.empty();
  }
  if (!Satisfiable(all)) {
    return Status::InvalidArgument("version conflict for " + package +
                                   ": no version satisfies every range asked for it:" + DescribeRequests(requests));
  }
  std::optional<SemVer> best;
  std::string best_text;
  for (const auto& text : available) {
    auto v = ParseSemVer(text);
    if (!v || (!v->pre.empty() && !prerelease)) continue;
    if (!std::all_of(all.begin(), all.end(), [&](const Constraint& c) { return Allows(c, *v); })) continue;
    if (!best || Compare(*v, *best) > 0) {
      best = v;
      best_text = text;
    }
  }
  return best_text;
}

// --- packages.yml ------------------------------------------------------------------------------

enum class Kind { kHub, kGit, kLocal, kTarball };
const char* KindName(Kind k) {
  return k == Kind::kHub ? "hub" : k == Kind::kGit ? "git" : k == Kind::kLocal ? "local" : "tarball";
}

// A rendered string and how it may be shown: the unrendered text when a secret went into it.
struct Text {
  std::string value, shown;
};

// Renders {{ env_var('NAME') }} and {{ env_var('NAME', 'default') }}, the only Jinja dbt users
// put in packages.yml (tokens in private git URLs).
Result<Text> Render(const std::string& raw, const std::string& where) {
  static const std::regex kBlock(R"(\{\{(.*?)\}\})");
  static const std::regex kEnvVar(R"(^\s*env_var\(\s*(['"])(\w+)\1\s*(?:,\s*(['"])(.*?)\3\s*)?\)\s*$)");
  if (raw.find("{%") != std::string::npos || raw.find("{#") != std::string::npos) {
    return Status::InvalidArgument(where + ": packages.yml takes no Jinja statements or comments");
  }
  std::string out;
  bool secret = false;
  auto last = raw.cbegin();
  for (std::sregex_iterator it(raw.begin(), raw.end(), kBlock), end; it != end; ++it) {
    std::smatch m;
    const std::string expr = (*it)[1];
    if (!std::regex_match(expr, m, kEnvVar)) {
      return Status::InvalidArgument(where + ": packages.yml renders only {{ env_var('NAME') }} and " +
                                     "{{ env_var('NAME', 'default') }}, not '{{" + expr + "}}'");
    }
    const std::string name = m[2];
    const char* env = std::getenv(name.c_str());
    if (env == nullptr && !m[3].matched) {
      return Status::InvalidArgument(where + ": env var required but not provided: '" + name + "'");
    }
    const std::string value = env != nullptr ? std::string(env) : m[4].str();
    if (name.rfind("DBT_ENV_SECRET_", 0) == 0) {
      secret = true;
      RegisterSecret(value);
    }
    out.append(last, (*it)[0].first).append(value);
    last = (*it)[0].second;
  }
  out.append(last, raw.cend());
  return Text{out, secret ? raw : out};
}

// One entry of a `packages:` list.
struct Entry {
  Kind kind = Kind::kHub;
  Text id;                            // org/name, git URL, local path, tarball URL
  std::vector<std::string> ranges;    // hub: as written
  bool ranges_list = false;           // hub: written as a list
  std::vector<Constraint> parsed;     // hub
  bool install_prerelease = false;    // hub
  Text revision;                      // git
  std::string subdirectory;           // git
  std::optional<bool> warn_unpinned;  // git
  std::string name;                   // tarball (required there)
  std::string where;                  // "file:line:col: packages[i]" or "hub metadata of ..."
  std::string version_where;          // hub: where the versions are written
  std::string asked_by;               // who listed it
  bool root = false;                  // listed by the project itself

  std::string Key() const {
    if (kind == Kind::kGit) return "git:" + id.value + "#" + subdirectory;
    return std::string(KindName(kind)) + ":" + id.value;
  }
  // The entry as its hash and messages see it (no secret in it).
  json Spec() const {
    json j;
    switch (kind) {
      case Kind::kHub:
        j["package"] = id.shown;
        j["version"] = ranges_list ? json(ranges) : json(ranges.at(0));
        if (install_prerelease) j["install-prerelease"] = true;
        break;
      case Kind::kGit:
        j["git"] = id.shown;
        if (!revision.shown.empty()) j["revision"] = revision.shown;
        if (!subdirectory.empty()) j["subdirectory"] = subdirectory;
        if (warn_unpinned) j["warn-unpinned"] = *warn_unpinned;
        break;
      case Kind::kLocal:
        j["local"] = id.shown;
        break;
      case Kind::kTarball:
        j["tarball"] = id.shown;
        j["name"] = name;
        break;
    }
    return j;
  }
};

Result<Text> RenderNode(const ConfigNode& node) {
  STRATA_ASSIGN_OR_RETURN(std::string raw, node.RawString());
  return Render(raw, node.Where());
}

Result<Entry> ParseEntry(const ConfigNode& node, const std::string& asked_by, bool root) {
  Entry e;
  e.where = node.Where();
  e.asked_by = asked_by;
  e.root = root;
  if (!node.IsMap()) return node.Error("expected a map such as {package: dbt-labs/dbt_utils, version: 1.3.3}");
  if (node.Has("private")) {
    return node.Error(
        "`private:` packages (dbt Cloud's git integration) are not supported; use `git:` with a "
        "token from {{ env_var('DBT_ENV_SECRET_...') }}");
  }
  int kinds = 0;
  for (const char* k : {"package", "git", "local", "tarball"}) kinds += node.Has(k) ? 1 : 0;
  if (kinds != 1) return node.Error("a package needs exactly one of package, git, local or tarball");
  if (node.Has("package")) {
    STRATA_RETURN_IF_ERROR(node.CheckKeys({"package", "version", "install-prerelease", "install_prerelease"}));
    STRATA_ASSIGN_OR_RETURN(e.id, RenderNode(node["package"]));
    const auto slash = e.id.value.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == e.id.value.size() ||
        e.id.value.find('/', slash + 1) != std::string::npos) {
      return node["package"].Error("a hub package is named org/name (e.g. dbt-labs/dbt_utils), not '" + e.id.shown +
                                   "'");
    }
    const ConfigNode version = node["version"];
    e.version_where = version.Where();
    if (version.IsNull()) {
      return node.Error(e.id.shown +
                        " is missing the version. When installing from the Hub package index, version "
                        "is a required property");
    }
    std::vector<ConfigNode> items;
    if (version.IsList()) {
      STRATA_ASSIGN_OR_RETURN(items, version.Items());
      e.ranges_list = true;
      if (items.empty()) return version.Error("an empty list of versions");
    } else {
      items.push_back(version);
    }
    for (const auto& item : items) {
      STRATA_ASSIGN_OR_RETURN(Text t, RenderNode(item));
      auto parsed = ParseRange(t.value);
      if (!parsed.ok()) return item.Error(parsed.status().message());
      e.ranges.push_back(t.shown);
      e.parsed.insert(e.parsed.end(), parsed->begin(), parsed->end());
    }
    for (const char* k : {"install-prerelease", "install_prerelease"}) {
      if (node.Has(k)) {
        STRATA_ASSIGN_OR_RETURN(e.install_prerelease, node[k].Bool());
      }
    }
  } else if (node.Has("git")) {
    e.kind = Kind::kGit;
    STRATA_RETURN_IF_ERROR(node.CheckKeys({"git", "revision", "subdirectory", "warn-unpinned", "warn_unpinned"}));
    STRATA_ASSIGN_OR_RETURN(e.id, RenderNode(node["git"]));
    if (node.Has("revision") && !node["revision"].IsNull()) {
      STRATA_ASSIGN_OR_RETURN(e.revision, RenderNode(node["revision"]));
      if (!e.revision.value.empty() && e.revision.value[0] == '-') return node["revision"].Error("not a revision");
    }
    if (node.Has("subdirectory") && !node["subdirectory"].IsNull()) {
      STRATA_ASSIGN_OR_RETURN(Text sub, RenderNode(node["subdirectory"]));
      fs::path p = fs::path(sub.value).lexically_normal();
      if (p.is_absolute() || (!p.empty() && *p.begin() == "..")) {
        return node["subdirectory"].Error("the subdirectory must be a path inside the repository");
      }
      e.subdirectory = p.string();
      while (!e.subdirectory.empty() && e.subdirectory.back() == '/') e.subdirectory.pop_back();
      if (e.subdirectory == ".") e.subdirectory.clear();
    }
    for (const char* k : {"warn-unpinned", "warn_unpinned"}) {
      if (node.Has(k)) {
        STRATA_ASSIGN_OR_RETURN(bool w, node[k].Bool());
        e.warn_unpinned = w;
      }
    }
  } else if (node.Has("local")) {
    e.kind = Kind::kLocal;
    STRATA_RETURN_IF_ERROR(node.CheckKeys({"local"}));
    STRATA_ASSIGN_OR_RETURN(e.id, RenderNode(node["local"]));
  } else {
    e.kind = Kind::kTarball;
    STRATA_RETURN_IF_ERROR(node.CheckKeys({"tarball", "name"}));
    STRATA_ASSIGN_OR_RETURN(e.id, RenderNode(node["tarball"]));
    if (!node.Has("name")) return node.Error("a tarball package needs `name:` (its project name)");
    STRATA_ASSIGN_OR_RETURN(e.name, node["name"].RawString());
    if (!IsProjectName(e.name)) return node["name"].Error("'" + e.name + "' is not a project name");
  }
  if (e.id.value.empty()) return node.Error("an empty package");
  return e;
}

struct SpecFile {
  std::string file;  // "" when neither file lists packages
  std::vector<Entry> entries;
};

// The `packages:` of packages.yml or dependencies.yml in `dir`.
Result<SpecFile> LoadSpecFile(const std::string& dir, const std::string& asked_by, bool root) {
  SpecFile out;
  std::error_code ec;
  for (const char* name : {"packages.yml", "dependencies.yml"}) {
    const std::string file = JoinPath(dir, name);
    if (!fs::exists(file, ec)) continue;
    STRATA_ASSIGN_OR_RETURN(ConfigNode doc, ConfigNode::Load(file, /*unique_keys=*/true));
    if (doc.IsNull()) continue;
    const bool deps_yml = std::string(name) == "dependencies.yml";
    STRATA_RETURN_IF_ERROR(deps_yml ? doc.CheckKeys({"packages", "projects"}) : doc.CheckKeys({"packages"}));
    if (!doc.Has("packages")) continue;
    if (!out.file.empty()) {
      return Status::InvalidArgument("both " + out.file + " and " + file +
                                     " list packages; keep them in one of the two (as dbt requires)");
    }
    out.file = file;
    const ConfigNode list = doc["packages"];
    if (list.IsNull()) continue;
    if (!list.IsList()) return list.Error("expected a list of packages");
    STRATA_ASSIGN_OR_RETURN(auto items, list.Items());
    for (const auto& item : items) {
      STRATA_ASSIGN_OR_RETURN(Entry e, ParseEntry(item, asked_by, root));
      out.entries.push_back(std::move(e));
    }
  }
  return out;
}

// dbt's sha1_hash: of the entries' specs, one JSON document per line, sorted.
std::string SpecHash(const std::vector<Entry>& entries) {
  std::vector<std::string> lines;
  for (const auto& e : entries) lines.push_back(e.Spec().dump());
  std::sort(lines.begin(), lines.end());
  std::string text;
  for (size_t i = 0; i < lines.size(); ++i) text += (i ? "\n" : "") + lines[i];
  return Sha1Hex(text);
}

Result<std::string> ProjectNameIn(const std::string& dir, const std::string& what) {
  const std::string file = JoinPath(dir, "dbt_project.yml");
  std::error_code ec;
  if (!fs::exists(file, ec))
    return Status::InvalidArgument(what + " has no dbt_project.yml, so it is not a dbt package");
  STRATA_ASSIGN_OR_RETURN(ConfigNode doc, ConfigNode::Load(file));
  STRATA_ASSIGN_OR_RETURN(std::string name, doc["name"].RawString());
  if (!IsProjectName(name)) return doc["name"].Error("'" + name + "' is not a project name (" + what + ")");
  return name;
}

// --- one run -----------------------------------------------------------------------------------

// A package with its version fixed: what package-lock.yml lists.
struct Pinned {
  Entry entry;
  std::string name;     // project name; "" until known (a lock without names)
  std::string version;  // hub: the version; git: the commit sha
  std::string fetched;  // a folder fetched while resolving ("" = fetch when installing)
  std::string latest;   // hub: its newest version

  json Lock() const {
    json j = entry.Spec();
    j.erase("warn-unpinned");
    j.erase("install-prerelease");
    if (entry.kind == Kind::kHub) j["version"] = version;
    if (entry.kind == Kind::kGit) j["revision"] = version;
    if (!name.empty()) j["name"] = name;
    return j;
  }
  std::string Label() const { return entry.id.shown; }
};

struct Fetched {
  std::string dir, sha, name;
};

class Run {
 public:
  Run(const DepsOptions& options, DepsResult* result)
      : options_(options), result_(result), http_(HttpRetryPolicy{3, 250, 2000, 2.0, true}, 120000) {}

  std::string project_dir, project_name, hub;
  std::string work;  // this run's folder inside the install path

  void Log(const std::string& line) {
    if (options_.log) options_.log(line);
  }
  void Warn(const std::string& text) {
    if (std::find(result_->warnings.begin(), result_->warnings.end(), text) != result_->warnings.end()) return;
    result_->warnings.push_back(text);
    if (options_.warn) {
      options_.warn(text);
    } else {
      Log("warning: " + text);
    }
  }
  std::string NewPath(const std::string& prefix) { return JoinPath(work, prefix + "-" + std::to_string(++counter_)); }

  // Runs a program found on PATH; its output (stdout and stderr) or an error quoting it.
  Result<std::string> Tool(std::vector<std::string> argv, const std::string& what) {
    STRATA_ASSIGN_OR_RETURN(argv[0], FindProgram(argv[0]));
    SubprocessOptions o;
    o.argv = std::move(argv);
    o.env = {{"GIT_TERMINAL_PROMPT", "0"}, {"LC_ALL", "C"}};
    o.output_path = NewPath("out");
    o.deadline = std::chrono::steady_clock::now() + std::chrono::minutes(15);
    STRATA_ASSIGN_OR_RETURN(SubprocessResult r, RunSubprocess(o));
    auto out = ReadFile(o.output_path);
    std::error_code ec;
    fs::remove(o.output_path, ec);
    const std::string text = out.ok() ? Trim(*out) : "";
    if (!r.ok()) {
      return Status::Unavailable(what + " failed (" + (r.timed_out ? "timed out" : r.Describe()) + ")" +
                                 (text.empty() ? "" : ":\n" + Redact(text)));
    }
    return text;
  }

  // The hub's JSON document about org/name.
  Result<const json*> Hub(const Entry& e) {
    auto it = hub_cache_.find(e.id.value);
    if (it != hub_cache_.end()) return &it->second;
    const std::string url = hub + "/api/v1/" + e.id.value + ".json";
    auto resp = http_.Get(url);
    if (!resp.ok()) {
      const std::string& m = resp.status().message();
      if (m.find("HTTP 404") != std::string::npos) {
        return Status::NotFound(e.where + ": package " + e.id.shown + " was not found on the package hub (" + m + ")");
      }
      return resp.status().WithContext("reading " + e.id.shown + " from the package hub");
    }
    json doc = json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || !doc.contains("versions") || !doc["versions"].is_object()) {
      return Status::Corruption("GET " + RedactUrl(url) + ": not the package hub's JSON about " + e.id.shown +
                                " (expected an object with `versions`)");
    }
    for (const char* k : {"redirectnamespace", "redirectname"}) {
      if (doc.contains(k) && doc[k].is_string()) {
        Warn(e.id.shown + " has moved on the package hub to " +
             doc.value("redirectnamespace", doc.value("namespace", std::string("?"))) + "/" +
             doc.value("redirectname", doc.value("name", std::string("?"))) + "; update " + e.where);
        break;
      }
    }
    return &hub_cache_.emplace(e.id.value, std::move(doc)).first->second;
  }

  // Clones a git package at `revision` ("" = the default branch); its folder and commit sha.
  Result<Fetched> Git(const Entry& e, const std::string& revision) {
    const std::string key = e.Key() + "@" + revision;
    if (auto it = git_cache_.find(key); it != git_cache_.end()) return it->second;
    const std::string clone = NewPath("git");
    const std::string what = "git clone " + e.id.shown;
    STRATA_ASSIGN_OR_RETURN(std::string ignored, Tool({"git", "clone", "--quiet", "--", e.id.value, clone}, what));
    Fetched f;
    std::vector<std::string> candidates = {revision.empty() ? "HEAD" : revision};
    if (!revision.empty()) candidates.push_back("origin/" + revision);
    for (const auto& c : candidates) {
      auto sha = Tool({"git", "-C", clone, "rev-parse", "--verify", "--quiet", c + "^{commit}"}, "git rev-parse");
      if (sha.ok() && sha->size() >= 40) {
        f.sha = sha->substr(0, 40);
        break;
      }
    }
    if (f.sha.empty()) {
      return Status::InvalidArgument(e.where + ": revision '" + revision + "' is not a branch, tag or commit of " +
                                     e.id.shown);
    }
    STRATA_ASSIGN_OR_RETURN(
        ignored, Tool({"git", "-C", clone, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", f.sha},
                      "git checkout " + f.sha + " in " + e.id.shown));
    f.dir = e.subdirectory.empty() ? clone : JoinPath(clone, e.subdirectory);
    std::error_code ec;
    if (!fs::is_directory(f.dir, ec)) {
      return Status::InvalidArgument(e.where + ": " + e.id.shown + " has no subdirectory '" + e.subdirectory + "' at " +
                                     f.sha);
    }
    STRATA_ASSIGN_OR_RETURN(f.name, ProjectNameIn(f.dir, e.id.shown));
    return git_cache_[key] = f;
  }

  // Downloads and unpacks a tarball; the folder holding its dbt_project.yml.
  Result<std::string> Tarball(const std::string& url, const std::string& what) {
    if (auto it = tar_cache_.find(url); it != tar_cache_.end()) return it->second;
    auto resp = http_.Get(url);
    if (!resp.ok()) return resp.status().WithContext("downloading " + what);
    const std::string file = NewPath("download") + ".tar.gz";
    STRATA_RETURN_IF_ERROR(WriteFileAtomic(file, resp->body, Durability::kAtomicOnly));
    const std::string dir = NewPath("unpacked");
    STRATA_RETURN_IF_ERROR(MakeDirs(dir));
    STRATA_ASSIGN_OR_RETURN(std::string ignored,
                            Tool({"tar", "-xf", file, "-C", dir, "--no-same-owner", "--no-same-permissions"},
                                 "unpacking " + what + " (" + RedactUrl(url) + ")"));
    std::error_code ec;
    fs::remove(file, ec);
    std::string root = dir;
    if (!fs::exists(JoinPath(dir, "dbt_project.yml"), ec)) {
      std::vector<fs::path> dirs;
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.is_directory()) dirs.push_back(entry.path());
      }
      if (dirs.size() != 1) {
        return Status::InvalidArgument("the tarball of " + what + " (" + RedactUrl(url) +
                                       ") holds no dbt_project.yml at its top or in one top-level folder");
      }
      root = dirs[0].string();
    }
    return tar_cache_[url] = root;
  }

  // Fetches a git, local or tarball entry while resolving: its folder and project name.
  Result<Fetched> Fetch(const Entry& e) {
    if (e.kind == Kind::kGit) {
      STRATA_ASSIGN_OR_RETURN(Fetched f, Git(e, e.revision.value));
      if (e.revision.value.empty() && e.warn_unpinned.value_or(true)) {
        Warn("the git package " + e.id.shown + " is not pinned to a revision; installing its default branch (" +
             f.sha.substr(0, 12) + "). This can bring breaking changes without warning.");
      }
      return f;
    }
    Fetched f;
    if (e.kind == Kind::kLocal) {
      f.dir = LocalPath(e);
      std::error_code ec;
      if (!fs::is_directory(f.dir, ec)) {
        return Status::InvalidArgument(e.where + ": local package '" + e.id.shown + "' is not a folder (" + f.dir +
                                       ")");
      }
    } else {
      STRATA_ASSIGN_OR_RETURN(f.dir, Tarball(e.id.value, e.id.shown));
    }
    STRATA_ASSIGN_OR_RETURN(f.name, ProjectNameIn(f.dir, e.id.shown));
    return f;
  }

  // Local paths are relative to the root project, for every package (as in dbt).
  std::string LocalPath(const Entry& e) const {
    fs::path p(e.id.value);
    return (p.is_absolute() ? p : fs::path(project_dir) / p).lexically_normal().string();
  }

 private:
  const DepsOptions& options_;
  DepsResult* result_;
  HttpClient http_;
  int counter_ = 0;
  std::map<std::string, json> hub_cache_;
  std::map<std::string, Fetched> git_cache_;
  std::map<std::string, std::string> tar_cache_;
};

std::vector<std::string> HubVersions(const json& doc) {
  std::vector<std::string> out;
  for (const auto& [v, meta] : doc["versions"].items()) out.push_back(v);
  return out;
}

// The hub packages a hub package version depends on (the hub's metadata lists them).
Result<std::vector<Entry>> HubDeps(const json& meta, const std::string& asked_by) {
  std::vector<Entry> out;
  if (!meta.contains("packages") || meta["packages"].is_null()) return out;
  for (const auto& item : meta["packages"]) {
    if (!item.is_object() || !item.contains("package") || !item["package"].is_string() || !item.contains("version")) {
      return Status::Corruption("the package hub lists a dependency of " + asked_by +
                                " that is not {package, version}: " + item.dump());
    }
    Entry e;
    e.id.value = e.id.shown = item["package"].get<std::string>();
    e.where = "the hub's metadata of " + asked_by;
    e.asked_by = asked_by;
    const json& v = item["version"];
    e.ranges_list = v.is_array();
    for (const auto& r : v.is_array() ? v : json::array({v})) {
      std::string text = r.is_string() ? r.get<std::string>() : r.dump();
      auto parsed = ParseRange(text);
      if (!parsed.ok()) return parsed.status().WithContext(e.where);
      e.ranges.push_back(text);
      e.parsed.insert(e.parsed.end(), parsed->begin(), parsed->end());
    }
    if (e.ranges.empty()) return Status::Corruption(e.where + " lists " + e.id.shown + " without a version");
    out.push_back(std::move(e));
  }
  return out;
}

Request RequestOf(const Entry& e) {
  const std::string& where = e.version_where.empty() ? e.where : e.version_where;
  return Request{e.ranges, e.parsed, e.install_prerelease, e.root ? e.asked_by + " at " + where : e.asked_by};
}

// dbt's resolution, repeated until it settles: every package listed by the project or by a
// package it installs; hub versions the highest that every range asked for them allows.
Result<std::vector<Pinned>> Resolve(Run& run, const std::vector<Entry>& roots) {
  struct Node {
    Entry entry;
    std::vector<Request> requests;  // hub
    Fetched fetched;                // git, local, tarball
  };
  std::map<std::string, std::string> picks;  // hub key -> version used to walk its dependencies
  for (int round = 0; round < 20; ++round) {
    std::map<std::string, Node> nodes;
    std::vector<std::string> order;
    std::map<std::string, std::string> root_names;  // project name -> key of the project's entry
    std::deque<Entry> queue(roots.begin(), roots.end());
    while (!queue.empty()) {
      Entry e = std::move(queue.front());
      queue.pop_front();
      const std::string key = e.Key();
      if (auto it = nodes.find(key); it != nodes.end()) {
        Node& n = it->second;
        if (e.kind == Kind::kHub) n.requests.push_back(RequestOf(e));
        if (e.kind == Kind::kGit && e.revision.value != n.entry.revision.value) {
          return Status::InvalidArgument("git package " + e.id.shown + " is asked for at two revisions: '" +
                                         n.entry.revision.shown + "' (" + n.entry.where + ") and '" + e.revision.shown +
                                         "' (" + e.where + ")");
        }
        continue;
      }
      Node n{e, {}, {}};
      if (e.kind == Kind::kHub) {
        n.fetched.name = e.id.value.substr(e.id.value.find('/') + 1);  // the hub names packages by project
      } else {
        STRATA_ASSIGN_OR_RETURN(n.fetched, run.Fetch(e));
      }
      const std::string& name = n.fetched.name;
      if (e.root) {
        root_names.emplace(name, key);
      } else if (auto r = root_names.find(name); r != root_names.end() && r->second != key) {
        const Entry& mine = nodes.at(r->second).entry;
        if (mine.kind != e.kind) {
          run.Warn(e.asked_by + " asks for " + name + " as " + KindName(e.kind) + " package " + e.id.shown +
                   "; the project's own " + KindName(mine.kind) + " entry " + mine.id.shown + " (" + mine.where +
                   ") is installed instead");
        } else {
          run.Warn(e.asked_by + " asks for " + name + " from " + e.id.shown + "; the project's own entry " +
                   mine.id.shown + " (" + mine.where + ") is installed instead");
        }
        continue;
      }
      std::vector<Entry> deps;
      if (e.kind == Kind::kHub) {
        n.requests.push_back(RequestOf(e));
        STRATA_ASSIGN_OR_RETURN(const json* doc, run.Hub(e));
        std::string version;
        if (auto p = picks.find(key); p != picks.end()) {
          version = p->second;
        } else {
          auto picked = Pick(e.id.shown, n.requests, HubVersions(*doc));
          if (picked.ok()) version = *picked;  // otherwise the final pick below reports it
        }
        if (!version.empty()) {
          STRATA_ASSIGN_OR_RETURN(deps, HubDeps((*doc)["versions"][version], e.id.shown + " " + version));
        }
      } else {
        const std::string by = e.id.shown + (n.fetched.sha.empty() ? "" : "@" + n.fetched.sha.substr(0, 12));
        auto spec = LoadSpecFile(n.fetched.dir, by, false);
        if (!spec.ok()) return spec.status().WithContext("in the package " + e.id.shown);
        deps = std::move(spec->entries);
      }
      for (auto& d : deps) queue.push_back(std::move(d));
      order.push_back(key);
      nodes.emplace(key, std::move(n));
    }

    std::map<std::string, std::string> next;
    bool settled = true;
    for (const auto& key : order) {
      const Node& n = nodes.at(key);
      if (n.entry.kind != Kind::kHub) continue;
      STRATA_ASSIGN_OR_RETURN(const json* doc, run.Hub(n.entry));
      STRATA_ASSIGN_OR_RETURN(std::string v, Pick(n.entry.id.shown, n.requests, HubVersions(*doc)));
      if (v.empty()) {
        std::string versions;
        for (const auto& a : HubVersions(*doc)) versions += (versions.empty() ? "" : ", ") + a;
        return Status::NotFound("no version of " + n.entry.id.shown + " on the package hub satisfies" +
                                DescribeRequests(n.requests) + "\n(its versions: " + versions + ")");
      }
      next[key] = v;
      settled = settled && picks.count(key) && picks[key] == v;
    }
    if (!settled) {
      picks = std::move(next);
      continue;
    }

    std::vector<Pinned> out;
    std::map<std::string, std::string> owners;  // project name -> package
    for (const auto& key : order) {
      const Node& n = nodes.at(key);
      Pinned p{n.entry, n.fetched.name, n.fetched.sha, n.fetched.dir, ""};
      if (n.entry.kind == Kind::kHub) {
        STRATA_ASSIGN_OR_RETURN(const json* doc, run.Hub(n.entry));
        p.version = next[key];
        const json& meta = (*doc)["versions"][p.version];
        if (meta.contains("name") && meta["name"].is_string()) p.name = meta["name"];
        p.latest = doc->value("latest", std::string());
        if (meta.contains("require_dbt_version") && !meta["require_dbt_version"].is_null()) {
          const json& req = meta["require_dbt_version"];
          bool ok = true;
          for (const auto& r : req.is_array() ? req : json::array({req})) {
            auto cs = ParseRange(r.is_string() ? r.get<std::string>() : r.dump());
            if (!cs.ok()) continue;
            for (const auto& c : *cs) ok = ok && Allows(c, *ParseSemVer(kDbtVersion));
          }
          if (!ok) {
            run.Warn(p.Label() + " " + p.version + " requires dbt " + req.dump() + "; Strata implements dbt " +
                     kDbtVersion + ", so some of its macros may not work");
          }
        }
      }
      if (p.name == run.project_name) {
        return Status::InvalidArgument("package " + p.Label() + " has the project's own name '" + p.name +
                                       "'; package names must be unique in a project");
      }
      if (auto [it, fresh] = owners.emplace(p.name, p.Label()); !fresh) {
        return Status::InvalidArgument("found duplicate project \"" + p.name + "\": both " + it->second + " and " +
                                       p.Label() + " install it (a dependency has the name of another one)");
      }
      out.push_back(std::move(p));
    }
    return out;
  }
  return Status::Failed(
      "package resolution did not settle after 20 rounds (the picked versions keep changing "
      "what they depend on); pin the packages involved in packages.yml");
}

// The packages listed by package-lock.yml.
struct Lock {
  std::string hash;
  std::vector<Pinned> packages;
};

Result<Lock> ReadLock(const std::string& file) {
  STRATA_ASSIGN_OR_RETURN(ConfigNode doc, ConfigNode::Load(file));
  Lock lock;
  if (doc.Has("sha1_hash")) {
    STRATA_ASSIGN_OR_RETURN(lock.hash, doc["sha1_hash"].RawString());
  }
  if (doc["packages"].IsNull()) return lock;
  STRATA_ASSIGN_OR_RETURN(auto items, doc["packages"].Items());
  for (const auto& item : items) {
    Pinned p;
    Entry& e = p.entry;
    e.where = item.Where();
    e.asked_by = file;
    if (!item.IsMap()) return item.Error("expected a map");
    if (item.Has("name")) {
      STRATA_ASSIGN_OR_RETURN(p.name, item["name"].RawString());
      if (!IsProjectName(p.name)) return item["name"].Error("'" + p.name + "' is not a project name");
    }
    if (item.Has("package")) {
      STRATA_ASSIGN_OR_RETURN(e.id, RenderNode(item["package"]));
      STRATA_ASSIGN_OR_RETURN(p.version, item["version"].RawString());
      e.ranges = {p.version};
      if (!ParseSemVer(p.version)) return item["version"].Error("'" + p.version + "' is not a version");
    } else if (item.Has("git")) {
      e.kind = Kind::kGit;
      STRATA_ASSIGN_OR_RETURN(e.id, RenderNode(item["git"]));
      STRATA_ASSIGN_OR_RETURN(Text rev, RenderNode(item["revision"]));
      p.version = rev.value;
      e.revision = rev;
      if (p.version.empty() || p.version[0] == '-') return item["revision"].Error("not a revision");
      if (item.Has("subdirectory")) {
        STRATA_ASSIGN_OR_RETURN(e.subdirectory, item["subdirectory"].RawString());
        fs::path sp = fs::path(e.subdirectory).lexically_normal();
        if (sp.is_absolute() || (!sp.empty() && *sp.begin() == "..")) {
          return item["subdirectory"].Error("the subdirectory must be a path inside the repository");
        }
      }
    } else if (item.Has("local")) {
      e.kind = Kind::kLocal;
      STRATA_ASSIGN_OR_RETURN(e.id, RenderNode(item["local"]));
    } else if (item.Has("tarball")) {
      e.kind = Kind::kTarball;
      STRATA_ASSIGN_OR_RETURN(e.id, RenderNode(item["tarball"]));
      e.name = p.name;
    } else {
      return item.Error("a locked package needs one of package, git, local or tarball");
    }
    lock.packages.push_back(std::move(p));
  }
  return lock;
}

std::string LockYaml(const std::vector<Pinned>& packages, const std::string& hash) {
  std::string out = packages.empty() ? "packages: []\n" : "packages:\n";
  for (const auto& p : packages) {
    bool first = true;
    const json entry = p.Lock();  // items() refers to it: not a temporary
    for (const auto& [k, v] : entry.items()) {
      out += std::string(first ? "  - " : "    ") + k + ": " +
             YamlScalar(v.is_string() ? v.get<std::string>() : v.dump()) + "\n";
      first = false;
    }
  }
  return out + "sha1_hash: " + hash + "\n";
}

// Whether `p` is installed at `path` as locked: a symlink to the folder for a local package,
// else a folder whose marker holds the same lock entry.
bool Installed(const Run& run, const Pinned& p, const std::string& path) {
  std::error_code ec;
  const bool link = fs::is_symlink(fs::symlink_status(path, ec));
  if (p.entry.kind == Kind::kLocal) return link && fs::read_symlink(path, ec).string() == run.LocalPath(p.entry);
  if (link || !fs::is_directory(path, ec)) return false;
  auto marker = ReadFile(JoinPath(path, kMarker));
  if (!marker.ok()) return false;
  json j = json::parse(*marker, nullptr, false);
  return j.is_object() && j.contains("lock") && j["lock"] == p.Lock();
}

// Removes what earlier runs left behind when they were killed.
void RemoveStaleWork(const std::string& install) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(install, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".strata-deps-", 0) == 0 && entry.is_directory()) fs::remove_all(entry.path(), ec);
  }
}

struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

Status Rename(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) return Status::IOError("cannot move " + from + " to " + to + ": " + ec.message());
  return Status::OK();
}

// Fetches `p` (unless resolving did) into `stage`/<its project name>: a folder with its lock
// entry in a marker, or for a local package a symlink.
Status Stage(Run& run, Pinned& p, const std::string& stage, std::set<std::string>* names) {
  const std::string id = p.Label();
  std::string dir = p.fetched;
  if (dir.empty()) {
    if (p.entry.kind == Kind::kHub) {
      STRATA_ASSIGN_OR_RETURN(const json* doc, run.Hub(p.entry));
      const json& versions = (*doc)["versions"];
      if (!versions.contains(p.version)) {
        return Status::NotFound(p.entry.where + ": version " + p.version + " of " + id +
                                " is not on the package hub (any more)");
      }
      const json& meta = versions[p.version];
      if (!meta.contains("downloads") || !meta["downloads"].is_object() || !meta["downloads"].contains("tarball") ||
          !meta["downloads"]["tarball"].is_string()) {
        return Status::Corruption("the package hub gives no tarball for " + id + " " + p.version);
      }
      STRATA_ASSIGN_OR_RETURN(dir, run.Tarball(meta["downloads"]["tarball"].get<std::string>(), id + " " + p.version));
    } else if (p.entry.kind == Kind::kGit) {
      STRATA_ASSIGN_OR_RETURN(Fetched f, run.Git(p.entry, p.version));
      dir = f.dir;
    } else {
      STRATA_ASSIGN_OR_RETURN(Fetched f, run.Fetch(p.entry));
      dir = f.dir;
    }
  }
  STRATA_ASSIGN_OR_RETURN(std::string name, ProjectNameIn(dir, id));
  if (!p.name.empty() && name != p.name) {
    run.Warn(id + " calls itself '" + name + "' in its dbt_project.yml, not '" + p.name + "'; installed as " + name);
  }
  p.name = name;
  if (!names->insert(name).second || name == run.project_name) {
    return Status::InvalidArgument("found duplicate project \"" + name + "\" (" + id + ")");
  }
  const std::string target = JoinPath(stage, name);
  std::error_code ec;
  if (p.entry.kind == Kind::kLocal) {
    fs::create_directory_symlink(dir, target, ec);
    if (ec) return Status::IOError("cannot link " + target + " to " + dir + ": " + ec.message());
    run.Log("  Installed from " + dir + " (a symlink)");
    return Status::OK();
  }
  STRATA_RETURN_IF_ERROR(Rename(dir, target));
  fs::remove_all(JoinPath(target, ".git"), ec);
  STRATA_RETURN_IF_ERROR(
      WriteFileAtomic(JoinPath(target, kMarker), json{{"lock", p.Lock()}}.dump(2) + "\n", Durability::kAtomicOnly));
  if (p.entry.kind == Kind::kHub) {
    run.Log("  Installed from version " + p.version);
    run.Log(p.latest.empty() || p.latest == p.version ? "  Up to date!" : "  Updated version available: " + p.latest);
  } else if (p.entry.kind == Kind::kGit) {
    run.Log("  Installed from revision " + (p.entry.revision.shown.empty() ? "HEAD" : p.entry.revision.shown) + " (" +
            p.version.substr(0, 12) + ")" +
            (p.entry.subdirectory.empty() ? "" : " and subdirectory " + p.entry.subdirectory));
  } else {
    run.Log("  Installed from " + id);
  }
  return Status::OK();
}

Result<DepsResult> Install(const DepsOptions& options) {
  DepsResult result;
  Run run(options, &result);
  std::error_code ec;
  run.project_dir =
      fs::absolute(options.project_dir.empty() ? "." : options.project_dir, ec).lexically_normal().string();
  while (run.project_dir.size() > 1 && run.project_dir.back() == '/') run.project_dir.pop_back();
  const std::string project_file = JoinPath(run.project_dir, "dbt_project.yml");
  if (!fs::exists(project_file, ec)) {
    return Status::NotFound("no dbt_project.yml in '" + run.project_dir + "' (pass --project-dir)");
  }
  STRATA_ASSIGN_OR_RETURN(ConfigNode project, ConfigNode::Load(project_file));
  STRATA_ASSIGN_OR_RETURN(run.project_name, project["name"].RawString());
  STRATA_ASSIGN_OR_RETURN(std::string install_dir, project.String("packages-install-path", "dbt_packages"));
  fs::path install =
      fs::path(install_dir).is_absolute() ? fs::path(install_dir) : fs::path(run.project_dir) / install_dir;
  result.install_path = install.lexically_normal().string();
  while (result.install_path.size() > 1 && result.install_path.back() == '/') result.install_path.pop_back();
  // The install path is emptied of other folders: never the project or a folder holding it.
  const fs::path rel = fs::path(run.project_dir).lexically_relative(result.install_path);
  if (rel.empty() || *rel.begin() != "..") {
    return project["packages-install-path"].Error("the packages' folder '" + result.install_path +
                                                  "' must not be the project folder or hold it");
  }
  run.hub = options.hub_url;
  if (run.hub.empty()) {
    const char* env = std::getenv("DBT_PACKAGE_HUB_URL");
    run.hub = env != nullptr && *env ? env : kDefaultHub;
  }
  while (!run.hub.empty() && run.hub.back() == '/') run.hub.pop_back();

  STRATA_ASSIGN_OR_RETURN(SpecFile spec, LoadSpecFile(run.project_dir, run.project_name, true));
  const std::string hash = SpecHash(spec.entries);
  const bool existed = fs::is_directory(result.install_path, ec);
  if (spec.entries.empty() && !existed) {
    run.Log("No packages found in packages.yml");
    result.up_to_date = true;
    return result;
  }
  RemoveOnExit created{existed ? "" : result.install_path};  // a failed first run leaves no folder
  STRATA_RETURN_IF_ERROR(MakeDirs(result.install_path));
  STRATA_ASSIGN_OR_RETURN(FileLock held, FileLock::Acquire(JoinPath(result.install_path, ".strata-deps.lock")));
  RemoveStaleWork(result.install_path);

  // What to install: the lock while it matches, else a fresh resolution.
  const std::string lock_file = JoinPath(run.project_dir, kLockFile);
  std::optional<Lock> lock;
  if (!spec.entries.empty() && fs::exists(lock_file, ec)) {
    STRATA_ASSIGN_OR_RETURN(lock, ReadLock(lock_file));
  }
  const bool use_lock = lock && lock->hash == hash && !options.upgrade;
  result.lock_path = spec.entries.empty() ? "" : lock_file;
  run.work = JoinPath(result.install_path, ".strata-deps-" + std::to_string(::getpid()));
  RemoveOnExit cleanup{run.work};
  STRATA_RETURN_IF_ERROR(MakeDirs(run.work));
  std::vector<Pinned> packages;
  if (use_lock) {
    packages = std::move(lock->packages);
  } else if (!spec.entries.empty()) {
    if (lock)
      run.Log(options.upgrade ? "Resolving packages again (--upgrade)"
                              : "packages.yml changed since " + std::string(kLockFile) + "; resolving packages");
    STRATA_ASSIGN_OR_RETURN(packages, Resolve(run, spec.entries));  // nothing is touched until staged
    result.resolved = true;
  }
  if (spec.entries.empty()) run.Log("No packages found in packages.yml");

  // Stage what is not installed yet.
  const std::string stage = JoinPath(run.work, "stage");
  STRATA_RETURN_IF_ERROR(MakeDirs(stage));
  std::vector<std::string> staged;
  std::set<std::string> names;
  for (auto& p : packages) {
    InstalledPackage ip;
    ip.source = KindName(p.entry.kind);
    ip.id = p.Label();
    ip.version = p.entry.kind == Kind::kHub || p.entry.kind == Kind::kGit ? p.version : "";
    ip.subdirectory = p.entry.subdirectory;
    if (!p.name.empty() && !options.upgrade && Installed(run, p, JoinPath(result.install_path, p.name))) {
      ip.name = p.name;
      ip.path = JoinPath(result.install_path, p.name);
      ip.reused = true;
      names.insert(p.name);
      run.Log("Keeping " + ip.id + (ip.version.empty() ? "" : " " + ip.version) + " (already installed)");
      result.packages.push_back(ip);
      continue;
    }
    run.Log("Installing " + ip.id);
    if (Status st = Stage(run, p, stage, &names); !st.ok()) {
      return st.WithContext("nothing was installed (" + result.install_path + " is as it was)");
    }
    ip.name = p.name;
    ip.path = JoinPath(result.install_path, p.name);
    staged.push_back(p.name);
    result.packages.push_back(ip);
  }

  // Commit: every staged package into place, then away with what no package needs.
  std::vector<std::string> extra;
  for (const auto& entry : fs::directory_iterator(result.install_path, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kOwnPrefix, 0) != 0 && !names.count(name)) extra.push_back(name);
  }
  std::sort(extra.begin(), extra.end());
  const std::string old = JoinPath(run.work, "old");
  STRATA_RETURN_IF_ERROR(MakeDirs(old));
  for (const auto& name : staged) {
    const std::string dst = JoinPath(result.install_path, name);
    if (fs::exists(fs::symlink_status(dst, ec))) STRATA_RETURN_IF_ERROR(Rename(dst, JoinPath(old, name)));
    STRATA_RETURN_IF_ERROR(Rename(JoinPath(stage, name), dst));
  }
  for (const auto& name : extra) {
    STRATA_RETURN_IF_ERROR(Rename(JoinPath(result.install_path, name), JoinPath(old, name)));
    run.Log("Removed " + name + " (no package needs it)");
    result.removed.push_back(JoinPath(result.install_path, name));
  }
  if (!staged.empty() || !extra.empty()) STRATA_RETURN_IF_ERROR(SyncDir(result.install_path));
  if (result.resolved) {
    STRATA_RETURN_IF_ERROR(WriteFileAtomic(lock_file, LockYaml(packages, hash)));
    run.Log("Updated " + lock_file);
  }
  result.up_to_date = staged.empty() && extra.empty() && !result.resolved;
  if (result.up_to_date && !packages.empty()) {
    run.Log(packages.size() == 1
                ? std::string("The package is installed as ") + kLockFile + " says"
                : "All " + std::to_string(packages.size()) + " packages are installed as " + kLockFile + " says");
  }
  created.path.clear();  // success: keep the install path
  return result;
}

}  // namespace

Result<std::string> PickVersion(const std::vector<std::string>& ranges, const std::vector<std::string>& available,
                                bool prerelease) {
  Request r;
  r.prerelease = prerelease;
  for (const auto& text : ranges) {
    STRATA_ASSIGN_OR_RETURN(auto cs, ParseRange(text));
    r.ranges.push_back(text);
    r.constraints.insert(r.constraints.end(), cs.begin(), cs.end());
  }
  return Pick("the package", {r}, available);
}

Result<DepsResult> InstallPackages(const DepsOptions& options) {
  try {
    return Install(options);
  } catch (const std::exception& e) {  // std::filesystem and nlohmann throw on what we did not foresee
    return Status::IOError(std::string("strata deps: ") + e.what());
  }
}

}  // namespace strata::transform
