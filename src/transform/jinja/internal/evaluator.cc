// Statements, macro calls and native calls.
#include "transform/jinja/internal/evaluator.h"

#include <algorithm>

#include "transform/jinja/internal/methods.h"
#include "transform/jinja/internal/ops.h"
#include "transform/jinja/internal/util.h"

namespace strata::jinja::internal {
namespace {

// The loop variable of a for loop.
class LoopObject : public Object {
 public:
  struct Shared {
    std::vector<Value> items;
    Value last_changed;
    bool changed_called = false;
  };
  LoopObject(std::shared_ptr<Shared> shared, size_t index) : shared_(std::move(shared)), index_(index) {}

  std::string TypeName() const override { return "LoopContext"; }
  std::string Str() const override {
    return "<LoopContext " + std::to_string(index_ + 1) + "/" + std::to_string(shared_->items.size()) + ">";
  }
  std::vector<std::string> AttrNames() const override {
    return {"index", "index0", "revindex", "revindex0", "first", "last",   "length",
            "depth", "depth0", "previtem", "nextitem",  "cycle", "changed"};
  }
  Value GetAttr(std::string_view name) const override {
    const int64_t n = static_cast<int64_t>(shared_->items.size());
    const int64_t i = static_cast<int64_t>(index_);
    if (name == "index") return Value(i + 1);
    if (name == "index0") return Value(i);
    if (name == "revindex") return Value(n - i);
    if (name == "revindex0") return Value(n - i - 1);
    if (name == "first") return Value(i == 0);
    if (name == "last") return Value(i == n - 1);
    if (name == "length") return Value(n);
    if (name == "depth") return Value(1);
    if (name == "depth0") return Value(0);
    if (name == "previtem") {
      if (i == 0) return Value::Undefined("there is no previous item");
      return shared_->items[index_ - 1];
    }
    if (name == "nextitem") {
      if (i + 1 >= n) return Value::Undefined("there is no next item");
      return shared_->items[index_ + 1];
    }
    if (name == "cycle") {
      size_t index = index_;
      return Value::Function("cycle", [index](CallContext&, const Args& args) -> Result<Value> {
        if (args.positional.empty()) return Status::InvalidArgument("no items for cycling given");
        return args.positional[index % args.positional.size()];
      });
    }
    if (name == "changed") {
      auto shared = shared_;
      return Value::Function("changed", [shared](CallContext&, const Args& args) -> Result<Value> {
        Value v = Value::MakeList(args.positional);
        if (shared->changed_called && shared->last_changed.Equals(v)) return Value(false);
        shared->changed_called = true;
        shared->last_changed = v;
        return Value(true);
      });
    }
    return Value();
  }

