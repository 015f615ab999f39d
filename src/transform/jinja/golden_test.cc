// Runs the golden cases in testdata/*.test. Format (see testdata/README.md):
//
//   === case name
//   --- file macros/util.sql        (optional, repeatable: definitions made global, and
//   {% macro m() %}...{% endmacro %}  also available as project.<macro>)
//   --- template models/x.sql       (file name optional, default model.sql)
//   {{ m() }}
//   --- context                     (optional JSON object: the render's variables)
//   {"x": 1}
//   --- options                     (optional: strict_undefined)
//   --- output                      (exact expected output)
//   ...
//   --- error                       (or: each non-empty line must occur in the error message)
//   ...
//
// Section text is its lines joined with "\n", without trailing empty lines. A section marked
// "(escaped)" is joined without newlines and may use \n, \t, \s (space) and \\.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "testing.h"
#include "transform/jinja/environment.h"

namespace strata::jinja {
namespace {

struct GoldenCase {
  std::string source;  // "testdata/x.test:12"
  std::string name;
  std::string test_name;  // gtest-safe
  std::string template_name = "model.sql";
  std::string tmpl;
  std::vector<std::pair<std::string, std::string>> files;
  std::string context;
  std::string options;
  std::optional<std::string> output;
  std::optional<std::string> error;
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.source << " [" << c.name << "]"; }

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out.push_back(s[i]);
      continue;
    }
    char c = s[++i];
    out.push_back(c == 'n' ? '\n' : c == 't' ? '\t' : c == 's' ? ' ' : c == 'r' ? '\r' : c);
  }
  return out;
}

std::string TestDataDir() { return ::strata::testing::SourceDir() + "/src/transform/jinja/testdata"; }

std::vector<GoldenCase> LoadCases() {
  std::vector<GoldenCase> cases;
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(TestDataDir(), ec)) {
    if (entry.path().extension() == ".test") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> used_names;
  for (const std::string& path : paths) {
    std::ifstream in(path);
    std::string stem = std::filesystem::path(path).stem().string();
    std::string line;
    int lineno = 0;
    GoldenCase* c = nullptr;
    std::string section, arg;
    bool escaped = false;
    std::vector<std::string> lines;
    auto flush = [&]() {
      if (c == nullptr || section.empty()) return;
      while (!lines.empty() && lines.back().empty()) lines.pop_back();
      std::string text;
      for (size_t i = 0; i < lines.size(); ++i) text += (i > 0 && !escaped ? "\n" : "") + lines[i];
      if (escaped) text = Unescape(text);
      if (section == "template") {
        c->tmpl = text;
        if (!arg.empty()) c->template_name = arg;
      } else if (section == "file") {
        c->files.emplace_back(arg, text);
      } else if (section == "context") {
        c->context = text;
      } else if (section == "options") {
        c->options = text + " " + arg;
      } else if (section == "output") {
        c->output = text;
      } else if (section == "error") {
        c->error = text;
      } else {
        ADD_FAILURE() << path << ":" << lineno << ": unknown section '" << section << "'";
      }
      lines.clear();
      section.clear();
    };
    while (std::getline(in, line)) {
      ++lineno;
      if (line.rfind("=== ", 0) == 0) {
        flush();
        cases.emplace_back();
        c = &cases.back();
        c->name = line.substr(4);
        c->source = "testdata/" + stem + ".test:" + std::to_string(lineno);
        std::string safe = stem + "_";
        for (char ch : c->name) safe.push_back(std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
        std::string unique = safe;
        for (int k = 2; std::find(used_names.begin(), used_names.end(), unique) != used_names.end(); ++k) {
          unique = safe + "_" + std::to_string(k);
        }
        used_names.push_back(unique);
        c->test_name = unique;
      } else if (line.rfind("--- ", 0) == 0 && c != nullptr) {
        flush();
        std::istringstream words(line.substr(4));
        words >> section;
        arg.clear();
        escaped = false;
        std::string w;
        while (words >> w) {
          if (w == "(escaped)") {
            escaped = true;
          } else {
            arg += (arg.empty() ? "" : " ") + w;
          }
        }
      } else if (c != nullptr && !section.empty()) {
        lines.push_back(line);
      }
    }
    flush();
  }
  return cases;
}

// ---- host doubles used by the cases -----------------------------------------------------------

class Relation : public Object {
 public:
  explicit Relation(std::string name) : name_(std::move(name)) {}
  std::string TypeName() const override { return "Relation"; }
  std::string Str() const override { return "\"analytics\".\"" + name_ + "\""; }
  std::vector<std::string> AttrNames() const override { return {"schema", "identifier", "name"}; }
  Value GetAttr(std::string_view attr) const override {
    if (attr == "schema") return Value("analytics");
    if (attr == "identifier" || attr == "name") return Value(name_);
    return Value();
  }

 private:
  std::string name_;
};

// dbt's config: callable (records settings) and config.get(key, default).
class Config : public Object {
 public:
  std::string TypeName() const override { return "Config"; }
  bool IsCallable() const override { return true; }
  Result<Value> Call(CallContext&, const Args& args) const override {
    for (const auto& [k, v] : args.kwargs) settings_.as_dict().Set(k, v);
    return Value("");
  }
  std::vector<std::string> AttrNames() const override { return {"get"}; }
  Value GetAttr(std::string_view name) const override {
    if (name != "get") return Value();
    Value settings = settings_;
    return Value::Function("get", [settings](CallContext&, const Args& args) -> Result<Value> {
      STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("config.get", {"key", "default"}, 1));
      const Value* v = settings.as_dict().Find(a[0].Str());
      return v != nullptr ? *v : (a[1].is_undefined() ? Value::None() : a[1]);
    });
  }

 private:
  Value settings_ = Value::MakeDict();
};

