#include "transform/selector.h"

#include <fnmatch.h>

#include <sstream>

#include "core/config.h"

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

Result<bool> Matches(const Atom& a, const Node& n) {
  const std::string& m = a.method;
  if (m.empty() || m == "fqn") {
    bool looks_like_path = a.value.find('/') != std::string::npos ||
                           (a.value.size() > 4 && a.value.compare(a.value.size() - 4, 4, ".sql") == 0);
    if (m.empty() && looks_like_path) {
      return PathMatches(a.value, n.path);
    }
    if (n.type == NodeType::kSource || n.type == NodeType::kExposure) return false;
    if (Glob(a.value, n.name)) return true;
    // Dotted fqn prefixes: shop.staging matches everything under staging.
    std::string fqn = Join(n.fqn, ".");
    return Glob(a.value, fqn) ||
           (fqn.size() > a.value.size() && fqn.compare(0, a.value.size(), a.value) == 0 && fqn[a.value.size()] == '.');
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
  static const std::vector<std::string> kMethods = {"fqn",     "tag",       "path",      "source",   "resource_type",
                                                    "package", "test_type", "test_name", "exposure", "config.<key>"};
  std::string hint = Closest(m, kMethods);
  return Status::InvalidArgument("unknown selector method '" + m + "'" +
                                 (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
}

Result<std::set<std::string>> SelectAtom(const Manifest& manifest, const Graph& graph, const std::string& text) {
  STRATA_ASSIGN_OR_RETURN(Atom a, ParseAtom(text));
  std::set<std::string> base;
  for (const auto& [id, node] : manifest.nodes()) {
    if (!node.enabled()) continue;
    STRATA_ASSIGN_OR_RETURN(bool hit, Matches(a, node));
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
                                          const std::vector<std::string>& specs, bool* any_spec) {
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
        STRATA_ASSIGN_OR_RETURN(auto hit, SelectAtom(manifest, graph, part));
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
  STRATA_ASSIGN_OR_RETURN(auto selected, SelectSpecs(manifest, graph, options.select, &any));
  if (!any) {
    for (const auto& [id, node] : manifest.nodes()) {
      if (node.enabled()) selected.insert(id);
    }
  }
  if (options.indirect_tests) {
    for (const auto& [id, node] : manifest.nodes()) {
      if (!node.enabled() || (node.type != NodeType::kTest && node.type != NodeType::kUnitTest)) continue;
      for (const auto& parent : node.depends_on) {
        if (selected.count(parent)) {
          selected.insert(id);
          break;
        }
      }
    }
  }
  bool any_ex = false;
  STRATA_ASSIGN_OR_RETURN(auto excluded, SelectSpecs(manifest, graph, options.exclude, &any_ex));
  for (const auto& id : excluded) selected.erase(id);
  return selected;
}

}  // namespace strata::transform
