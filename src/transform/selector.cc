#include "transform/selector.h"

#include <fnmatch.h>

#include <algorithm>
#include <sstream>

#include "core/config.h"
#include "core/hash.h"
#include "transform/artifacts.h"

namespace strata::transform {
namespace {

struct Atom {
  bool at = false;     // @x
  int up = 0;          // +x: -1 unlimited, >0 depth, 0 none
  int down = 0;        // x+
  std::string method;  // "" = default (name/fqn, or path)
  std::string value;
};

bool ParseDepth(const std::string& s, int* out) {
  if (s.empty()) {
    *out = -1;
    return true;
  }
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  *out = std::stoi(s);
  return true;
}

Result<Atom> ParseAtom(const std::string& text) {
  Atom a;
  std::string s = text;
  if (!s.empty() && s[0] == '@') {
    a.at = true;
    s = s.substr(1);
  }
  // Leading "N+" or "+".
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i < s.size() && s[i] == '+') {
    if (!ParseDepth(s.substr(0, i), &a.up)) return Status::InvalidArgument("bad selector '" + text + "'");
    s = s.substr(i + 1);
  }
  // Trailing "+" or "+N".
  size_t tp = s.rfind('+');
  if (tp != std::string::npos) {
    std::string depth = s.substr(tp + 1);
    int d;
    if (ParseDepth(depth, &d)) {
      a.down = d;
      s = s.substr(0, tp);
    }
  }
  if (a.at && (a.up != 0 || a.down != 0)) {
    return Status::InvalidArgument("selector '" + text + "': '@' cannot be combined with '+'");
  }
  size_t colon = s.find(':');
  if (colon != std::string::npos) {
    a.method = s.substr(0, colon);
    a.value = s.substr(colon + 1);
  } else {
    a.value = s;
  }
  if (a.value.empty()) return Status::InvalidArgument("selector '" + text + "' has no value");
  return a;
}

bool Glob(const std::string& pattern, const std::string& s) { return ::fnmatch(pattern.c_str(), s.c_str(), 0) == 0; }

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

bool PathMatches(const std::string& value, const std::string& path) {
  std::string v = value;
  while (!v.empty() && v.back() == '/') v.pop_back();
  if (Glob(v, path)) return true;
  return path.size() > v.size() && path.compare(0, v.size(), v) == 0 && path[v.size()] == '/';
}

// state:new and state:modified[.body|.configs] against a previous manifest's nodes: a node
// is new when the state does not have it; its body changed when its checksum (the SHA-256 of
// its file) or raw code differs; its configs changed when its config differs.
Result<bool> StateMatches(const std::string& value, const Node& n, const nlohmann::json* state) {
  if (state == nullptr) {
    return Status::InvalidArgument("state:" + value + " needs --state <dir with a previous manifest.json>");
  }
  if (value != "new" && value != "modified" && value != "modified.body" && value != "modified.configs") {
    return Status::InvalidArgument("unknown state selector 'state:" + value +
                                   "' (new, modified, modified.body, modified.configs)");
  }
  const char* section = n.type == NodeType::kSource ? "sources" : "nodes";
  const nlohmann::json* old = nullptr;
  if (state->contains(section) && (*state)[section].contains(n.unique_id)) old = &(*state)[section][n.unique_id];
  if (value == "new") return old == nullptr;
  if (old == nullptr) return true;  // new nodes count as modified, in every sub-selector (dbt's rule)
  bool body = false, configs = false;
  if (n.type != NodeType::kSource) {
    const std::string sum = NodeChecksum(n).second;
    if (old->contains("checksum") && (*old)["checksum"].is_object()) {
      body = (*old)["checksum"].value("checksum", std::string()) != sum;
    } else if (old->contains("raw_code")) {
      body = (*old)["raw_code"].is_string() && (*old)["raw_code"].get<std::string>() != n.raw_code;
    }
  }
  if (old->contains("config") && (*old)["config"].is_object()) {
    nlohmann::json a = (*old)["config"], b = n.config;
    // Keys one side writes only by default do not count as changes.
    for (const auto& [k, v] : b.items()) {
      if (!a.contains(k) && (v.is_null() || (v.is_array() && v.empty()) || (v.is_object() && v.empty()))) a[k] = v;
    }
    for (const auto& [k, v] : a.items()) {
      if (!b.contains(k) && (v.is_null() || (v.is_array() && v.empty()) || (v.is_object() && v.empty()))) b[k] = v;
    }
    configs = a != b;
  }
  if (value == "modified.body") return body;
  if (value == "modified.configs") return configs;
  return body || configs;
}

Result<bool> Matches(const Atom& a, const Node& n, const nlohmann::json* state) {
  const std::string& m = a.method;
  if (m.empty() || m == "fqn") {
    bool looks_like_path = a.value.find('/') != std::string::npos ||
                           (a.value.size() > 4 && a.value.compare(a.value.size() - 4, 4, ".sql") == 0);
    if (m.empty() && looks_like_path) {
      return PathMatches(a.value, n.path);
    }
    if (n.type == NodeType::kSource || n.type == NodeType::kExposure) return false;
    if (Glob(a.value, n.name)) return true;
    // Dotted fqn prefixes: shop.staging matches everything under staging; so does staging,
    // against the fqn without the project name.
    auto prefix = [&a](const std::string& fqn) {
      return Glob(a.value, fqn) || (fqn.size() > a.value.size() && fqn.compare(0, a.value.size(), a.value) == 0 &&
                                    fqn[a.value.size()] == '.');
    };
    if (prefix(Join(n.fqn, "."))) return true;
    return n.fqn.size() > 1 && prefix(Join(std::vector<std::string>(n.fqn.begin() + 1, n.fqn.end()), "."));
  }
  if (m == "tag") {
    for (const auto& t : n.tags) {
      if (Glob(a.value, t)) return true;
    }
    return false;
  }
  if (m == "path") return PathMatches(a.value, n.path);
  if (m == "source") {
    if (n.type != NodeType::kSource || n.fqn.size() < 2) return false;
    std::string src = n.fqn[n.fqn.size() - 2];
    size_t dot = a.value.find('.');
    if (dot == std::string::npos) return Glob(a.value, src);
    return Glob(a.value.substr(0, dot), src) && Glob(a.value.substr(dot + 1), n.name);
  }
  if (m == "resource_type") return a.value == NodeTypeName(n.type);
  if (m == "exposure") return n.type == NodeType::kExposure && Glob(a.value, n.name);
  if (m == "package") return Glob(a.value, n.package);
  if (m == "test_type") {
    if (n.type == NodeType::kUnitTest) return a.value == "unit";
    if (n.type != NodeType::kTest) return false;
    return a.value == (n.test_name.empty() ? "singular" : "generic");
  }
  if (m == "test_name") return n.type == NodeType::kTest && Glob(a.value, n.test_name);
  if (m.rfind("config.", 0) == 0) {
    std::string key = m.substr(7);
    if (!n.config.contains(key)) return false;
    const auto& v = n.config[key];
    if (v.is_string()) return Glob(a.value, v.get<std::string>());
    if (v.is_array()) {
      for (const auto& x : v) {
        if (x.is_string() && Glob(a.value, x.get<std::string>())) return true;
      }
      return false;
    }
    return v.dump() == a.value;
  }
  if (m == "state") return StateMatches(a.value, n, state);
  static const std::vector<std::string> kMethods = {"fqn",           "tag",     "path",        "source",
                                                    "resource_type", "package", "test_type",   "test_name",
                                                    "exposure",      "state",   "config.<key>"};
  std::string hint = Closest(m, kMethods);
  return Status::InvalidArgument("unknown selector method '" + m + "'" +
                                 (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
}

Result<std::set<std::string>> SelectAtom(const Manifest& manifest, const Graph& graph, const std::string& text,
                                         const nlohmann::json* state) {
  STRATA_ASSIGN_OR_RETURN(Atom a, ParseAtom(text));
  std::set<std::string> base;
  for (const auto& [id, node] : manifest.nodes()) {
    if (!node.enabled()) continue;
    STRATA_ASSIGN_OR_RETURN(bool hit, Matches(a, node, state));
    if (hit) base.insert(id);
  }
  std::set<std::string> out = base;
  for (const auto& id : base) {
    if (a.up != 0) {
      auto anc = graph.Ancestors(id, a.up);
      out.insert(anc.begin(), anc.end());
    }
    if (a.down != 0 || a.at) {
      auto desc = graph.Descendants(id, a.at ? -1 : a.down);
      out.insert(desc.begin(), desc.end());
      if (a.at) {
        for (const auto& d : desc) {
          auto anc = graph.Ancestors(d);
          out.insert(anc.begin(), anc.end());
        }
      }
    }
  }
  return out;
}

Result<std::set<std::string>> SelectSpecs(const Manifest& manifest, const Graph& graph,
                                          const std::vector<std::string>& specs, const nlohmann::json* state,
                                          bool* any_spec) {
  std::set<std::string> out;
  *any_spec = false;
  for (const auto& arg : specs) {
    std::istringstream words(arg);
    std::string word;
    while (words >> word) {
      *any_spec = true;
      std::set<std::string> acc;
      bool first = true;
      size_t start = 0;
      while (start <= word.size()) {
        size_t comma = word.find(',', start);
        std::string part = word.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        STRATA_ASSIGN_OR_RETURN(auto hit, SelectAtom(manifest, graph, part, state));
        if (first) {
          acc = std::move(hit);
          first = false;
        } else {
          std::set<std::string> both;
          for (const auto& id : acc) {
            if (hit.count(id)) both.insert(id);
          }
          acc = std::move(both);
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      out.insert(acc.begin(), acc.end());
    }
  }
  return out;
}

}  // namespace

Result<std::set<std::string>> SelectNodes(const Manifest& manifest, const Graph& graph, const SelectOptions& options) {
  bool any = false;
  STRATA_ASSIGN_OR_RETURN(auto selected, SelectSpecs(manifest, graph, options.select, options.state, &any));
  if (!any) {
    for (const auto& [id, node] : manifest.nodes()) {
      if (node.enabled()) selected.insert(id);
    }
  }
  const std::string mode = options.indirect_tests ? options.indirect_selection : "empty";
  if (mode != "eager" && mode != "cautious" && mode != "buildable" && mode != "empty") {
    return Status::InvalidArgument("unknown indirect selection '" + mode + "' (eager, cautious, buildable, empty)");
  }
  if (mode != "empty") {
    // buildable: a parent counts when selected or upstream of something selected.
    std::set<std::string> upstream;
    if (mode == "buildable") {
      for (const auto& id : selected) {
        for (const auto& a : graph.Ancestors(id)) upstream.insert(a);
      }
    }
    std::vector<std::string> add;
    for (const auto& [id, node] : manifest.nodes()) {
      if (!node.enabled() || (node.type != NodeType::kTest && node.type != NodeType::kUnitTest)) continue;
      if (node.depends_on.empty()) continue;
      size_t hits = 0;
      for (const auto& parent : node.depends_on) {
        hits += selected.count(parent) > 0 || (mode == "buildable" && upstream.count(parent) > 0);
      }
      const bool any_selected = std::any_of(node.depends_on.begin(), node.depends_on.end(),
                                            [&selected](const std::string& p) { return selected.count(p) > 0; });
      if (mode == "eager" ? any_selected : (hits == node.depends_on.size() && any_selected)) add.push_back(id);
    }
    selected.insert(add.begin(), add.end());
  }
  bool any_ex = false;
  STRATA_ASSIGN_OR_RETURN(auto excluded, SelectSpecs(manifest, graph, options.exclude, options.state, &any_ex));
  for (const auto& id : excluded) selected.erase(id);
  if (!options.resource_types.empty()) {
    static const std::vector<std::string> kTypes = {"model",  "seed",     "snapshot",  "test",
                                                    "source", "exposure", "unit_test", "analysis"};
    for (const auto& t : options.resource_types) {
      if (std::find(kTypes.begin(), kTypes.end(), t) == kTypes.end()) {
        std::string hint = Closest(t, kTypes);
        return Status::InvalidArgument("unknown resource type '" + t + "'" +
                                       (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
      }
    }
    for (auto it = selected.begin(); it != selected.end();) {
      const Node* n = manifest.Find(*it);
      const std::string type = NodeTypeName(n->type);
      if (std::find(options.resource_types.begin(), options.resource_types.end(), type) ==
          options.resource_types.end()) {
        it = selected.erase(it);
      } else {
        ++it;
      }
    }
  }
  return selected;
}

}  // namespace strata::transform