void AddHelpers(Environment* env) {
  env->AddFunction("echo", [](CallContext&, const Args& args) -> Result<Value> {
    std::string out = "echo(";
    bool first = true;
    for (const Value& v : args.positional) {
      out += (first ? "" : ", ") + v.Repr();
      first = false;
    }
    for (const auto& [k, v] : args.kwargs) {
      out += (first ? "" : ", ") + k + "=" + v.Repr();
      first = false;
    }
    return Value(out + ")");
  });
  env->AddFunction("ref", [](CallContext&, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("ref", {"name"}, 1));
    if (!a[0].is_string()) return CallContext::Error("ref() expects a model name, got " + a[0].TypeName());
    return Value::FromObject(std::make_shared<Relation>(a[0].as_string()));
  });
  env->AddFunction("fail", [](CallContext&, const Args& args) -> Result<Value> {
    return CallContext::Error(args.positional.empty() ? "failed" : args.positional[0].Str());
  });
  env->AddFunction("call_it", [](CallContext& ctx, const Args& args) -> Result<Value> {
    if (args.positional.empty()) return CallContext::Error("call_it(fn, ...)");
    Args rest(std::vector<Value>(args.positional.begin() + 1, args.positional.end()), args.kwargs);
    return ctx.Call(args.positional[0], rest);
  });
  env->AddFunction("call_caller", [](CallContext& ctx, const Args& args) -> Result<Value> {
    if (ctx.caller().is_undefined()) return CallContext::Error("call_caller() must be used in {% call %}");
    STRATA_ASSIGN_OR_RETURN(Value body, ctx.Call(ctx.caller(), args));
    return Value("[" + body.Str() + "]");
  });
  env->AddFunction("where", [](CallContext& ctx, const Args&) -> Result<Value> { return Value(ctx.where()); });
  env->AddFunction("template_name",
                   [](CallContext& ctx, const Args&) -> Result<Value> { return Value(ctx.template_name()); });
  env->AddFunction("lookup", [](CallContext& ctx, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("lookup", {"name"}, 1));
    return ctx.Lookup(a[0].Str());
  });
}

// ---- the test ---------------------------------------------------------------------------------

class JinjaGolden : public ::testing::TestWithParam<GoldenCase> {};

Result<std::string> RunCase(const GoldenCase& c) {
  EnvironmentOptions options;
  options.strict_undefined = c.options.find("strict_undefined") != std::string::npos;
  options.keep_trailing_newline = c.options.find("keep_trailing_newline") != std::string::npos;
  Environment env(options);
  AddHelpers(&env);
  std::vector<Definition> all;
  for (const auto& [name, text] : c.files) {
    STRATA_ASSIGN_OR_RETURN(std::vector<Definition> defs, env.ParseDefinitions(text, name));
    env.AddMacros(defs);
    all.insert(all.end(), defs.begin(), defs.end());
  }
  env.AddGlobal("project", Environment::MacroNamespace(all));
  Context vars;
  vars.Set("this", Value::FromObject(std::make_shared<Relation>("current_model")));
  vars.Set("config", Value::FromObject(std::make_shared<Config>()));
  if (!c.context.empty()) {
    STRATA_ASSIGN_OR_RETURN(Value ctx, Value::FromJson(c.context));
    if (!ctx.is_dict()) return Status::InvalidArgument("context must be a JSON object");
    for (const auto& [k, v] : ctx.as_dict().entries()) vars.Set(k.as_string(), v);
  }
  STRATA_ASSIGN_OR_RETURN(std::shared_ptr<Template> tmpl, env.Parse(c.tmpl, c.template_name));
  return env.Render(*tmpl, vars);
}

TEST_P(JinjaGolden, Case) {
  const GoldenCase& c = GetParam();
  SCOPED_TRACE(c.source + ": " + c.name);
  ASSERT_TRUE(c.output.has_value() != c.error.has_value()) << "a case needs exactly one of output and error";
  Result<std::string> r = RunCase(c);
  if (c.output) {
    ASSERT_TRUE(r.ok()) << c.source << " [" << c.name << "] failed:\n" << r.status().message();
    EXPECT_EQ(*r, *c.output) << c.source << " [" << c.name << "]";
    return;
  }
  ASSERT_FALSE(r.ok()) << c.source << " [" << c.name << "] rendered instead of failing:\n" << *r;
  std::istringstream lines(*c.error);
  std::string want;
  while (std::getline(lines, want)) {
    if (want.find_first_not_of(' ') == std::string::npos) continue;
    EXPECT_NE(r.status().message().find(want), std::string::npos) << c.source << " [" << c.name << "] error lacks:\n"
                                                                  << want << "\nactual:\n"
                                                                  << r.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, JinjaGolden, ::testing::ValuesIn(LoadCases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.test_name; });

TEST(JinjaGoldenFiles, HaveManyCases) {
  // Guards against a format change that silently drops cases.
  EXPECT_GE(LoadCases().size(), 150u);
}

}  // namespace
}  // namespace strata::jinja
