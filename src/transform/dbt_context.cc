#include "transform/dbt_context.h"

#include <cstdlib>
#include <ctime>
#include <iostream>
#include <mutex>

#include "core/config.h"
#include "core/date.h"
#include "core/redact.h"
#include "db/duckdb.h"
#include "transform/jinja/call_context.h"
#include "transform/jinja/callable.h"

namespace strata::transform {

using jinja::Args;
using jinja::CallContext;
using jinja::Value;
using nlohmann::json;

namespace {

constexpr const char* kStateVar = "__strata_render_state";

std::string QuoteIdent(const std::string& s) { return duck::QuoteIdent(s); }

class StateHandle : public jinja::Object {
 public:
  explicit StateHandle(RenderState* s) : state(s) {}
  std::string TypeName() const override { return "render_state"; }
  RenderState* state;
};

Result<RenderState*> StateOfImpl(CallContext& ctx) {
  Value v = ctx.Lookup(kStateVar);
  if (!v.is_object()) return CallContext::Error("this function is only available while rendering a node");
  const auto* h = dynamic_cast<const StateHandle*>(&v.as_object());
  if (h == nullptr) return CallContext::Error("internal: bad render state");
  return h->state;
}

// The unit test's overrides of the render in progress; nullptr outside unit tests.
const RenderOverrides* OverridesOf(CallContext& ctx) {
  auto state = StateOfImpl(ctx);
  return state.ok() ? (*state)->overrides : nullptr;
}

}  // namespace

Value JsonToValue(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return Value::None();
    case json::value_t::boolean:
      return Value(j.get<bool>());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return Value(j.get<int64_t>());
    case json::value_t::number_float:
      return Value(j.get<double>());
    case json::value_t::string:
      return Value(j.get<std::string>());
    case json::value_t::array: {
      std::vector<Value> items;
      for (const auto& x : j) items.push_back(JsonToValue(x));
      return Value::MakeList(std::move(items));
    }
    case json::value_t::object: {
      Value d = Value::MakeDict();
      for (const auto& [k, v] : j.items()) d.as_dict().Set(std::string_view(k), JsonToValue(v));
      return d;
    }
    default:
      return Value::None();
  }
}

namespace {

Result<json> ValueToJson(const Value& v) {
  STRATA_ASSIGN_OR_RETURN(std::string text, v.ToJson());
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("cannot convert value to JSON: ") + e.what());
  }
}

// config(...) — records in parse mode; config.get/require read the resolved config.
class ConfigObject : public jinja::Object {
 public:
  std::string TypeName() const override { return "config"; }
  bool IsCallable() const override { return true; }
  Result<Value> Call(CallContext& ctx, const Args& args) const override {
    STRATA_ASSIGN_OR_RETURN(RenderState * s, StateOfImpl(ctx));
    json cfg = json::object();
    if (!args.positional.empty()) {
      if (!args.positional[0].is_dict()) return CallContext::Error("config() takes keyword arguments or one dict");
      STRATA_ASSIGN_OR_RETURN(cfg, ValueToJson(args.positional[0]));
    }
    for (const auto& [k, v] : args.kwargs) {
      STRATA_ASSIGN_OR_RETURN(cfg[k], ValueToJson(v));
    }
    if (s->mode == RenderMode::kParse) MergeConfig(&s->config, cfg);
    return Value("");
  }
  Value GetAttr(std::string_view name) const override {
    if (name == "get" || name == "require") {
      bool require = name == "require";
      return Value::Function(std::string(name), [require](CallContext& ctx, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind(require ? "config.require" : "config.get", {"name", "default"}, 1));
        STRATA_ASSIGN_OR_RETURN(RenderState * s, StateOfImpl(ctx));
        std::string key = a[0].Str();
        const json& cfg = s->mode == RenderMode::kParse ? s->config : s->node->config;
        if (cfg.contains(key) && !cfg[key].is_null()) return JsonToValue(cfg[key]);
        if (s->mode == RenderMode::kParse && s->node && s->node->config.contains(key)) {
          return JsonToValue(s->node->config[key]);
        }
        if (require) return CallContext::Error("config '" + key + "' is required");
        return a[1].is_undefined() ? Value::None() : a[1];
      });
    }
    return jinja::Object::GetAttr(name);
  }
  std::vector<std::string> AttrNames() const override { return {"get", "require"}; }
};

}  // namespace

