// Expressions.
#include "transform/jinja/internal/evaluator.h"
#include "transform/jinja/internal/methods.h"
#include "transform/jinja/internal/ops.h"

namespace strata::jinja::internal {

Value Evaluator::Eval(const Expr& e, const FramePtr& frame) {
  try {
    return EvalImpl(e, frame);
  } catch (Error& err) {
    LocateError(&err, e.offset, frame.get());
    throw;
  }
}

Value Evaluator::GetAttr(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Value::Kind::kDict: {
      const Dict& d = obj.as_dict();
      if (!d.is_namespace() && HasMethod(obj, name)) return BoundMethod(obj, name);
      if (const Value* v = d.Find(name)) return *v;
      return Value::Undefined("'" + obj.TypeName() + " object' has no attribute '" + name + "'", name, obj);
    }
    case Value::Kind::kObject: {
      Value v = obj.as_object().GetAttr(name);
      if (v.is_undefined() && v.UndefinedName().empty() && v.UndefinedHint() == "value is undefined") {
        return Value::Undefined("'" + obj.TypeName() + "' object has no attribute '" + name + "'", name, obj);
      }
      return v;
    }
    case Value::Kind::kUndefined:
      FailUndefined(obj);
    default:
      if (HasMethod(obj, name)) return BoundMethod(obj, name);
      return Value::Undefined("'" + obj.TypeName() + " object' has no attribute '" + name + "'", name);
  }
}

Value Evaluator::EvalImpl(const Expr& e, const FramePtr& frame) {
  switch (e.kind) {
    case ExprKind::kLiteral:
      return static_cast<const LiteralExpr&>(e).value;
    case ExprKind::kName: {
      const std::string& name = static_cast<const NameExpr&>(e).name;
      if (const Value* v = Find(name, frame.get())) return *v;
      return Value::Undefined("", name);
    }
    case ExprKind::kList: {
      const auto& l = static_cast<const ListExpr&>(e);
      std::vector<Value> items;
      items.reserve(l.items.size());
      for (const auto& item : l.items) items.push_back(Eval(*item, frame));
      return l.tuple ? Value::MakeTuple(std::move(items)) : Value::MakeList(std::move(items));
    }
    case ExprKind::kDict: {
      Value d = Value::MakeDict();
      for (const auto& [k, v] : static_cast<const DictExpr&>(e).items) {
        Value key = Eval(*k, frame);
        try {
          CheckHashable(key);
        } catch (Error& err) {
          LocateError(&err, k->offset, frame.get());
          throw;
        }
        d.as_dict().SetKey(std::move(key), Eval(*v, frame));
      }
      return d;
    }
    case ExprKind::kGetAttr: {
      const auto& g = static_cast<const GetAttrExpr&>(e);
      Value obj = Eval(*g.obj, frame);
      if (obj.is_undefined()) {
        if (env_.options().chainable_undefined) return obj;
        FailUndefinedAt(obj, g.obj->offset, frame);
      }
      return GetAttr(obj, g.attr);
    }
    case ExprKind::kGetItem: {
      const auto& g = static_cast<const GetItemExpr&>(e);
      Value obj = Eval(*g.obj, frame);
      if (obj.is_undefined()) {
        if (env_.options().chainable_undefined) return obj;
        FailUndefinedAt(obj, g.obj->offset, frame);
      }
      return Subscript(obj, Eval(*g.key, frame));
    }
    case ExprKind::kSlice: {
      const auto& s = static_cast<const SliceExpr&>(e);
      Value obj = Eval(*s.obj, frame);
      if (obj.is_undefined()) FailUndefinedAt(obj, s.obj->offset, frame);
      Value start = s.start ? Eval(*s.start, frame) : Value();
      Value stop = s.stop ? Eval(*s.stop, frame) : Value();
      Value step = s.step ? Eval(*s.step, frame) : Value();
      return SliceValue(obj, start, stop, step);
    }
    case ExprKind::kCall:
      return EvalCall(static_cast<const CallExpr&>(e), frame, Value());
    case ExprKind::kUnary: {
      const auto& u = static_cast<const UnaryExpr&>(e);
      Value v = Eval(*u.operand, frame);
      if (u.op == UnaryOp::kNot) return Value(!v.Truthy());
      return Negate(v, u.op == UnaryOp::kPos);
    }
    case ExprKind::kBinary: {
      const auto& b = static_cast<const BinaryExpr&>(e);
      Value lhs = Eval(*b.lhs, frame);
      Value rhs = Eval(*b.rhs, frame);
      if (b.op == BinOp::kConcat) {
        if (Strict()) {
          if (lhs.is_undefined()) FailUndefinedAt(lhs, b.lhs->offset, frame);
          if (rhs.is_undefined()) FailUndefinedAt(rhs, b.rhs->offset, frame);
        }
        std::string s = lhs.Str();
        rhs.AppendStr(&s);
        return Value(std::move(s));
      }
      if (lhs.is_undefined()) FailUndefinedAt(lhs, b.lhs->offset, frame);
      if (rhs.is_undefined()) FailUndefinedAt(rhs, b.rhs->offset, frame);
      return Arith(b.op, lhs, rhs);
    }
    case ExprKind::kCompare: {
      const auto& c = static_cast<const CompareExpr&>(e);
      Value left = Eval(*c.first, frame);
      for (const auto& operand : c.rest) {
        Value right = Eval(*operand.expr, frame);
        bool ok;
        try {
          ok = CompareValues(operand.op, left, right);
        } catch (Error& err) {
          LocateError(&err, operand.offset, frame.get());
          throw;
        }
        if (!ok) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case ExprKind::kLogical: {
      const auto& l = static_cast<const LogicalExpr&>(e);
      Value lhs = Eval(*l.lhs, frame);
      if (l.is_and ? !lhs.Truthy() : lhs.Truthy()) return lhs;
      return Eval(*l.rhs, frame);
    }
    case ExprKind::kCond: {
      const auto& c = static_cast<const CondExpr&>(e);
      if (Eval(*c.cond, frame).Truthy()) return Eval(*c.then_expr, frame);
      if (c.else_expr) return Eval(*c.else_expr, frame);
      return Value::Undefined("the inline if-expression evaluated to false and no else section was defined");
    }
    case ExprKind::kFilter: {
      const auto& f = static_cast<const FilterExpr&>(e);
      Value input = Eval(*f.operand, frame);
      return ApplyFilter(f.name, input, EvalArgs(f.args, frame), f.offset, frame);
    }
    case ExprKind::kTest: {
      const auto& t = static_cast<const TestExpr&>(e);
      Value input = Eval(*t.operand, frame);
      bool r = ApplyTest(t.name, input, EvalArgs(t.args, frame), t.offset, frame);
      return Value(t.negated ? !r : r);
    }
  }
  return Value();
}

}  // namespace strata::jinja::internal
