#include "transform/jinja/environment.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace strata::jinja {
namespace {

std::string RenderOrDie(const Environment& env, const std::string& text, const Context& vars = Context()) {
  auto t = env.Parse(text, "t.sql");
  EXPECT_TRUE(t.ok()) << t.status().message();
  if (!t.ok()) return "";
  auto r = env.Render(**t, vars);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : "";
}

std::string ErrorOf(const Environment& env, const std::string& text, const Context& vars = Context()) {
  auto t = env.Parse(text, "t.sql");
  if (!t.ok()) return t.status().message();
  auto r = env.Render(**t, vars);
  EXPECT_FALSE(r.ok()) << "rendered: " << *r;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.status().message();
}

TEST(JinjaEnvironment, ParseDefinitionsReturnsEveryKindOfBlock) {
  Environment env;
  auto defs = env.ParseDefinitions(
      "{% macro cents(col, scale=2) %}({{ col }} / 100){% endmacro %}\n"
      "text between blocks is ignored\n"
      "{% test not_negative(model, column_name) %}select 1{% endtest %}\n"
      "{% snapshot orders_snapshot %}\n{{ config(unique_key='id') }}select * from {{ src }}\n{% endsnapshot %}\n"
      "{% docs orders %}\nThe **orders** table. {{ not rendered }} {% if %}\n{% enddocs %}\n",
      "macros/all.sql");
  ASSERT_TRUE(defs.ok()) << defs.status().message();
  ASSERT_EQ(defs->size(), 4u);
  const Definition& macro = (*defs)[0];
  EXPECT_EQ(macro.kind, Definition::Kind::kMacro);
  EXPECT_EQ(macro.name, "cents");
  EXPECT_EQ(macro.file, "macros/all.sql");
  EXPECT_EQ(macro.line, 1);
  ASSERT_TRUE(macro.macro.is_callable());
  EXPECT_EQ(macro.macro.as_callable().params(), (std::vector<std::string>{"col", "scale"}));
  EXPECT_EQ(macro.macro.as_callable().where(), "macros/all.sql:1:10");

  const Definition& test = (*defs)[1];
  EXPECT_EQ(test.kind, Definition::Kind::kTest);
  EXPECT_EQ(test.name, "test_not_negative");
  EXPECT_EQ(test.line, 3);

  const Definition& snapshot = (*defs)[2];
  EXPECT_EQ(snapshot.kind, Definition::Kind::kSnapshot);
  EXPECT_EQ(snapshot.name, "orders_snapshot");
  ASSERT_NE(snapshot.body, nullptr);
  Context vars;
  vars.Set("src", Value("raw.orders"));
  std::string captured;
  vars.Set("config", Value::Function("config", [&captured](CallContext&, const Args& args) -> Result<Value> {
             captured = args.Kwarg("unique_key")->Str();
             return Value("");
           }));
  auto body = env.Render(*snapshot.body, vars);
  ASSERT_TRUE(body.ok()) << body.status().message();
  EXPECT_EQ(*body, "\nselect * from raw.orders\n");
  EXPECT_EQ(captured, "id");

  const Definition& docs = (*defs)[3];
  EXPECT_EQ(docs.kind, Definition::Kind::kDocs);
  EXPECT_EQ(docs.name, "orders");
  EXPECT_EQ(docs.text, "\nThe **orders** table. {{ not rendered }} {% if %}\n");
}

TEST(JinjaEnvironment, CallingAMacroFromTheHost) {
  Environment env;
  auto defs = env.ParseDefinitions(
      "{% macro columns() %}{{ return(['id', 'amount']) }}{% endmacro %}"
      "{% macro greet(name) %}hello {{ name }}{% endmacro %}",
      "macros/m.sql");
  ASSERT_TRUE(defs.ok()) << defs.status().message();
  Context vars;
  auto cols = env.Call((*defs)[0].macro, {}, vars);
  ASSERT_TRUE(cols.ok()) << cols.status().message();
  ASSERT_TRUE(cols->is_list());
  EXPECT_EQ(cols->Repr(), "['id', 'amount']");
  auto hello = env.Call((*defs)[1].macro, Args({Value("ann")}), vars);
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(hello->Str(), "hello ann");
  EXPECT_TRUE(hello->is_string());
  auto bad = env.Call((*defs)[1].macro, Args({Value(1), Value(2)}), vars);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("macro 'greet' takes not more than 1 argument(s)"), std::string::npos)
      << bad.status().message();
}

TEST(JinjaEnvironment, MacrosSeeGlobalsAndVariablesAtCallTime) {
  Environment env;
  auto defs =
      env.ParseDefinitions("{% macro src() %}{{ ref('orders') }} in {{ target }}{% endmacro %}", "macros/a.sql");
  ASSERT_TRUE(defs.ok()) << defs.status().message();
  env.AddMacros(*defs);
  // `ref` is registered after the macro was parsed, and `target` differs per render.
  env.AddFunction("ref", [](CallContext&, const Args& args) -> Result<Value> {
    return Value("analytics." + args.positional.at(0).Str());
  });
  Context dev, prod;
  dev.Set("target", Value("dev"));
  prod.Set("target", Value("prod"));
  EXPECT_EQ(RenderOrDie(env, "{{ src() }}", dev), "analytics.orders in dev");
  EXPECT_EQ(RenderOrDie(env, "{{ src() }}", prod), "analytics.orders in prod");
}