jinja::Value StrftimeMethod(int64_t epoch_seconds) {
  return Value::Function("strftime", [epoch_seconds](CallContext&, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("strftime", {"format"}, 1));
    std::time_t tt = static_cast<std::time_t>(epoch_seconds);
    std::tm tm;
    gmtime_r(&tt, &tm);
    char buf[256];
    size_t n = std::strftime(buf, sizeof buf, a[0].Str().c_str(), &tm);
    return Value(std::string(buf, n));
  });
}

namespace {

// A datetime value for run_started_at and modules.datetime: strftime, isoformat, parts.
class DateTimeObject : public jinja::Object {
 public:
  explicit DateTimeObject(int64_t epoch_micros) : micros_(epoch_micros) {}
  std::string TypeName() const override { return "datetime"; }
  std::string Str() const override { return FormatTimestampMicros(micros_) + "+00:00"; }
  Value GetAttr(std::string_view name) const override {
    int64_t secs = micros_ / 1000000;
    Date d = Date::FromDays(secs / 86400);
    int y;
    unsigned m, day;
    d.ToYmd(&y, &m, &day);
    if (name == "year") return Value(static_cast<int64_t>(y));
    if (name == "month") return Value(static_cast<int64_t>(m));
    if (name == "day") return Value(static_cast<int64_t>(day));
    if (name == "hour") return Value(secs % 86400 / 3600);
    if (name == "minute") return Value(secs % 3600 / 60);
    if (name == "second") return Value(secs % 60);
    if (name == "isoformat") {
      std::string iso = Str();
      iso[10] = 'T';
      return Value::Function("isoformat", [iso](CallContext&, const Args&) -> Result<Value> { return Value(iso); });
    }
    if (name == "strftime") return StrftimeMethod(secs);
    return jinja::Object::GetAttr(name);
  }
  std::vector<std::string> AttrNames() const override {
    return {"year", "month", "day", "hour", "minute", "second", "isoformat", "strftime"};
  }

 private:
  int64_t micros_;
};

int64_t NowMicros() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

Value NodeToValueImpl(const Node& node) {
  Value d = Value::MakeDict();
  jinja::Dict& m = d.as_dict();
  m.Set("name", Value(node.name));
  m.Set("unique_id", Value(node.unique_id));
  m.Set("resource_type", Value(NodeTypeName(node.type)));
  m.Set("package_name", Value(node.package));
  m.Set("path", Value(node.path));
  m.Set("original_file_path", Value(node.path));
  m.Set("alias", Value(node.alias.empty() ? node.name : node.alias));
  m.Set("schema", Value(node.schema));
  m.Set("database", node.database.empty() ? Value::None() : Value(node.database));
  m.Set("config", JsonToValue(node.config));
  m.Set("tags", JsonToValue(json(node.tags)));
  m.Set("description", Value(node.description));
  m.Set("columns", JsonToValue(node.columns));
  std::vector<Value> fqn;
  for (const auto& f : node.fqn) fqn.push_back(Value(f));
  m.Set("fqn", Value::MakeList(std::move(fqn)));
  return d;
}

}  // namespace

std::string RelationText(const std::string& database, const std::string& schema, const std::string& identifier) {
  if (schema.empty()) return QuoteIdent(identifier);  // a CTE (ephemeral model)
  std::string out;
  if (!database.empty()) out = QuoteIdent(database) + ".";
  return out + QuoteIdent(schema) + "." + QuoteIdent(identifier);
}

Result<RenderState*> RenderStateOf(jinja::CallContext& ctx) { return StateOfImpl(ctx); }

jinja::Value NodeToValue(const Node& node) { return NodeToValueImpl(node); }

