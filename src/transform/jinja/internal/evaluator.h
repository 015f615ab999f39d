// Evaluator: renders a template's syntax tree. One Evaluator per render (not thread-safe);
// the tree, the Environment and the Context are only read, so renders run in parallel.
// Statements and calls are in evaluator.cc, expressions in eval_expr.cc.
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "transform/jinja/call_context.h"
#include "transform/jinja/environment.h"
#include "transform/jinja/internal/ast.h"
#include "transform/jinja/internal/scope.h"
#include "transform/jinja/internal/source.h"

namespace strata::jinja::internal {

// Thrown by return(x) when not handled as a ReturnStmt; caught by the enclosing macro call.
struct ReturnSignal {
  Value value;
};

// The built-in `return` callable; the evaluator recognizes it by identity.
const std::shared_ptr<const Callable>& ReturnBuiltin();

class Evaluator {
 public:
  using FramePtr = std::shared_ptr<Frame>;

  Evaluator(const Environment& env, const Context& vars);

  // Both throw Error.
  std::string RenderTemplate(const Template& tmpl);
  Value CallFromHost(const Value& callable, const Args& args);

  const Environment& env() const { return env_; }
  const Context& vars() const { return vars_; }
  const Module& module() const { return *module_; }

  // A variable visible from `frame`: locals, Context, globals, the module's own macros.
  const Value* Find(std::string_view name, Frame* frame);
  Value CallValue(const Value& fn, const Args& args, uint32_t offset, const FramePtr& frame, const Value& caller);
  Value ApplyFilter(std::string_view name, const Value& input, const Args& args, uint32_t offset,
                    const FramePtr& frame);
  bool ApplyTest(std::string_view name, const Value& input, const Args& args, uint32_t offset, const FramePtr& frame);

  // Runs `f` for a CallContext method: a template error becomes a Status, and is remembered so
  // that a native returning that Status rethrows the original error (location, stack).
  template <typename F>
  auto Capture(F&& f, uint32_t offset) -> Result<decltype(f())> {
    try {
      return f();
    } catch (Error& e) {
      if (!e.located()) e.Locate(module_->source, offset);
      pending_ = std::current_exception();
      pending_message_ = e.Format();
      return Status::InvalidArgument(pending_message_);
    } catch (ReturnSignal&) {
      pending_ = std::current_exception();
      pending_message_ = "return() cannot end a macro from inside a native function";
      return Status::InvalidArgument(pending_message_);
    }
  }

 private:
  enum class Flow { kNormal, kBreak, kContinue, kReturn };

  // ---- statements (evaluator.cc) ----
  Flow Exec(const Body& body, const FramePtr& frame, std::string* out);
  Flow ExecStmt(const Stmt& stmt, const FramePtr& frame, std::string* out);
  Flow ExecFor(const ForStmt& s, const FramePtr& frame, std::string* out);
  Flow ExecReturn(const ReturnStmt& s, const FramePtr& frame, std::string* out);
  void Emit(const Expr& e, const FramePtr& frame, std::string* out);
  void Assign(const Target& target, Value value, const FramePtr& frame);
  Value DefineMacro(const MacroDef& def, const FramePtr& closure, bool is_caller);
  Value ApplyFilterChain(const std::vector<std::unique_ptr<FilterExpr>>& filters, Value v, const FramePtr& frame);

  // ---- calls (evaluator.cc) ----
  Value CallMacro(const Callable& c, const Args& args, uint32_t offset, const Value& caller);
  Value EvalCall(const CallExpr& e, const FramePtr& frame, const Value& caller);
  Args EvalArgs(const CallArgs& args, const FramePtr& frame);
  template <typename T>
  T Unwrap(Result<T> r, uint32_t offset);

  // ---- expressions (eval_expr.cc) ----
  Value Eval(const Expr& e, const FramePtr& frame);
  Value EvalImpl(const Expr& e, const FramePtr& frame);
  Value GetAttr(const Value& obj, const std::string& name);

  // Undefined output is an error (EnvironmentOptions::strict_undefined), except in a dbt
  // package's macros, written for dbt's lenient rendering (dbt_utils renders names that only
  // some branches set).
  bool Strict() const { return env_.options().strict_undefined && module_->package.empty(); }

  // ---- errors ----
  [[noreturn]] void FailAt(uint32_t offset, std::string message) const;
  [[noreturn]] void FailUndefinedAt(const Value& undefined, uint32_t offset, const FramePtr& frame);
  // Locates an unlocated error and adds "did you mean" for undefined names.
  void LocateError(Error* e, uint32_t offset, Frame* frame);
  std::vector<std::string> VisibleNames(Frame* frame) const;

  const Environment& env_;
  const Context& vars_;
  std::shared_ptr<const Module> module_;  // the template or macro file executing
  int depth_ = 0;                         // nested macro calls
  int macro_depth_ = 0;                   // nested macro calls that return() may end
  Value return_value_;
  std::exception_ptr pending_;
  std::string pending_message_;
  std::unordered_map<const MacroDef*, Value> siblings_;  // macro values made for Find()
};

}  // namespace strata::jinja::internal