 private:
  std::shared_ptr<Shared> shared_;
  size_t index_;
};

std::shared_ptr<const Module> HostModule() {
  static const auto* module = [] {
    auto m = std::make_shared<Module>();
    m->source = std::make_shared<Source>("<host call>", "");
    return new std::shared_ptr<const Module>(std::move(m));
  }();
  return *module;
}

}  // namespace

const std::shared_ptr<const Callable>& ReturnBuiltin() {
  static const auto* fn = new std::shared_ptr<const Callable>(
      std::make_shared<const Callable>("return", [](CallContext&, const Args&) -> Result<Value> {
        return Status::Internal("return() is handled by the evaluator");
      }));
  return *fn;
}

Evaluator::Evaluator(const Environment& env, const Context& vars) : env_(env), vars_(vars) {}

std::string Evaluator::RenderTemplate(const Template& tmpl) {
  module_ = tmpl.module_ptr();
  auto frame = std::make_shared<Frame>();
  std::string out;
  try {
    Exec(tmpl.body(), frame, &out);
  } catch (ReturnSignal&) {
    throw Error("return() called outside of a macro", module_->source, 0);
  }
  return out;
}

Value Evaluator::CallFromHost(const Value& callable, const Args& args) {
  module_ = HostModule();
  auto frame = std::make_shared<Frame>();
  return CallValue(callable, args, 0, frame, Value());
}

// ---- errors -----------------------------------------------------------------------------------

void Evaluator::FailAt(uint32_t offset, std::string message) const {
  throw Error(std::move(message), module_->source, offset);
}

void Evaluator::FailUndefinedAt(const Value& undefined, uint32_t offset, const FramePtr& frame) {
  try {
    FailUndefined(undefined);
  } catch (Error& e) {
    LocateError(&e, offset, frame.get());
    throw;
  }
}

void Evaluator::LocateError(Error* e, uint32_t offset, Frame* frame) {
  if (!e->undefined_name().empty()) {
    e->set_message(e->message() + DidYouMean(e->undefined_name(), VisibleNames(frame)));
    e->set_undefined_name("");
  }
  if (!e->located()) e->Locate(module_->source, offset);
}

std::vector<std::string> Evaluator::VisibleNames(Frame* frame) const {
  std::vector<std::string> names;
  for (Frame* f = frame; f != nullptr; f = f->parent.get()) {
    for (const auto& [k, v] : f->vars) names.push_back(k);
  }
  vars_.CollectNames(&names);
  for (auto& n : env_.GlobalNames()) names.push_back(std::move(n));
  for (const auto& [k, v] : module_->macros) names.push_back(k);
  return names;
}

// ---- lookup -----------------------------------------------------------------------------------

const Value* Evaluator::Find(std::string_view name, Frame* frame) {
  for (Frame* f = frame; f != nullptr; f = f->parent.get()) {
    if (Value* v = f->FindLocal(name)) return v;
  }
  if (const Value* v = vars_.Find(name)) return v;
  if (const Value* v = env_.FindGlobal(name)) return v;
  auto it = module_->macros.find(std::string(name));
  if (it == module_->macros.end()) {
    if (module_->package.empty()) return nullptr;
    const Value* ns = env_.FindGlobal(module_->package);
    return ns != nullptr && ns->is_dict() ? ns->as_dict().Find(name) : nullptr;
  }
  Value& cached = siblings_[it->second];
  if (cached.is_undefined()) {
    auto impl = std::make_shared<MacroImpl>();
    impl->module = module_;
    impl->def = it->second;
    cached = Value::FromCallable(std::make_shared<const Callable>(it->second->name, std::move(impl)));
  }
  return &cached;
}

// ---- statements -------------------------------------------------------------------------------

Evaluator::Flow Evaluator::Exec(const Body& body, const FramePtr& frame, std::string* out) {
  for (const auto& stmt : body.stmts) {
    Flow f = ExecStmt(*stmt, frame, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Evaluator::Flow Evaluator::ExecStmt(const Stmt& stmt, const FramePtr& frame, std::string* out) {
  try {
    switch (stmt.kind) {
      case StmtKind::kText:
        *out += static_cast<const TextStmt&>(stmt).text;
        return Flow::kNormal;
      case StmtKind::kEmit:
        Emit(*static_cast<const EmitStmt&>(stmt).expr, frame, out);
        return Flow::kNormal;
      case StmtKind::kIf: {
        const auto& s = static_cast<const IfStmt&>(stmt);
        for (const auto& [cond, body] : s.branches) {
          if (Eval(*cond, frame).Truthy()) return Exec(body, frame, out);
        }
        return Exec(s.else_body, frame, out);
      }
      case StmtKind::kFor:
        return ExecFor(static_cast<const ForStmt&>(stmt), frame, out);
      case StmtKind::kSet: {
        const auto& s = static_cast<const SetStmt&>(stmt);
        Assign(s.target, Eval(*s.value, frame), frame);
        return Flow::kNormal;
      }
      case StmtKind::kSetBlock: {
        const auto& s = static_cast<const SetBlockStmt&>(stmt);
        std::string buf;
        Flow f = Exec(s.body, frame, &buf);
        if (f != Flow::kNormal) return f;
        Assign(s.target, ApplyFilterChain(s.filters, Value(std::move(buf)), frame), frame);
        return Flow::kNormal;
      }
      case StmtKind::kMacro: {
        const MacroDef& def = static_cast<const MacroStmt&>(stmt).def;
        frame->Set(def.name, DefineMacro(def, frame, false));
        return Flow::kNormal;
      }
      case StmtKind::kCallBlock: {
        const auto& s = static_cast<const CallBlockStmt&>(stmt);
        Value result = EvalCall(*s.call, frame, DefineMacro(s.caller, frame, true));
        result.AppendStr(out);
        return Flow::kNormal;
      }
      case StmtKind::kDo:
        Eval(*static_cast<const DoStmt&>(stmt).expr, frame);
        return Flow::kNormal;
      case StmtKind::kFilterBlock: {
        const auto& s = static_cast<const FilterBlockStmt&>(stmt);
        std::string buf;
        Flow f = Exec(s.body, std::make_shared<Frame>(frame), &buf);
        if (f != Flow::kNormal) return f;
        ApplyFilterChain(s.filters, Value(std::move(buf)), frame).AppendStr(out);
        return Flow::kNormal;
      }
      case StmtKind::kWith: {
        const auto& s = static_cast<const WithStmt&>(stmt);
        auto inner = std::make_shared<Frame>(frame);
        for (const auto& [target, expr] : s.assigns) Assign(target, Eval(*expr, frame), inner);
        return Exec(s.body, inner, out);
      }
      case StmtKind::kReturn:
        return ExecReturn(static_cast<const ReturnStmt&>(stmt), frame, out);
      case StmtKind::kBreak:
        return Flow::kBreak;
      case StmtKind::kContinue:
        return Flow::kContinue;
      case StmtKind::kSnapshot:
        return Exec(static_cast<const SnapshotStmt&>(stmt).body, frame, out);
      case StmtKind::kDocs:
        return Flow::kNormal;
    }
  } catch (Error& e) {
    LocateError(&e, stmt.offset, frame.get());
    throw;
  }
  return Flow::kNormal;
}

void Evaluator::Emit(const Expr& e, const FramePtr& frame, std::string* out) {
  if (e.kind == ExprKind::kName) {  // the common {{ var }}: no copy
    const std::string& name = static_cast<const NameExpr&>(e).name;
    const Value* v = Find(name, frame.get());
    if (v != nullptr && !v->is_undefined()) {
      v->AppendStr(out);
      return;
    }
    if (Strict()) FailUndefinedAt(v ? *v : Value::Undefined("", name), e.offset, frame);
    return;
  }
  Value v = Eval(e, frame);
  if (v.is_undefined() && Strict()) FailUndefinedAt(v, e.offset, frame);
  v.AppendStr(out);
}

Evaluator::Flow Evaluator::ExecFor(const ForStmt& s, const FramePtr& frame, std::string* out) {
  Value iterable = Eval(*s.iter, frame);
  std::vector<Value> items;
  try {
    items = Iterate(iterable);
  } catch (Error& e) {
    LocateError(&e, s.iter->offset, frame.get());
    throw;
  }
  auto inner = std::make_shared<Frame>(frame);
  if (s.filter) {
    std::vector<Value> kept;
    for (Value& item : items) {
      inner->vars.clear();
      Assign(s.target, item, inner);
      if (Eval(*s.filter, inner).Truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    inner->vars.clear();
    return Exec(s.else_body, inner, out);
  }
  auto shared = std::make_shared<LoopObject::Shared>();
  shared->items = std::move(items);
  for (size_t i = 0; i < shared->items.size(); ++i) {
    inner->vars.clear();
    Assign(s.target, shared->items[i], inner);
    inner->vars.emplace_back("loop", Value::FromObject(std::make_shared<LoopObject>(shared, i)));
    Flow f = Exec(s.body, inner, out);
    if (f == Flow::kBreak) break;
    if (f == Flow::kReturn) return f;
  }
  return Flow::kNormal;
}

Evaluator::Flow Evaluator::ExecReturn(const ReturnStmt& s, const FramePtr& frame, std::string* out) {
  const Value* fn = Find("return", frame.get());
  if (fn == nullptr || !fn->is_callable() || fn->callable_ptr() != ReturnBuiltin()) {
    Value v = EvalCall(*s.call, frame, Value());
    if (s.emit) {
      if (v.is_undefined() && Strict()) FailUndefinedAt(v, s.call->offset, frame);
      v.AppendStr(out);
    }
    return Flow::kNormal;
  }
  if (macro_depth_ == 0) FailAt(s.call->offset, "return() called outside of a macro");
  Args args = EvalArgs(s.call->args, frame);
  if (args.positional.size() + args.kwargs.size() > 1 || !args.kwargs.empty()) {
    FailAt(s.call->offset, "return() takes exactly one argument");
  }
  return_value_ = args.positional.empty() ? Value::None() : std::move(args.positional[0]);
  return Flow::kReturn;
}

void Evaluator::Assign(const Target& target, Value value, const FramePtr& frame) {
  if (!target.attr.empty()) {
    const Value* ns = Find(target.names[0], frame.get());
    if (ns == nullptr || !ns->is_dict() || !ns->as_dict().is_namespace()) {
      FailAt(target.offset, "cannot assign attribute '" + target.attr + "' of '" + target.names[0] +
                                "': only namespace() objects support {% set ns.attr = ... %}");
    }
    ns->as_dict().Set(target.attr, std::move(value));
    return;
  }
  if (!target.unpack) {
    frame->Set(target.names[0], std::move(value));
    return;
  }
  std::vector<Value> items;
  if (value.is_list()) {
    items = value.as_list().items;
  } else if (value.is_string() || value.is_dict()) {
    items = Iterate(value);
  } else {
    FailAt(target.offset, "cannot unpack non-iterable " + value.TypeName() + " object");
  }
  size_t n = target.names.size();
  if (items.size() > n) FailAt(target.offset, "too many values to unpack (expected " + std::to_string(n) + ")");
  if (items.size() < n) {
    FailAt(target.offset, "not enough values to unpack (expected " + std::to_string(n) + ", got " +
                              std::to_string(items.size()) + ")");
  }
  for (size_t i = 0; i < n; ++i) frame->Set(target.names[i], std::move(items[i]));
}

Value Evaluator::DefineMacro(const MacroDef& def, const FramePtr& closure, bool is_caller) {
  auto impl = std::make_shared<MacroImpl>();
  impl->module = module_;
  impl->def = &def;
  impl->closure = closure;
  impl->is_caller = is_caller;
  return Value::FromCallable(std::make_shared<const Callable>(def.name, std::move(impl)));
}

Value Evaluator::ApplyFilterChain(const std::vector<std::unique_ptr<FilterExpr>>& filters, Value v,
                                  const FramePtr& frame) {
  for (const auto& f : filters) v = ApplyFilter(f->name, v, EvalArgs(f->args, frame), f->offset, frame);
  return v;
}

// ---- calls ------------------------------------------------------------------------------------

template <typename T>
T Evaluator::Unwrap(Result<T> r, uint32_t offset) {
  if (r.ok()) {
    pending_ = nullptr;
    return std::move(r).value();
  }
  if (pending_ != nullptr && r.status().message() == pending_message_) {
    std::exception_ptr p = std::move(pending_);
    pending_ = nullptr;
    std::rethrow_exception(p);
  }
  pending_ = nullptr;
  FailAt(offset, r.status().message());
}

Value Evaluator::CallValue(const Value& fn, const Args& args, uint32_t offset, const FramePtr& frame,
                           const Value& caller) {
  switch (fn.kind()) {
    case Value::Kind::kCallable: {
      const Callable& c = fn.as_callable();
      if (fn.callable_ptr() == ReturnBuiltin()) {
        if (macro_depth_ == 0) FailAt(offset, "return() called outside of a macro");
        throw ReturnSignal{args.positional.empty() ? Value::None() : args.positional[0]};
      }
      if (c.is_macro()) return CallMacro(c, args, offset, caller);
      CallContext ctx(this, &frame, caller, offset);
      return Unwrap(c.native()(ctx, args), offset);
    }
    case Value::Kind::kObject: {
      const Object& obj = fn.as_object();
      if (!obj.IsCallable()) FailAt(offset, "'" + obj.TypeName() + "' object is not callable");
      CallContext ctx(this, &frame, caller, offset);
      return Unwrap(obj.Call(ctx, args), offset);
    }
    case Value::Kind::kUndefined:
      if (env_.options().chainable_undefined) return fn;
      FailUndefinedAt(fn, offset, frame);
    default:
      FailAt(offset, "'" + fn.TypeName() + "' object is not callable");
  }
}

Value Evaluator::CallMacro(const Callable& c, const Args& args, uint32_t offset, const Value& caller) {
  const MacroImpl& m = *c.macro();
  const MacroDef& def = *m.def;
  if (depth_ >= env_.options().max_call_depth) {
    FailAt(offset, "maximum recursion depth (" + std::to_string(env_.options().max_call_depth) +
                       ") exceeded calling macro '" + def.name + "'");
  }
  const std::string kind = m.is_caller ? "caller" : "macro '" + def.name + "'";
  auto frame = std::make_shared<Frame>(m.closure.lock());
  const size_t np = def.params.size();
  std::vector<bool> given(np, false);
  Value varargs = Value::MakeTuple({});
  Value kwargs = Value::MakeDict();
  if (args.positional.size() > np && !def.uses_varargs) {
    FailAt(offset, kind + " takes not more than " + std::to_string(np) + " argument(s), got " +
                       std::to_string(args.positional.size()));
  }
  frame->vars.reserve(np + 3);
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < np) {
      frame->vars.emplace_back(def.params[i], args.positional[i]);
      given[i] = true;
    } else {
      varargs.as_list().items.push_back(args.positional[i]);
    }
  }
  for (const auto& [k, v] : args.kwargs) {
    auto it = std::find(def.params.begin(), def.params.end(), k);
    if (it != def.params.end()) {
      size_t i = static_cast<size_t>(it - def.params.begin());
      if (given[i]) FailAt(offset, kind + " got multiple values for argument '" + k + "'");
      frame->Set(k, v);
      given[i] = true;
    } else if (def.uses_kwargs) {
      kwargs.as_dict().Set(k, v);
    } else {
      FailAt(offset, kind + " takes no keyword argument '" + k + "'" + DidYouMean(k, def.params));
    }
  }
  if (def.uses_varargs) frame->Set("varargs", std::move(varargs));
  if (def.uses_kwargs) frame->Set("kwargs", std::move(kwargs));
  if (!caller.is_undefined()) frame->Set("caller", caller);

  std::shared_ptr<const Module> calling_module = module_;
  struct Restore {
    Evaluator* ev;
    std::shared_ptr<const Module> module;
    bool counts_for_return;
    ~Restore() {
      ev->module_ = std::move(module);
      --ev->depth_;
      if (counts_for_return) --ev->macro_depth_;
    }
  } restore{this, calling_module, !m.is_caller};
  module_ = m.module;
  ++depth_;
  if (!m.is_caller) ++macro_depth_;

  std::string out;
  Flow flow = Flow::kNormal;
  try {
    for (size_t i = 0; i < np; ++i) {  // defaults are evaluated at call time, in the macro's scope
      if (given[i]) continue;
      if (def.defaults[i]) {
        frame->Set(def.params[i], Eval(*def.defaults[i], frame));
      } else {
        frame->Set(def.params[i], Value::Undefined("parameter '" + def.params[i] + "' was not provided"));
      }
    }
    flow = Exec(def.body, frame, &out);
  } catch (ReturnSignal& r) {
    if (m.is_caller) throw;
    return std::move(r.value);
  } catch (Error& e) {
    if (!e.located()) e.Locate(module_->source, def.offset);
    e.AddStackLine(m.is_caller ? "in the body of {% call %} (" + module_->source->Where(def.offset) + ")"
                               : "in macro '" + def.name + "' (" + module_->source->Where(def.offset) + ")");
    e.AddStackLine("called from " + calling_module->source->Where(offset));
    throw;
  }
  if (flow == Flow::kReturn) {
    if (m.is_caller) throw ReturnSignal{std::move(return_value_)};
    return std::move(return_value_);
  }
  return Value(std::move(out));
}

Args Evaluator::EvalArgs(const CallArgs& a, const FramePtr& frame) {
  Args args;
  args.positional.reserve(a.positional.size());
  for (const auto& p : a.positional) args.positional.push_back(Eval(*p, frame));
  if (a.star_args) {
    Value v = Eval(*a.star_args, frame);
    for (Value& item : Iterate(v)) args.positional.push_back(std::move(item));
  }
  for (const auto& [k, e] : a.kwargs) args.kwargs.emplace_back(k, Eval(*e, frame));
  if (a.star_kwargs) {
    Value v = Eval(*a.star_kwargs, frame);
    if (!v.is_dict()) FailAt(a.star_kwargs->offset, "argument after ** must be a mapping, not " + v.TypeName());
    for (const auto& [k, val] : v.as_dict().entries()) {
      if (!k.is_string()) FailAt(a.star_kwargs->offset, "keywords must be strings");
      args.kwargs.emplace_back(k.as_string(), val);
    }
  }
  return args;
}

Value Evaluator::EvalCall(const CallExpr& e, const FramePtr& frame, const Value& caller) {
  Value fn;
  if (e.callee->kind == ExprKind::kGetAttr) {
    const auto& ga = static_cast<const GetAttrExpr&>(*e.callee);
    Value obj = Eval(*ga.obj, frame);
    if (obj.is_undefined()) {
      if (env_.options().chainable_undefined) return obj;
      FailUndefinedAt(obj, ga.obj->offset, frame);
    }
    if (HasMethod(obj, ga.attr)) {  // "a,b".split(","), xs.append(1), d.items()
      Args args = EvalArgs(e.args, frame);
      try {
        return CallMethod(obj, ga.attr, args);
      } catch (Error& err) {
        LocateError(&err, e.offset, frame.get());
        throw;
      }
    }
    fn = GetAttr(obj, ga.attr);
  } else {
    fn = Eval(*e.callee, frame);
  }
  Args args = EvalArgs(e.args, frame);
  return CallValue(fn, args, e.offset, frame, caller);
}

Value Evaluator::ApplyFilter(std::string_view name, const Value& input, const Args& args, uint32_t offset,
                             const FramePtr& frame) {
  const FilterFn* fn = env_.FindFilter(name);
  if (fn == nullptr) FailAt(offset, "unknown filter '" + std::string(name) + "'");
  CallContext ctx(this, &frame, Value(), offset);
  return Unwrap((*fn)(ctx, input, args), offset);
}

bool Evaluator::ApplyTest(std::string_view name, const Value& input, const Args& args, uint32_t offset,
                          const FramePtr& frame) {
  const TestFn* fn = env_.FindTest(name);
  if (fn == nullptr) FailAt(offset, "unknown test '" + std::string(name) + "'");
  CallContext ctx(this, &frame, Value(), offset);
  return Unwrap((*fn)(ctx, input, args), offset);
}

}  // namespace strata::jinja::internal