namespace {

// dbt's `graph`: {nodes, sources, exposures, macros, metrics, groups}, each node as a dict
// with its depends_on. Built on first use (most renders never read it), once for every
// thread; templates must treat it as read-only, as in dbt.
class GraphObject : public jinja::Object {
 public:
  explicit GraphObject(const Manifest* manifest) : manifest_(manifest) {}
  std::string TypeName() const override { return "graph"; }
  bool IsMapping() const override { return true; }
  std::vector<std::string> AttrNames() const override {
    return {"nodes", "sources", "exposures", "macros", "metrics", "groups", "semantic_models", "unit_tests"};
  }
  Value GetAttr(std::string_view name) const override {
    std::call_once(built_, [this] { Build(); });
    if (const Value* v = parts_.as_dict().Find(name)) return *v;
    if (name == "get") {
      Value parts = parts_;
      return Value::Function("get", [parts](CallContext&, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("get", {"key", "default"}, 1));
        if (const Value* v = parts.as_dict().Find(a[0].Str())) return *v;
        return a[1].is_undefined() ? Value::None() : a[1];
      });
    }
    return jinja::Object::GetAttr(name);
  }

 private:
  void Build() const {
    Value nodes = Value::MakeDict(), sources = Value::MakeDict(), exposures = Value::MakeDict(),
          unit_tests = Value::MakeDict();
    for (const auto& [id, node] : manifest_->nodes()) {
      Value v = NodeToValueImpl(node);
      std::vector<Value> deps;
      for (const auto& d : node.depends_on) deps.push_back(Value(d));
      v.as_dict().Set("depends_on",
                      Value::MakeDict({{"nodes", Value::MakeList(std::move(deps))}, {"macros", Value::MakeList()}}));
      if (node.type == NodeType::kSource) {
        v.as_dict().Set("source_name", Value(node.fqn.size() >= 2 ? node.fqn[node.fqn.size() - 2] : ""));
        v.as_dict().Set("identifier", Value(node.alias.empty() ? node.name : node.alias));
        sources.as_dict().Set(id, v);
      } else if (node.type == NodeType::kExposure) {
        exposures.as_dict().Set(id, v);
      } else if (node.type == NodeType::kUnitTest) {
        unit_tests.as_dict().Set(id, v);
      } else {
        nodes.as_dict().Set(id, v);
      }
    }
    parts_ = Value::MakeDict({{"nodes", nodes},
                              {"sources", sources},
                              {"exposures", exposures},
                              {"unit_tests", unit_tests},
                              {"macros", Value::MakeDict()},
                              {"metrics", Value::MakeDict()},
                              {"groups", Value::MakeDict()},
                              {"semantic_models", Value::MakeDict()}});
  }

  const Manifest* manifest_;
  mutable std::once_flag built_;
  mutable Value parts_;
};

}  // namespace

jinja::Value MakeGraphValue(const Manifest* manifest) {
  return Value::FromObject(std::make_shared<GraphObject>(manifest));
}

void FillStateContext(jinja::Context* ctx, RenderState* state) {
  ctx->Set(kStateVar, Value::FromObject(std::make_shared<StateHandle>(state)));
  ctx->Set("execute", Value(state->mode == RenderMode::kCompile));
}

void FillRenderContext(jinja::Context* ctx, RenderState* state, const Node& node) {
  ctx->Set(kStateVar, Value::FromObject(std::make_shared<StateHandle>(state)));
  ctx->Set("this", MakeRelation(node.database, node.schema, node.alias.empty() ? node.name : node.alias));
  ctx->SetLazy("model", [&node] { return NodeToValueImpl(node); });  // a copy of config and columns: rarely read
  ctx->Set("execute", Value(state->mode == RenderMode::kCompile));
}

namespace {

// selected_resources: a list-like view of the ids the Runner selected for this command.
class SelectedResources : public jinja::Object {
 public:
  explicit SelectedResources(std::shared_ptr<std::vector<std::string>> ids) : ids_(std::move(ids)) {}
  std::string TypeName() const override { return "list"; }
  bool IsIterable() const override { return true; }
  std::vector<Value> Items() const override {
    std::vector<Value> out;
    for (const auto& id : *ids_) out.emplace_back(id);
    return out;
  }
  std::string Str() const override { return Value::MakeList(Items()).Str(); }