TEST(JinjaEnvironment, LazyVariablesAreBuiltOnFirstUseOnly) {
  Environment env;
  auto defs = env.ParseDefinitions("{% macro name() %}{{ model.name }}{% endmacro %}", "macros/m.sql");
  ASSERT_TRUE(defs.ok());
  env.AddMacros(*defs);
  int built = 0;
  auto make = [&built] {
    ++built;
    return Value::MakeDict({{"name", Value("orders")}});
  };
  Context unused;
  unused.SetLazy("model", make);
  EXPECT_EQ(RenderOrDie(env, "select 1", unused), "select 1");
  EXPECT_EQ(built, 0);
  Context used;
  used.SetLazy("model", make);
  EXPECT_EQ(RenderOrDie(env, "{{ model.name }} {{ name() }} {{ model['name'] }}", used), "orders orders orders");
  EXPECT_EQ(built, 1);
}

TEST(JinjaEnvironment, MacroNamespaceForPackages) {
  Environment env;
  auto defs = env.ParseDefinitions("{% macro surrogate_key(cols) %}md5({{ cols|join(\" || '-' || \") }}){% endmacro %}",
                                   "dbt_utils/macros/sk.sql");
  ASSERT_TRUE(defs.ok());
  env.AddGlobal("dbt_utils", Environment::MacroNamespace(*defs));
  EXPECT_EQ(RenderOrDie(env, "{{ dbt_utils.surrogate_key(['a', 'b']) }}"), "md5(a || '-' || b)");
  // Not registered as a bare global.
  EXPECT_NE(ErrorOf(env, "{{ surrogate_key(['a']) }}").find("'surrogate_key' is undefined"), std::string::npos);
}

TEST(JinjaEnvironment, NativeFunctionsReceivePositionalAndKeywordArguments) {
  Environment env;
  env.AddFunction("describe", [](CallContext&, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("describe", {"name", "kind", "tags"}, 1));
    std::string out = a[0].Str() + "/" + (a[1].is_undefined() ? "view" : a[1].Str());
    if (!a[2].is_undefined()) out += "/" + std::to_string(a[2].as_list().items.size());
    return Value(out);
  });
  EXPECT_EQ(
      RenderOrDie(env, "{{ describe('a') }} {{ describe('b', kind='table') }} {{ describe(name='c', tags=[1]) }}"),
      "a/view b/table c/view/1");
  EXPECT_NE(ErrorOf(env, "{{ describe(knd='x', name='a') }}")
                .find("t.sql:1:4: describe() got an unexpected keyword argument 'knd' (did you mean 'kind'?)"),
            std::string::npos);
  EXPECT_NE(ErrorOf(env, "{{ describe() }}").find("describe() missing required argument 'name'"), std::string::npos);
  EXPECT_NE(ErrorOf(env, "{{ describe('a', name='b') }}").find("got multiple values for argument 'name'"),
            std::string::npos);
}

TEST(JinjaEnvironment, HostObjectsWithAttributesAndCalls) {
  struct Adapter : Object {
    std::string TypeName() const override { return "Adapter"; }
    std::vector<std::string> AttrNames() const override { return {"dispatch", "type"}; }
    Value GetAttr(std::string_view name) const override {
      if (name == "type") return Value("duckdb");
      if (name == "dispatch") {
        return Value::Function("dispatch", [](CallContext& ctx, const Args& args) -> Result<Value> {
          std::string name = args.positional.at(0).Str();
          Value impl = ctx.Lookup("duckdb__" + name);
          if (impl.is_undefined()) impl = ctx.Lookup("default__" + name);
          if (impl.is_undefined()) return CallContext::Error("no implementation of '" + name + "'");
          return impl;
        });
      }
      return Value();
    }
  };
  Environment env;
  auto defs = env.ParseDefinitions(
      "{% macro default__now() %}now(){% endmacro %}{% macro duckdb__now() %}current_timestamp{% endmacro %}"
      "{% macro default__uuid() %}uuid(){% endmacro %}",
      "macros/d.sql");
  ASSERT_TRUE(defs.ok());
  env.AddMacros(*defs);
  env.AddGlobal("adapter", Value::FromObject(std::make_shared<Adapter>()));
  EXPECT_EQ(RenderOrDie(env, "{{ adapter.dispatch('now')() }} {{ adapter.dispatch('uuid')() }} {{ adapter.type }}"),
            "current_timestamp uuid() duckdb");
  std::string err = ErrorOf(env, "{{ adapter.dispatch('nope')() }}");
  EXPECT_NE(err.find("t.sql:1:12: no implementation of 'nope'"), std::string::npos) << err;
  err = ErrorOf(env, "{{ adapter.typ.x }}");
  EXPECT_NE(err.find("'Adapter' object has no attribute 'typ' (did you mean 'type'?)"), std::string::npos) << err;
}

