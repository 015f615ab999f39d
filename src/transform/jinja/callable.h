// Callable, Args and Object: how C++ code plugs functions and host types into templates.
//
//   env.AddFunction("ref", [](CallContext& ctx, const Args& args) -> Result<Value> {
//     STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("ref", {"name", "version"}, 1));
//     if (!a[0].is_string()) return ctx.Error("ref() expects a model name");
//     return Value::FromObject(MakeRelation(a[0].as_string()));
//   });
//
// A failed Status returned by a native function becomes a template error at the call site,
// with file:line:col, the source line and the macro call stack.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "transform/jinja/value.h"

namespace strata::jinja {

namespace internal {
struct MacroImpl;
}

// The arguments of a call: positional values then keyword arguments in call order.
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> kwargs;

  Args() = default;
  Args(std::vector<Value> positional) : positional(std::move(positional)) {}  // NOLINT: implicit by design
  Args(std::vector<Value> positional, std::vector<std::pair<std::string, Value>> kwargs)
      : positional(std::move(positional)), kwargs(std::move(kwargs)) {}

  // The keyword argument `name`, or nullptr.
  const Value* Kwarg(std::string_view name) const;
  // Positional argument `index`, else keyword `name`, else nullptr.
  const Value* Find(size_t index, std::string_view name) const;

  // Binds the arguments to parameters like a Python signature `fn(p0, p1, ...)` whose first
  // `required` parameters have no default. Returns one Value per parameter (undefined when not
  // given). Errors: too many arguments, unknown or repeated keyword, missing required one;
  // messages name `fn`.
  Result<std::vector<Value>> Bind(std::string_view fn, std::initializer_list<std::string_view> params,
                                  size_t required = 0) const;
};

// A function value: native (C++) or a template macro. Immutable; shareable across threads.
class Callable {
 public:
  Callable(std::string name, NativeFn fn) : name_(std::move(name)), native_(std::move(fn)) {}
  Callable(std::string name, std::shared_ptr<const internal::MacroImpl> macro)
      : name_(std::move(name)), macro_(std::move(macro)) {}

  const std::string& name() const { return name_; }
  bool is_macro() const { return macro_ != nullptr; }
  const NativeFn& native() const { return native_; }
  const internal::MacroImpl* macro() const { return macro_.get(); }
  // Macros only: parameter names, and where the macro is defined ("file:line:col").
  std::vector<std::string> params() const;
  std::string where() const;

 private:
  std::string name_;
  NativeFn native_;
  std::shared_ptr<const internal::MacroImpl> macro_;
};

// A host-defined value with attributes, a string form and optionally a call operator, e.g.
// dbt's Relation (`{{ this }}` renders `"db"."schema"."table"`, `{{ this.schema }}` reads an
// attribute) or `config` (callable, and `config.get(...)`). Methods are const and may be called
// from several threads when the object is shared; keep mutable state behind your own pointers.
class Object {
 public:
  virtual ~Object() = default;
  // Used in messages: "'<type>' object has no attribute 'x'".
  virtual std::string TypeName() const { return "object"; }
  // The attribute, or an undefined Value when absent (item access obj['x'] uses this too).
  virtual Value GetAttr(std::string_view name) const;
  // Attribute names, for "did you mean" suggestions.
  virtual std::vector<std::string> AttrNames() const { return {}; }
  // `{{ obj }}` and `~`.
  virtual std::string Str() const { return "<" + TypeName() + " object>"; }
  virtual bool IsCallable() const { return false; }
  virtual Result<Value> Call(CallContext& ctx, const Args& args) const;
  // `obj[key]`: by default a string key reads the attribute; other keys are undefined.
  virtual Value GetItem(const Value& key) const;
  // Sequence-like objects (dbt's agate tables and rows): `for x in obj`, `obj | length`,
  // `x in obj`. Not iterable by default.
  virtual bool IsIterable() const { return false; }
  virtual std::vector<Value> Items() const { return {}; }
  // `obj is mapping` (dbt's relations are dict-like).
  virtual bool IsMapping() const { return false; }
};

}  // namespace strata::jinja