 private:
  std::shared_ptr<std::vector<std::string>> ids_;
};

// target (the profile's selected target), as templates see it.
Value TargetValue(const Profile& p) {
  Value target = Value::MakeDict();
  target.as_dict().Set("name", Value(p.target));
  target.as_dict().Set("profile_name", Value(p.name));
  target.as_dict().Set("type", Value(p.type));
  target.as_dict().Set("schema", Value(p.schema));
  target.as_dict().Set("database", p.database.empty() ? Value("main") : Value(p.database));
  target.as_dict().Set("threads", Value(static_cast<int64_t>(p.threads)));
  target.as_dict().Set("path", Value(p.path));
  return target;
}

// What the invocation is: target, project_name, dbt_version, invocation_id, flags and execute
// (false until a node's render says otherwise); config and adapter.
void InstallInvocationGlobals(jinja::Environment* env, const ContextSettings& settings) {
  env->AddGlobal("target", TargetValue(settings.profile));
  env->AddGlobal("project_name", Value(settings.project_name));
  env->AddGlobal("dbt_version", Value(kDbtCompatVersion));
  env->AddGlobal("invocation_id", Value(settings.invocation_id));
  env->AddGlobal("selected_resources", Value::FromObject(std::make_shared<SelectedResources>(settings.selected)));
  Value flags = Value::MakeDict();
  flags.as_dict().Set("FULL_REFRESH", Value(settings.full_refresh));
  flags.as_dict().Set("STORE_FAILURES", Value(false));
  flags.as_dict().Set("WHICH", Value(settings.which));
  flags.as_dict().Set("WARN_ERROR", Value(false));
  flags.as_dict().Set("FAIL_FAST", Value(false));
  flags.as_dict().Set("EMPTY", Value(settings.empty));
  flags.as_dict().Set("USE_COLORS", Value(false));
  flags.as_dict().Set("INTROSPECT", Value(true));
  env->AddGlobal("flags", flags);
  env->AddGlobal("execute", Value(false));
  env->AddGlobal("config", Value::FromObject(std::make_shared<ConfigObject>()));
}

// run_started_at (the invocation's timestamp, else now) and modules.datetime.datetime's now()
// and utcnow().
void InstallDateTimeGlobals(jinja::Environment* env, const ContextSettings& settings) {
  int64_t started = NowMicros();
  if (!settings.run_started_at.empty()) {
    auto t = ParseTimestamp(settings.run_started_at);
    if (t.ok()) {
      started = *t * 1000000;
      // ParseTimestamp keeps whole seconds: add the fraction ("...:SS.ffffff").
      const std::string& text = settings.run_started_at;
      if (text.size() > 20 && text[19] == '.') {
        int64_t frac = 0, digits = 0;
        for (size_t i = 20; i < text.size() && digits < 6 && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
          frac = frac * 10 + (text[i] - '0');
        }
        for (; digits < 6; ++digits) frac *= 10;
        started += frac;
      }
    }
  }
  env->AddGlobal("run_started_at", Value::FromObject(std::make_shared<DateTimeObject>(started)));
  Value datetime_cls = Value::MakeDict();
  datetime_cls.as_dict().Set("now", Value::Function("datetime.now", [](CallContext&, const Args&) -> Result<Value> {
                               return Value::FromObject(std::make_shared<DateTimeObject>(NowMicros()));
                             }));
  datetime_cls.as_dict().Set("utcnow", *datetime_cls.as_dict().Find(std::string_view("now")));
  Value datetime_mod = Value::MakeDict();
  datetime_mod.as_dict().Set("datetime", datetime_cls);
  Value modules = Value::MakeDict();
  modules.as_dict().Set("datetime", datetime_mod);
  env->AddGlobal("modules", modules);
}

// var(name, default): a unit test's vars, then --vars, then the root dbt_project.yml's vars
// (those scoped to the rendering node's package, then the global ones), then, for a node of an
// installed package, that package's own vars (scoped, then global), then the default.
void InstallVar(jinja::Environment* env, const ContextSettings& settings) {
  env->AddFunction(
      "var",
      [project_vars = settings.project_vars, cli_vars = settings.cli_vars, project_name = settings.project_name,
       package_vars = settings.package_vars](CallContext& ctx, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("var", {"name", "default"}, 1));
        std::string name = a[0].Str();
        if (const RenderOverrides* o = OverridesOf(ctx); o != nullptr && o->vars.contains(name)) {
          return JsonToValue(o->vars[name]);
        }
        if (cli_vars.contains(name)) return JsonToValue(cli_vars[name]);
        std::string package = project_name;
        if (auto state = StateOfImpl(ctx);
            state.ok() && (*state)->node != nullptr && !(*state)->node->package.empty()) {
          package = (*state)->node->package;
        }
        // `vars` scoped to `scope`, then its global ones (a value that is not a package's block).
        auto lookup = [&](const json& vars, const std::string& scope) -> const json* {
          if (vars.contains(scope) && vars[scope].is_object() && vars[scope].contains(name)) return &vars[scope][name];
          if (vars.contains(name)) return &vars[name];
          return nullptr;
        };
        if (const json* v = lookup(project_vars, package)) return JsonToValue(*v);
        if (auto it = package_vars.find(package); it != package_vars.end()) {
          if (const json* v = lookup(it->second, package)) return JsonToValue(*v);
        }
        if (!a[1].is_undefined()) return a[1];
        std::vector<std::string> known;
        for (const auto& [k, v] : project_vars.items()) known.push_back(k);
        for (const auto& [k, v] : cli_vars.items()) known.push_back(k);
        std::string hint = Closest(name, known);
        return CallContext::Error("required var '" + name + "' not found in dbt_project.yml vars or --vars" +
                                  (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
      });
}

// env_var(name, default): a unit test's env vars, then the environment, then the default.
// DBT_ENV_SECRET_* only where settings.allow_secret_env (profiles.yml); the values of
// secret-looking variables are registered, so that they are never printed.
void InstallEnvVar(jinja::Environment* env, const ContextSettings& settings) {
  env->AddFunction("env_var",
                   [allow_secret = settings.allow_secret_env](CallContext& ctx, const Args& args) -> Result<Value> {
                     STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("env_var", {"var", "default"}, 1));
                     const std::string name = a[0].Str();
                     if (name.rfind("DBT_ENV_SECRET_", 0) == 0 && !allow_secret) {
                       return CallContext::Error("secret env vars are allowed only in profiles.yml: '" + name +
                                                 "' would be written into target/ and logs here");
                     }
                     if (const RenderOverrides* o = OverridesOf(ctx); o != nullptr && o->env_vars.contains(name)) {
                       const json& v = o->env_vars[name];
                       return Value(v.is_string() ? v.get<std::string>() : v.dump());
                     }
                     const char* v = std::getenv(name.c_str());
                     if (v != nullptr) {
                       if (name.rfind("DBT_ENV_SECRET_", 0) == 0 || LooksSecret(name))
                         RegisterSecret(v);  // never printed
                       return Value(std::string(v));
                     }
                     if (!a[1].is_undefined()) return a[1];
                     return CallContext::Error("env var required but not provided: '" + a[0].Str() + "'");
                   });
}

// log(msg, info) and exceptions.
void InstallLoggingAndExceptions(jinja::Environment* env) {
  env->AddFunction("log", [](CallContext&, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("log", {"msg", "info"}, 1));
    if (a[1].Truthy()) std::cerr << a[0].Str() << "\n";
    return Value("");
  });

