// Environment: the Jinja2-subset template engine used to compile dbt-style models and macros.
//
//   Environment env;
//   env.AddFunction("ref", ...);                       // host functions
//   auto defs = env.ParseDefinitions(text, "macros/util.sql");
//   env.AddMacros(*defs);                              // every macro callable by name
//   env.AddGlobal("my_project", Environment::MacroNamespace(*defs));
//   auto tmpl = env.Parse(model_sql, "models/orders.sql");
//   Context vars;  vars.Set("this", ...);
//   Result<std::string> sql = env.Render(**tmpl, vars);
//
// Errors (syntax and runtime) are Status::InvalidArgument with a message that starts with
// "file:line:col: <what>", followed by the source line with a caret under the column and, for
// errors inside macros, the call stack innermost first.
//
// Thread-safety: the Add* methods must not run concurrently with anything else. Once set up,
// the const methods (Parse, ParseDefinitions, Render, Call) may run concurrently from any
// number of threads, each render with its own Context.
//
// Built in: the filters and tests of README.md, the globals range, dict, list, namespace, zip,
// return (dbt: ends the current macro, whose call then evaluates to the value) and
// exceptions.raise_compiler_error(msg). Hosts may replace any of them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "transform/jinja/call_context.h"
#include "transform/jinja/callable.h"
#include "transform/jinja/context.h"
#include "transform/jinja/template.h"
#include "transform/jinja/value.h"

namespace strata::jinja {

// `value | name(args)`; failures become errors at the filter.
using FilterFn = std::function<Result<Value>(CallContext& ctx, const Value& input, const Args& args)>;
// `value is name(args)`.
using TestFn = std::function<Result<bool>(CallContext& ctx, const Value& input, const Args& args)>;

struct EnvironmentOptions {
  // `{{ missing }}` is an error instead of rendering "" (Jinja's StrictUndefined, for output),
  // except in macro files parsed with a package (ParseDefinitions).
  bool strict_undefined = false;
  // Keep the source's final newline (Jinja's keep_trailing_newline; dbt uses the default, false).
  bool keep_trailing_newline = false;
  // dbt's parse-time Undefined: an undefined value may be called, indexed and have attributes
  // read, each giving undefined again (a model calling a macro that only exists at run time
  // still parses). Errors come when compiling.
  bool chainable_undefined = false;
  // Nested macro calls deeper than this fail with "maximum recursion depth exceeded".
  int max_call_depth = 200;
};

// A top-level block of a file read by ParseDefinitions.
struct Definition {
  enum class Kind { kMacro, kTest, kSnapshot, kDocs };
  Kind kind = Kind::kMacro;
  // kMacro: the macro name; kTest: "test_<name>" (the macro name dbt uses); kSnapshot, kDocs:
  // the block name.
  std::string name;
  std::string file;
  int line = 0;
  int column = 0;
  Value macro;                     // kMacro, kTest: the callable
  std::shared_ptr<Template> body;  // kSnapshot: the block's body, renderable
  std::string text;                // kDocs: the raw body text (not rendered)
};

class Environment {
 public:
  Environment() : Environment(EnvironmentOptions()) {}
  explicit Environment(EnvironmentOptions options);

  const EnvironmentOptions& options() const { return options_; }
  // Changes the options; not while templates render on other threads.
  void set_strict_undefined(bool strict) { options_.strict_undefined = strict; }
  void set_chainable_undefined(bool chainable) { options_.chainable_undefined = chainable; }

  // Registers (or replaces) a global variable, function, filter or test.
  void AddGlobal(std::string name, Value value);
  void AddFunction(std::string name, NativeFn fn);
  void AddFilter(std::string name, FilterFn fn);
  void AddTest(std::string name, TestFn fn);
  // Registers each kMacro and kTest definition as a global under its name.
  void AddMacros(const std::vector<Definition>& defs);
  // A dict name -> macro of the kMacro and kTest definitions, to register as a package
  // namespace: env.AddGlobal("my_package", MacroNamespace(defs)) enables my_package.m().
  static Value MacroNamespace(const std::vector<Definition>& defs);

  // nullptr when absent.
  const Value* FindGlobal(std::string_view name) const;
  const FilterFn* FindFilter(std::string_view name) const;
  const TestFn* FindTest(std::string_view name) const;
  std::vector<std::string> GlobalNames() const;
  std::vector<std::string> FilterNames() const;
  std::vector<std::string> TestNames() const;

  // Parses a template. Filter and test names are checked here, so register custom filters and
  // tests before parsing. `file_name` is used in messages. With `package`, a name found nowhere
  // else is looked up in that package's macro namespace, as for ParseDefinitions (a package's
  // models call its macros by bare name).
  Result<std::shared_ptr<Template>> Parse(std::string source, std::string file_name, std::string package = {}) const;
  // Parses a file of definitions (dbt's macros/*.sql, tests, snapshots, docs) and returns its
  // top-level {% macro %}, {% test %}, {% snapshot %} and {% docs %} blocks in file order. Other
  // top-level content is ignored. Macros see the globals and variables of the render that calls
  // them (not of their definition), and the other macros of their own file. With `package`,
  // a name found nowhere else is then looked up in the dict global `package` (the package's
  // macro namespace), so a package's macros reach each other by bare name.
  Result<std::vector<Definition>> ParseDefinitions(std::string source, std::string file_name,
                                                   std::string package = {}) const;

  // Renders a template with `vars`; the Environment must outlive the call.
  Result<std::string> Render(const Template& tmpl, const Context& vars) const;
  // Calls a macro (or any callable) from C++, as if from a template rendered with `vars`.
  // A macro evaluates to its return() value, else to its rendered output (a string).
  Result<Value> Call(const Value& callable, const Args& args, const Context& vars) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  template <typename T>
  using Map = std::unordered_map<std::string, T, Hash, std::equal_to<>>;

  EnvironmentOptions options_;
  Map<Value> globals_;
  Map<FilterFn> filters_;
  Map<TestFn> tests_;
};

}  // namespace strata::jinja
