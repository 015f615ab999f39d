#include "transform/properties.h"

#include <algorithm>

#include "transform/dbt_project.h"

namespace strata::transform {

using nlohmann::json;

namespace {

// Parses `tests:` / `data_tests:` lists of a model, column or source table.
Status ParseTests(const ConfigNode& node, const std::string& column, std::vector<TestSpec>* out) {
  for (const char* key : {"tests", "data_tests"}) {
    ConfigNode list = node[key];
    if (list.IsNull()) continue;
    STRATA_ASSIGN_OR_RETURN(auto items, list.Items());
    for (const auto& item : items) {
      TestSpec t;
      t.column_name = column;
      t.where = item.Where();
      std::string full;
      if (item.IsScalar()) {
        STRATA_ASSIGN_OR_RETURN(full, item.String());
      } else if (item.IsMap()) {
        STRATA_ASSIGN_OR_RETURN(auto entries, item.Entries());
        if (entries.size() != 1) {
          // dbt's alternative form: {name: custom_name, test_name: unique, <arguments>...}.
          if (item.Has("test_name")) {
            STRATA_ASSIGN_OR_RETURN(full, item["test_name"].String());
          } else {
            return item.Error("a test is a name or a map with exactly one key (the test's name)");
          }
        } else {
          full = entries[0].first;
          const ConfigNode& args = entries[0].second;
          if (!args.IsNull() && !args.IsMap()) return args.Error("a test's arguments must be a map");
        }
      } else {
        return item.Error("a test is a name or a map with one key");
      }
      size_t dot = full.find('.');
      if (dot != std::string::npos) {
        t.package = full.substr(0, dot);
        t.test_name = full.substr(dot + 1);
      } else {
        t.test_name = full;
      }
      out->push_back(std::move(t));
    }
  }
  return Status::OK();
}

// Fills kwargs/config of tests parsed by ParseTests from the raw YAML (with typed values).
void FillTestArgs(const ConfigNode& node, std::vector<TestSpec>* tests, size_t first) {
  size_t i = first;
  for (const char* key : {"tests", "data_tests"}) {
    ConfigNode list = node[key];
    if (!list.IsList()) continue;
    auto items = list.Items();
    for (const auto& item : *items) {
      if (i >= tests->size()) return;
      TestSpec& t = (*tests)[i++];
      if (!item.IsMap()) continue;
      auto entries = item.Entries();
      json args = entries->size() == 1 ? (*entries)[0].second.ToJson() : item.ToJson();
      if (!args.is_object()) continue;
      // dbt 1.10's `arguments:` nests the test's arguments.
      if (args.contains("arguments") && args["arguments"].is_object()) {
        for (const auto& [k, v] : args["arguments"].items()) args[k] = v;
        args.erase("arguments");
      }
      if (args.contains("config")) {
        t.config = args["config"];
        args.erase("config");
      }
      for (const char* cfg : {"severity", "where", "limit", "warn_if", "error_if", "store_failures", "tags", "enabled",
                              "fail_calc", "meta"}) {
        if (args.contains(cfg)) {
          t.config[cfg] = args[cfg];
          args.erase(cfg);
        }
      }
      args.erase("test_name");
      if (args.contains("name") && args["name"].is_string()) {
        t.config["alias_name"] = args["name"];  // a custom test name
        args.erase("name");
      }
      t.kwargs = args;
    }
  }
}

// Column or model constraints as dbt 1.5+ writes them: [{type: not_null | unique | primary_key |
// check | foreign_key | custom, expression, columns (model level), name, warn_unenforced, ...}].
Status CheckConstraints(const ConfigNode& list, bool model_level) {
  if (!list.IsList()) return list.Error("constraints: expected a list");
  STRATA_ASSIGN_OR_RETURN(auto items, list.Items());
  for (const auto& c : items) {
    STRATA_RETURN_IF_ERROR(c.CheckKeys(
        {"type", "expression", "columns", "name", "warn_unenforced", "warn_unsupported", "to", "to_columns"}));
    STRATA_ASSIGN_OR_RETURN(std::string type, c.RequiredString("type"));
    static const std::vector<std::string> kTypes = {"not_null", "unique",      "primary_key",
                                                    "check",    "foreign_key", "custom"};
    if (std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end()) {
      return c["type"].Error("unknown constraint type '" + type +
                             "' (not_null, unique, primary_key, check, foreign_key, custom)");
    }
    if ((type == "check" || type == "custom") && c["expression"].IsNull()) {
      return c.Error("a " + type + " constraint needs an expression");
    }
    if (model_level && type != "check" && type != "custom" && c["columns"].IsNull()) {
      return c.Error("a model-level " + type + " constraint needs columns");
    }
  }
  return Status::OK();
}

Status ParseColumns(const ConfigNode& node, json* columns, std::vector<TestSpec>* tests) {
  ConfigNode cols = node["columns"];
  if (cols.IsNull()) return Status::OK();
  STRATA_ASSIGN_OR_RETURN(auto items, cols.Items());
  for (size_t i = 0; i < items.size(); ++i) {
    const ConfigNode& c = items[i];
    STRATA_ASSIGN_OR_RETURN(std::string name, c.RequiredString("name"));
    json col = {{"name", name}};
    STRATA_ASSIGN_OR_RETURN(std::string desc, c.String("description", ""));
    col["description"] = desc;
    STRATA_ASSIGN_OR_RETURN(std::string dtype, c.String("data_type", ""));
    if (!dtype.empty()) col["data_type"] = dtype;
    if (c.Has("meta")) col["meta"] = c["meta"].ToJson();
    if (c.Has("quote")) col["quote"] = c["quote"].ToJson();
    if (c.Has("constraints")) {
      STRATA_RETURN_IF_ERROR(CheckConstraints(c["constraints"], false));
      col["constraints"] = c["constraints"].ToJson();
    }
    col["index"] = static_cast<int64_t>(i);  // YAML order (the map sorts by name): a contract's column order
    (*columns)[name] = col;
    size_t first = tests->size();
    STRATA_RETURN_IF_ERROR(ParseTests(c, name, tests));
    FillTestArgs(c, tests, first);
  }
  return Status::OK();
}

}  // namespace

Status ParseProperties(const std::string& project_name, const std::string& rel_path, const std::string& abs_path,
                       Properties* out) {
  STRATA_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::Load(abs_path));
  if (root.IsNull()) return Status::OK();
  if (!root.IsMap()) return root.Error("expected a map (version, models, sources, ...)");
  STRATA_RETURN_IF_ERROR(
      root.CheckKeys({"version", "models", "sources", "seeds", "snapshots", "macros", "exposures", "metrics",
                      "semantic_models", "saved_queries", "analyses", "unit_tests", "data_tests", "groups"}));