  // exceptions.raise_compiler_error(msg) fails the render at the call, with the file, line,
  // column and macro stack; exceptions.warn(msg) prints and goes on.
  Value exceptions = Value::MakeDict();
  exceptions.as_dict().Set("raise_compiler_error",
                           Value::Function("raise_compiler_error", [](CallContext&, const Args& args) -> Result<Value> {
                             STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("raise_compiler_error", {"msg"}, 1));
                             return CallContext::Error(a[0].Str());
                           }));
  exceptions.as_dict().Set("warn", Value::Function("warn", [](CallContext& ctx, const Args& args) -> Result<Value> {
                             STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("warn", {"msg"}, 1));
                             std::cerr << "warning: " << ctx.where() << ": " << a[0].Str() << "\n";
                             return Value("");
                           }));
  env->AddGlobal("exceptions", exceptions);
}

// doc(name) or doc(package, name): a {% docs %} block's text.
void InstallDoc(jinja::Environment* env, const ContextSettings& settings) {
  auto docs = settings.docs;
  env->AddFunction("doc", [docs](CallContext&, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("doc", {"name", "name2"}, 1));
    std::string name = a[1].is_undefined() ? a[0].Str() : a[1].Str();
    if (docs) {
      auto it = docs->find(name);
      if (it != docs->end()) return Value(it->second);
    }
    return CallContext::Error("no docs block named '" + name + "'");
  });
}