TEST(JinjaEnvironment, HostCanReplaceRaiseCompilerError) {
  Environment env;
  Value exceptions = Value::MakeDict();
  exceptions.as_dict().Set(
      "raise_compiler_error",
      Value::Function("raise_compiler_error", [](CallContext& ctx, const Args& args) -> Result<Value> {
        return CallContext::Error("Compilation Error in " + ctx.template_name() + ": " + args.positional.at(0).Str());
      }));
  env.AddGlobal("exceptions", exceptions);
  std::string err = ErrorOf(env, "\n  {{ exceptions.raise_compiler_error('bad config') }}");
  EXPECT_EQ(err.substr(0, err.find('\n')), "t.sql:2:17: Compilation Error in t.sql: bad config");
}

TEST(JinjaEnvironment, ErrorMessageFormat) {
  Environment env;
  auto defs = env.ParseDefinitions("{% macro m(x) %}\n  {{ x.y.z }}\n{% endmacro %}", "macros/util.sql");
  ASSERT_TRUE(defs.ok());
  env.AddMacros(*defs);
  std::string err = ErrorOf(env, "select\n  {{ m({}) }}");
  EXPECT_EQ(err,
            "macros/util.sql:2:8: 'dict object' has no attribute 'y'\n"
            "    2 |   {{ x.y.z }}\n"
            "      |        ^\n"
            "  in macro 'm' (macros/util.sql:1:10)\n"
            "  called from t.sql:2:6");
}

TEST(JinjaEnvironment, StrictUndefinedOption) {
  EnvironmentOptions options;
  options.strict_undefined = true;
  Environment strict(options);
  EXPECT_NE(ErrorOf(strict, "{{ nope }}").find("'nope' is undefined"), std::string::npos);
  EXPECT_EQ(RenderOrDie(strict, "{{ nope is defined }} {{ nope|default('d') }}"), "False d");
  Environment lenient;
  EXPECT_EQ(RenderOrDie(lenient, "[{{ nope }}]"), "[]");
}

TEST(JinjaEnvironment, DeepNestingIsAnErrorNotACrash) {
  Environment env;
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  auto t = env.Parse(deep, "deep.sql");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("nested too deeply"), std::string::npos);
  EnvironmentOptions shallow;
  shallow.max_call_depth = 10;
  Environment limited(shallow);
  std::string err = ErrorOf(limited, "{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}");
  EXPECT_NE(err.find("maximum recursion depth (10) exceeded calling macro 'r'"), std::string::npos) << err;
}

TEST(JinjaEnvironment, TemplateKeepsNormalizedSourceAndName) {
  Environment env;
  auto t = env.Parse("a\r\nb\n", "models/x.sql");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->file_name(), "models/x.sql");
  EXPECT_EQ((*t)->source(), "a\nb");
}

TEST(JinjaEnvironment, RendersOneTemplateFromManyThreads) {
  Environment env;
  auto defs = env.ParseDefinitions(
      "{% macro cols(n) %}{% set out = [] %}{% for i in range(n) %}{% do out.append('c' ~ i) %}{% endfor %}"
      "{{ return(out) }}{% endmacro %}",
      "macros/cols.sql");
  ASSERT_TRUE(defs.ok());
  env.AddMacros(*defs);
  env.AddFunction("ref", [](CallContext&, const Args& args) -> Result<Value> {
    return Value("db." + args.positional.at(0).Str());
  });
  auto t = env.Parse(
      "{% set ns = namespace(total=0) %}{% for c in cols(n) %}{% set ns.total = ns.total + loop.index %}"
      "{{ c }}{{ ',' if not loop.last }}{% endfor %} from {{ ref(name) }} -- {{ ns.total }}",
      "models/m.sql");
  ASSERT_TRUE(t.ok()) << t.status().message();
  std::atomic<int> failures{0};
  auto work = [&](int id) {
    for (int i = 0; i < 300; ++i) {
      int n = (id + i) % 7 + 1;
      Context vars;
      vars.Set("n", Value(n));
      vars.Set("name", Value("t" + std::to_string(id)));
      auto r = env.Render(**t, vars);
      std::string want;
      for (int k = 0; k < n; ++k) want += "c" + std::to_string(k) + (k + 1 < n ? "," : "");
      want += " from db.t" + std::to_string(id) + " -- " + std::to_string(n * (n + 1) / 2);
      if (!r.ok() || *r != want) ++failures;
    }
  };
  std::vector<std::thread> threads;
  for (int id = 0; id < 4; ++id) threads.emplace_back(work, id);
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(JinjaEnvironment, LargeLoopsRenderIntoOneBuffer) {
  Environment env;
  Context vars;
  std::vector<Value> rows;
  for (int i = 0; i < 20000; ++i) rows.emplace_back(i);
  vars.Set("rows", Value::MakeList(std::move(rows)));
  std::string out = RenderOrDie(env, "{% for r in rows %}{{ r }},{% endfor %}", vars);
  EXPECT_EQ(out.size(), 108890u);
  EXPECT_EQ(out.substr(0, 8), "0,1,2,3,");
}

}  // namespace
}  // namespace strata::jinja