  // Sources.
  STRATA_ASSIGN_OR_RETURN(auto sources, root["sources"].Items());
  for (size_t si = 0; si < sources.size(); ++si) {
    const ConfigNode& s = sources[si];
    STRATA_ASSIGN_OR_RETURN(std::string src_name, s.RequiredString("name"));
    STRATA_ASSIGN_OR_RETURN(std::string schema, s.String("schema", src_name));
    STRATA_ASSIGN_OR_RETURN(std::string database, s.String("database", ""));
    STRATA_ASSIGN_OR_RETURN(std::string src_desc, s.String("description", ""));
    json src_freshness = s.Has("freshness") ? s["freshness"].ToJson() : json();
    STRATA_ASSIGN_OR_RETURN(std::string src_loaded_at, s.String("loaded_at_field", ""));
    STRATA_ASSIGN_OR_RETURN(auto tables, s["tables"].Items());
    for (size_t ti = 0; ti < tables.size(); ++ti) {
      const ConfigNode& t = tables[ti];
      Node n;
      n.type = NodeType::kSource;
      STRATA_ASSIGN_OR_RETURN(n.name, t.RequiredString("name"));
      n.package = project_name;
      n.unique_id = "source." + project_name + "." + src_name + "." + n.name;
      n.path = rel_path;
      std::string dir = rel_path.substr(0, rel_path.rfind('/') == std::string::npos ? 0 : rel_path.rfind('/'));
      n.fqn = {project_name};
      size_t start = dir.find('/') == std::string::npos ? dir.size() : dir.find('/') + 1;
      while (start < dir.size()) {
        size_t slash = dir.find('/', start);
        n.fqn.push_back(dir.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
      }
      n.fqn.push_back(src_name);
      n.fqn.push_back(n.name);
      n.schema = schema;
      n.database = database;
      STRATA_ASSIGN_OR_RETURN(n.alias, t.String("identifier", n.name));
      STRATA_ASSIGN_OR_RETURN(n.description, t.String("description", src_desc));
      STRATA_ASSIGN_OR_RETURN(std::string loaded_at, t.String("loaded_at_field", src_loaded_at));
      if (!loaded_at.empty()) n.config["loaded_at_field"] = loaded_at;
      json freshness = t.Has("freshness") ? t["freshness"].ToJson() : src_freshness;
      if (!freshness.is_null()) n.config["freshness"] = freshness;
      std::vector<TestSpec> tests;
      STRATA_RETURN_IF_ERROR(ParseColumns(t, &n.columns, &tests));
      size_t first = tests.size();
      STRATA_RETURN_IF_ERROR(ParseTests(t, "", &tests));
      FillTestArgs(t, &tests, first);
      for (auto& test : tests) out->source_tests.emplace_back(n.unique_id, std::move(test));
      out->sources.push_back(std::move(n));
    }
  }

  // Models, seeds, snapshots: patches.
  for (const char* resource : {"models", "seeds", "snapshots"}) {
    STRATA_ASSIGN_OR_RETURN(auto items, root[resource].Items());
    for (size_t i = 0; i < items.size(); ++i) {
      const ConfigNode& m = items[i];
      Patch p;
      p.resource = resource;
      p.file = rel_path;
      p.where = m.Where();
      STRATA_ASSIGN_OR_RETURN(p.name, m.RequiredString("name"));
      if (std::string(resource) == "snapshots" && m.Has("relation")) {
        STRATA_ASSIGN_OR_RETURN(p.relation, m.RequiredString("relation"));
        std::string r = p.relation;
        r.erase(0, r.find_first_not_of(" \t"));
        if (r.rfind("ref(", 0) != 0 && r.rfind("source(", 0) != 0) {
          return m["relation"].Error("a snapshot's relation is ref('...') or source('...', '...'), not '" + p.relation +
                                     "'");
        }
      }
      STRATA_ASSIGN_OR_RETURN(p.description, m.String("description", ""));
      if (m.Has("config")) p.config = m["config"].ToJson();
      for (const char* key : {"docs", "meta"}) {
        if (m.Has(key)) p.config[key] = m[key].ToJson();
      }
      STRATA_RETURN_IF_ERROR(ParseColumns(m, &p.columns, &p.tests));
      if (m.Has("constraints")) {
        STRATA_RETURN_IF_ERROR(CheckConstraints(m["constraints"], true));
        p.constraints = m["constraints"].ToJson();
      }
      size_t first = p.tests.size();
      STRATA_RETURN_IF_ERROR(ParseTests(m, "", &p.tests));
      FillTestArgs(m, &p.tests, first);
      out->patches.push_back(std::move(p));
    }
  }

  // Exposures.
  STRATA_ASSIGN_OR_RETURN(auto exposures, root["exposures"].Items());
  for (const auto& e : exposures) {
    STRATA_RETURN_IF_ERROR(e.CheckKeys(
        {"name", "type", "label", "description", "url", "maturity", "owner", "depends_on", "meta", "tags", "config"}));
    ExposureSpec x;
    x.file = rel_path;
    x.where = e.Where();
    STRATA_ASSIGN_OR_RETURN(x.name, e.RequiredString("name"));
    STRATA_ASSIGN_OR_RETURN(x.type, e.String("type", "dashboard"));
    static const std::vector<std::string> kTypes = {"dashboard", "notebook", "analysis", "ml", "application"};
    if (std::find(kTypes.begin(), kTypes.end(), x.type) == kTypes.end()) {
      return e["type"].Error("an exposure's type is dashboard, notebook, analysis, ml or application, not '" + x.type +
                             "'");
    }
    STRATA_ASSIGN_OR_RETURN(x.label, e.String("label", ""));
    STRATA_ASSIGN_OR_RETURN(x.description, e.String("description", ""));
    STRATA_ASSIGN_OR_RETURN(x.url, e.String("url", ""));
    STRATA_ASSIGN_OR_RETURN(x.maturity, e.String("maturity", ""));
    if (e.Has("owner")) x.owner = e["owner"].ToJson();
    if (e.Has("meta")) x.meta = e["meta"].ToJson();
    if (e.Has("tags")) {
      STRATA_ASSIGN_OR_RETURN(x.tags, e["tags"].StringList());
    }
    if (e.Has("depends_on")) {
      STRATA_ASSIGN_OR_RETURN(x.depends_on, e["depends_on"].StringList());
    }
    out->exposures.push_back(std::move(x));
  }

  // Unit tests (dbt 1.8).
  STRATA_ASSIGN_OR_RETURN(auto units, root["unit_tests"].Items());
  for (size_t i = 0; i < units.size(); ++i) {
    const ConfigNode& u = units[i];
    UnitTestSpec spec;
    spec.file = rel_path;
    spec.where = u.Where();
    STRATA_ASSIGN_OR_RETURN(spec.name, u.RequiredString("name"));
    STRATA_ASSIGN_OR_RETURN(spec.model, u.RequiredString("model"));
    STRATA_ASSIGN_OR_RETURN(spec.description, u.String("description", ""));
    if (!u.Has("expect")) return u.Error("a unit test needs 'expect'");
    spec.given = u.Has("given") ? u["given"].ToJson() : json::array();
    spec.expect = u["expect"].ToJson();
    if (u.Has("overrides")) spec.overrides = u["overrides"].ToJson();
    if (u.Has("config")) spec.config = u["config"].ToJson();
    STRATA_RETURN_IF_ERROR(
        u.CheckKeys({"name", "model", "description", "given", "expect", "overrides", "config", "versions"}));
    if (u.Has("overrides")) STRATA_RETURN_IF_ERROR(u["overrides"].CheckKeys({"macros", "vars", "env_vars"}));
    std::vector<ConfigNode> givens;
    if (u.Has("given")) {
      STRATA_ASSIGN_OR_RETURN(givens, u["given"].Items());
    }
    for (const auto& g : givens) {
      STRATA_RETURN_IF_ERROR(g.CheckKeys({"input", "rows", "format", "fixture"}));
      STRATA_ASSIGN_OR_RETURN(std::string input, g.RequiredString("input"));
      (void)input;
      STRATA_ASSIGN_OR_RETURN(std::string format, g.String("format", "dict"));
      if (format != "dict" && format != "csv" && format != "sql") {
        return g["format"].Error("format must be dict, csv or sql, not '" + format + "'");
      }
    }
    STRATA_RETURN_IF_ERROR(u["expect"].CheckKeys({"rows", "format", "fixture"}));
    out->unit_tests.push_back(std::move(spec));
  }
  return Status::OK();
}

}  // namespace strata::transform
