// Tests: `value is name(args)`.
#include <cctype>

#include "transform/jinja/internal/builtins.h"
#include "transform/jinja/internal/ops.h"

namespace strata::jinja::internal {
namespace {

Result<Value> Arg(const Args& args, const char* name) {
  STRATA_ASSIGN_OR_RETURN(auto a, args.Bind(name, {"other"}, 1));
  return a[0];
}

bool SameAs(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kList:
      return a.list_ptr() == b.list_ptr();
    case Value::Kind::kDict:
      return a.dict_ptr() == b.dict_ptr();
    case Value::Kind::kCallable:
      return a.callable_ptr() == b.callable_ptr();
    case Value::Kind::kObject:
      return a.object_ptr() == b.object_ptr();
    default:
      return a.Equals(b);
  }
}

template <typename F>
void AddSimple(Environment* env, const char* name, F pred) {
  env->AddTest(name, [pred](CallContext&, const Value& v, const Args&) -> Result<bool> { return pred(v); });
}

void AddComparison(Environment* env, std::initializer_list<const char*> names, CmpOp op) {
  for (const char* name : names) {
    env->AddTest(name, [op, name](CallContext&, const Value& v, const Args& args) -> Result<bool> {
      STRATA_ASSIGN_OR_RETURN(Value other, Arg(args, name));
      return CompareValues(op, v, other);
    });
  }
}

}  // namespace

void RegisterTests(Environment* env) {
  AddSimple(env, "defined", [](const Value& v) { return !v.is_undefined(); });
  AddSimple(env, "undefined", [](const Value& v) { return v.is_undefined(); });
  AddSimple(env, "none", [](const Value& v) { return v.is_none(); });
  AddSimple(env, "string", [](const Value& v) { return v.is_string(); });
  AddSimple(env, "number", [](const Value& v) { return v.is_number(); });
  AddSimple(env, "integer", [](const Value& v) { return v.is_int(); });
  AddSimple(env, "float", [](const Value& v) { return v.is_float(); });
  AddSimple(env, "boolean", [](const Value& v) { return v.is_bool(); });
  AddSimple(env, "true", [](const Value& v) { return v.is_bool() && v.as_bool(); });
  AddSimple(env, "false", [](const Value& v) { return v.is_bool() && !v.as_bool(); });
  AddSimple(env, "mapping", [](const Value& v) { return v.is_dict() || (v.is_object() && v.as_object().IsMapping()); });
  AddSimple(env, "iterable", [](const Value& v) {
    return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined() ||
           (v.is_object() && v.as_object().IsIterable());
  });
  AddSimple(env, "sequence", [](const Value& v) {
    return v.is_string() || v.is_list() || v.is_dict() || (v.is_object() && v.as_object().IsIterable());
  });
  AddSimple(env, "callable",
            [](const Value& v) { return v.is_callable() || (v.is_object() && v.as_object().IsCallable()); });
  AddSimple(env, "escaped", [](const Value&) { return false; });
  AddSimple(env, "lower", [](const Value& v) {
    if (!v.is_string()) return false;
    bool cased = false;
    for (char c : v.as_string()) {
      if (std::isupper(static_cast<unsigned char>(c))) return false;
      cased = cased || std::islower(static_cast<unsigned char>(c));
    }
    return cased;
  });
  AddSimple(env, "upper", [](const Value& v) {
    if (!v.is_string()) return false;
    bool cased = false;
    for (char c : v.as_string()) {
      if (std::islower(static_cast<unsigned char>(c))) return false;
      cased = cased || std::isupper(static_cast<unsigned char>(c));
    }
    return cased;
  });
  env->AddTest("even", [](CallContext&, const Value& v, const Args&) -> Result<bool> {
    return Arith(BinOp::kMod, v, Value(2)).Equals(Value(0));
  });
  env->AddTest("odd", [](CallContext&, const Value& v, const Args&) -> Result<bool> {
    return Arith(BinOp::kMod, v, Value(2)).Equals(Value(1));
  });
  env->AddTest("divisibleby", [](CallContext&, const Value& v, const Args& args) -> Result<bool> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("divisibleby", {"num"}, 1));
    return Arith(BinOp::kMod, v, a[0]).Equals(Value(0));
  });
  env->AddTest("sameas", [](CallContext&, const Value& v, const Args& args) -> Result<bool> {
    STRATA_ASSIGN_OR_RETURN(Value other, Arg(args, "sameas"));
    return SameAs(v, other);
  });
  env->AddTest("in", [](CallContext&, const Value& v, const Args& args) -> Result<bool> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("in", {"seq"}, 1));
    return Contains(a[0], v);
  });
  AddComparison(env, {"eq", "equalto", "=="}, CmpOp::kEq);
  AddComparison(env, {"ne", "!="}, CmpOp::kNe);
  AddComparison(env, {"lt", "lessthan", "<"}, CmpOp::kLt);
  AddComparison(env, {"le", "<="}, CmpOp::kLe);
  AddComparison(env, {"gt", "greaterthan", ">"}, CmpOp::kGt);
  AddComparison(env, {"ge", ">="}, CmpOp::kGe);
}

}  // namespace strata::jinja::internal