// With --empty, the refs and sources of a compiled model read no rows (dbt 1.8); tests and
// the rest read the relations as they are.
Value EmptyIfAsked(CallContext& ctx, const RenderState* s, const Value& rel) {
  if (s->mode != RenderMode::kCompile || s->node == nullptr || s->node->type != NodeType::kModel) return rel;
  const Value flags = ctx.Lookup("flags");
  if (!flags.is_dict()) return rel;
  const Value* empty = flags.as_dict().Find("EMPTY");
  return empty != nullptr && empty->Truthy() ? EmptyRelation(rel) : rel;
}

// ref(name) or ref(package, name). Parse mode records the call and answers a placeholder
// relation; compile mode answers the node's relation (a unit test's input, or an ephemeral
// model's CTE, instead when so).
Result<Value> RefFunction(CallContext& ctx, const Args& args) {
  STRATA_ASSIGN_OR_RETURN(RenderState * s, StateOfImpl(ctx));
  std::string package, name;
  if (args.positional.size() >= 2) {
    package = args.positional[0].Str();
    name = args.positional[1].Str();
  } else if (args.positional.size() == 1) {
    name = args.positional[0].Str();
  } else {
    return CallContext::Error("ref() takes a model name (and optionally a package name first)");
  }
  if (s->mode == RenderMode::kParse) {
    s->refs.push_back({package, name, ctx.where()});
    return MakeRelation("", s->node ? s->node->schema : "", name);
  }
  const Node* target = s->manifest->FindRefable(name, package, s->node != nullptr ? s->node->package : "");
  if (target != nullptr && s->overrides != nullptr) {
    auto it = s->overrides->relations.find(target->unique_id);
    if (it != s->overrides->relations.end()) return MakeRelation("", "", it->second, "cte");
  }
  if (target == nullptr) {
    std::string hint = Closest(name, s->manifest->RefableNames());
    return CallContext::Error("ref('" + name + "'): no model, seed or snapshot named '" + name + "'" +
                              (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
  if (target->type == NodeType::kModel && target->materialized() == "ephemeral") {
    s->ephemerals.push_back(target->unique_id);
    return MakeRelation("", "", "__dbt__cte__" + target->name, "cte");
  }
  Value rel = MakeRelation(target->database, target->schema, target->alias.empty() ? target->name : target->alias);
  return EmptyIfAsked(ctx, s, rel);
}

// source(source_name, table_name), recorded in parse mode and resolved in compile mode as ref().
Result<Value> SourceFunction(CallContext& ctx, const Args& args) {
  STRATA_ASSIGN_OR_RETURN(RenderState * s, StateOfImpl(ctx));
  STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("source", {"source_name", "table_name"}, 2));
  std::string src = a[0].Str(), table = a[1].Str();
  if (s->mode == RenderMode::kParse) {
    s->sources.push_back({src, table, ctx.where()});
    return MakeRelation("", src, table);
  }
  const Node* n = s->manifest->FindSource(src, table);
  if (n != nullptr && s->overrides != nullptr) {
    auto it = s->overrides->relations.find(n->unique_id);
    if (it != s->overrides->relations.end()) return MakeRelation("", "", it->second, "cte");
  }
  if (n == nullptr) {
    std::string hint = Closest(src + "." + table, s->manifest->SourceNames());
    return CallContext::Error("source('" + src + "', '" + table + "') is not defined in any .yml file" +
                              (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
  return EmptyIfAsked(ctx, s, MakeRelation(n->database, n->schema, n->alias.empty() ? n->name : n->alias));
}

// The functions that only work while a node renders: is_incremental(), ref() and source().
void InstallRenderFunctions(jinja::Environment* env) {
  env->AddFunction("is_incremental", [](CallContext& ctx, const Args&) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(RenderState * s, StateOfImpl(ctx));
    return Value(s->mode == RenderMode::kCompile && s->is_incremental);
  });
  env->AddFunction("ref", RefFunction);
  env->AddFunction("source", SourceFunction);
}

}  // namespace

void InstallDbtContext(jinja::Environment* env, const ContextSettings& settings) {
  InstallInvocationGlobals(env, settings);
  InstallDateTimeGlobals(env, settings);
  InstallVar(env, settings);
  InstallEnvVar(env, settings);
  InstallLoggingAndExceptions(env);
  InstallDoc(env, settings);
  InstallRenderFunctions(env);
  InstallAdapterContext(env, settings);
  InstallContextModules(env);
}

}  // namespace strata::transform
