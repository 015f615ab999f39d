#include "transform/jinja/internal/ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "transform/jinja/internal/source.h"
#include "transform/jinja/internal/util.h"

namespace strata::jinja::internal {
namespace {

constexpr size_t kMaxRepeat = size_t{256} << 20;  // "x" * n beyond 256 MiB is a mistake

bool IntLike(const Value& v) { return v.is_int() || v.is_bool(); }
int64_t IntOf(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); }

const char* OpSymbol(BinOp op) {
  switch (op) {
    case BinOp::kAdd:
      return "+";
    case BinOp::kSub:
      return "-";
    case BinOp::kMul:
      return "*";
    case BinOp::kDiv:
      return "/";
    case BinOp::kFloorDiv:
      return "//";
    case BinOp::kMod:
      return "%";
    case BinOp::kPow:
      return "**";
    case BinOp::kConcat:
      return "~";
  }
  return "?";
}

[[noreturn]] void Unsupported(BinOp op, const Value& a, const Value& b) {
  Fail(std::string("unsupported operand type(s) for ") + OpSymbol(op) + ": '" + a.TypeName() + "' and '" +
       b.TypeName() + "'");
}

template <typename F>
int64_t Checked(F op, int64_t a, int64_t b) {
  int64_t r = 0;
  if (op(a, b, &r)) Fail("integer overflow");
  return r;
}
bool AddOverflow(int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); }
bool SubOverflow(int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); }
bool MulOverflow(int64_t a, int64_t b, int64_t* r) { return __builtin_mul_overflow(a, b, r); }

int64_t FloorDiv(int64_t a, int64_t b) {
  if (b == 0) Fail("integer division or modulo by zero");
  if (a == INT64_MIN && b == -1) Fail("integer overflow");
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t PyMod(int64_t a, int64_t b) {
  if (b == 0) Fail("integer division or modulo by zero");
  if (b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

double PyFMod(double a, double b) {
  if (b == 0) Fail("float modulo by zero");
  double r = std::fmod(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

Value Repeat(const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (!s.empty() && static_cast<size_t>(n) > kMaxRepeat / s.size()) Fail("repeated string is too large");
    std::string out;
    out.reserve(s.size() * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out += s;
    return Value(std::move(out));
  }
  const auto& items = seq.as_list().items;
  if (!items.empty() && static_cast<size_t>(n) > kMaxRepeat / 16 / items.size()) Fail("repeated list is too large");
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return seq.as_list().is_tuple ? Value::MakeTuple(std::move(out)) : Value::MakeList(std::move(out));
}

Value IntPow(int64_t base, int64_t exp) {
  int64_t result = 1;
  while (exp > 0) {
    if (exp & 1) result = Checked(MulOverflow, result, base);
    exp >>= 1;
    if (exp > 0) base = Checked(MulOverflow, base, base);
  }
  return Value(result);
}

}  // namespace

void FailUndefined(const Value& undefined) {
  Error e(undefined.UndefinedHint());
  const Value& owner = undefined.UndefinedOwner();
  std::string missing = undefined.UndefinedName();
  if (!owner.is_undefined() && !missing.empty()) {
    std::vector<std::string> names;
    if (owner.is_dict()) {
      for (const auto& [k, v] : owner.as_dict().entries()) {
        if (k.is_string()) names.push_back(k.as_string());
      }
    } else if (owner.is_object()) {
      names = owner.as_object().AttrNames();
    }
    e.set_message(e.message() + DidYouMean(missing, names));
  } else if (!missing.empty()) {
    e.set_undefined_name(missing);
  }
  throw e;
}

Value Arith(BinOp op, const Value& a, const Value& b) {
  if (a.is_undefined()) FailUndefined(a);
  if (b.is_undefined()) FailUndefined(b);
  const bool numbers = a.is_number() && b.is_number();
  const bool ints = IntLike(a) && IntLike(b);
  switch (op) {
    case BinOp::kAdd:
      if (ints) return Value(Checked(AddOverflow, IntOf(a), IntOf(b)));
      if (numbers) return Value(a.ToDouble() + b.ToDouble());
      if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
      if (a.is_list() && b.is_list()) {
        std::vector<Value> items = a.as_list().items;
        items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
        return a.as_list().is_tuple ? Value::MakeTuple(std::move(items)) : Value::MakeList(std::move(items));
      }
      break;
    case BinOp::kSub:
      if (ints) return Value(Checked(SubOverflow, IntOf(a), IntOf(b)));
      if (numbers) return Value(a.ToDouble() - b.ToDouble());
      break;
    case BinOp::kMul:
      if (ints) return Value(Checked(MulOverflow, IntOf(a), IntOf(b)));
      if (numbers) return Value(a.ToDouble() * b.ToDouble());
      if ((a.is_string() || a.is_list()) && IntLike(b)) return Repeat(a, IntOf(b));
      if (IntLike(a) && (b.is_string() || b.is_list())) return Repeat(b, IntOf(a));
      break;
    case BinOp::kDiv:
      if (numbers) {
        if (b.ToDouble() == 0) Fail("division by zero");
        return Value(a.ToDouble() / b.ToDouble());
      }
      break;
    case BinOp::kFloorDiv:
      if (ints) return Value(FloorDiv(IntOf(a), IntOf(b)));
      if (numbers) {
        if (b.ToDouble() == 0) Fail("float floor division by zero");
        return Value(std::floor(a.ToDouble() / b.ToDouble()));
      }
      break;
    case BinOp::kMod:
      if (a.is_string()) return Value(PercentFormat(a.as_string(), b));
      if (ints) return Value(PyMod(IntOf(a), IntOf(b)));
      if (numbers) return Value(PyFMod(a.ToDouble(), b.ToDouble()));
      break;
    case BinOp::kPow:
      if (ints && IntOf(b) >= 0) return IntPow(IntOf(a), IntOf(b));
      if (numbers) {
        if (a.ToDouble() == 0 && b.ToDouble() < 0) Fail("0.0 cannot be raised to a negative power");
        return Value(std::pow(a.ToDouble(), b.ToDouble()));
      }
      break;
    case BinOp::kConcat:
      return Value(a.Str() + b.Str());
  }
  Unsupported(op, a, b);
}

Value Negate(const Value& v, bool positive) {
  if (v.is_undefined()) FailUndefined(v);
  if (IntLike(v)) {
    if (positive) return Value(IntOf(v));
    if (IntOf(v) == INT64_MIN) Fail("integer overflow");
    return Value(-IntOf(v));
  }
  if (v.is_float()) return Value(positive ? v.as_float() : -v.as_float());
  Fail(std::string("bad operand type for unary ") + (positive ? "+" : "-") + ": '" + v.TypeName() + "'");
}

std::partial_ordering Order(const Value& a, const Value& b) {
  if (a.is_undefined()) FailUndefined(a);
  if (b.is_undefined()) FailUndefined(b);
  if (a.is_number() && b.is_number()) {
    if (IntLike(a) && IntLike(b)) return IntOf(a) <=> IntOf(b);
    return a.ToDouble() <=> b.ToDouble();
  }
  if (a.is_string() && b.is_string()) return a.as_string().compare(b.as_string()) <=> 0;
  if (a.is_list() && b.is_list()) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (x[i].Equals(y[i])) continue;
      return Order(x[i], y[i]);
    }
    return x.size() <=> y.size();
  }
  Fail("'<' not supported between instances of '" + a.TypeName() + "' and '" + b.TypeName() + "'");
}

bool CompareValues(CmpOp op, const Value& a, const Value& b) {
  switch (op) {
    case CmpOp::kEq:
      return a.Equals(b);
    case CmpOp::kNe:
      return !a.Equals(b);
    case CmpOp::kLt:
      return Order(a, b) < 0;
    case CmpOp::kLe:
      return Order(a, b) <= 0;
    case CmpOp::kGt:
      return Order(a, b) > 0;
    case CmpOp::kGe:
      return Order(a, b) >= 0;
    case CmpOp::kIn:
      return Contains(b, a);
    case CmpOp::kNotIn:
      return !Contains(b, a);
  }
  return false;
}

bool Contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.is_string()) Fail("'in <string>' requires string as left operand, not " + item.TypeName());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : container.as_list().items) {
        if (v.Equals(item)) return true;
      }
      return false;
    case Value::Kind::kDict:
      return container.as_dict().FindKey(item) != nullptr;
    case Value::Kind::kObject:
      if (container.as_object().IsIterable()) {
        for (const Value& v : container.as_object().Items()) {
          if (v.Equals(item)) return true;
        }
        return false;
      }
      Fail("argument of type '" + container.TypeName() + "' is not iterable");
    default:
      Fail("argument of type '" + container.TypeName() + "' is not iterable");
  }
}

std::vector<Value> Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return {};
    case Value::Kind::kList:
      return v.as_list().items;
    case Value::Kind::kDict: {
      std::vector<Value> keys;
      keys.reserve(v.as_dict().size());
      for (const auto& [k, unused] : v.as_dict().entries()) keys.push_back(k);
      return keys;
    }
    case Value::Kind::kString: {
      std::vector<Value> chars;
      for (std::string_view c : Chars(v.as_string())) chars.emplace_back(c);
      return chars;
    }
    case Value::Kind::kObject:
      if (v.as_object().IsIterable()) return v.as_object().Items();
      Fail("'" + v.TypeName() + "' object is not iterable");
    default:
      Fail("'" + v.TypeName() + "' object is not iterable");
  }
}

int64_t Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return 0;
    case Value::Kind::kString:
      return static_cast<int64_t>(CharCount(v.as_string()));
    case Value::Kind::kList:
      return static_cast<int64_t>(v.as_list().items.size());
    case Value::Kind::kDict:
      return static_cast<int64_t>(v.as_dict().size());
    case Value::Kind::kObject:
      if (v.as_object().IsIterable()) return static_cast<int64_t>(v.as_object().Items().size());
      Fail("object of type '" + v.TypeName() + "' has no len()");
    default:
      Fail("object of type '" + v.TypeName() + "' has no len()");
  }
}

void CheckHashable(const Value& key) {
  if (key.is_list() && !key.as_list().is_tuple) Fail("unhashable type: 'list'");
  if (key.is_dict()) Fail("unhashable type: '" + key.TypeName() + "'");
  if (key.is_undefined()) FailUndefined(key);
}

Value Subscript(const Value& obj, const Value& key) {
  auto missing = [&]() {
    std::string what = key.is_string() ? "attribute '" + key.as_string() + "'" : "element " + key.Repr();
    return Value::Undefined("'" + obj.TypeName() + " object' has no " + what, key.is_string() ? key.as_string() : "",
                            obj.is_dict() ? obj : Value());
  };
  switch (obj.kind()) {
    case Value::Kind::kUndefined:
      FailUndefined(obj);
    case Value::Kind::kDict: {
      if (key.is_list() || key.is_dict()) CheckHashable(key);
      const Value* v = obj.as_dict().FindKey(key);
      return v != nullptr ? *v : missing();
    }
    case Value::Kind::kList:
    case Value::Kind::kString: {
      if (!IntLike(key)) return missing();
      int64_t i = IntOf(key);
      if (obj.is_list()) {
        const auto& items = obj.as_list().items;
        int64_t n = static_cast<int64_t>(items.size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return missing();
        return items[static_cast<size_t>(i)];
      }
      const std::string& s = obj.as_string();
      if (IsAscii(s)) {
        int64_t n = static_cast<int64_t>(s.size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return missing();
        return Value(std::string(1, s[static_cast<size_t>(i)]));
      }
      auto chars = Chars(s);
      int64_t n = static_cast<int64_t>(chars.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return missing();
      return Value(chars[static_cast<size_t>(i)]);
    }
    case Value::Kind::kObject: {
      if (!key.is_string()) {
        Value v = obj.as_object().GetItem(key);
        return v.is_undefined() ? missing() : v;
      }
      Value v = obj.as_object().GetItem(key);
      if (v.is_undefined() && v.UndefinedName().empty()) {
        return Value::Undefined("'" + obj.TypeName() + "' object has no attribute '" + key.as_string() + "'",
                                key.as_string(), obj);
      }
      return v;
    }
    default:
      return missing();
  }
}

Value SliceValue(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) FailUndefined(obj);
  auto as_index = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_undefined() || v.is_none()) return std::nullopt;
    if (!IntLike(v)) Fail(std::string("slice ") + what + " must be an integer or None, not " + v.TypeName());
    return IntOf(v);
  };
  std::optional<int64_t> a = as_index(start, "start"), b = as_index(stop, "stop"), c = as_index(step, "step");
  int64_t st = c.value_or(1);
  if (st == 0) Fail("slice step cannot be zero");
  std::vector<std::string_view> chars;
  int64_t n = 0;
  if (obj.is_string()) {
    chars = Chars(obj.as_string());
    n = static_cast<int64_t>(chars.size());
  } else if (obj.is_list()) {
    n = static_cast<int64_t>(obj.as_list().items.size());
  } else {
    Fail("'" + obj.TypeName() + "' object is not subscriptable");
  }
  auto clamp = [&](std::optional<int64_t> v, int64_t def) -> int64_t {
    if (!v) return def;
    int64_t x = *v;
    if (x < 0) x += n;
    if (st > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  int64_t lo = clamp(a, st > 0 ? 0 : n - 1);
  int64_t hi = clamp(b, st > 0 ? n : -1);
  std::vector<int64_t> idx;
  for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) idx.push_back(i);
  if (obj.is_string()) {
    std::string out;
    for (int64_t i : idx) out += chars[static_cast<size_t>(i)];
    return Value(std::move(out));
  }
  std::vector<Value> out;
  for (int64_t i : idx) out.push_back(obj.as_list().items[static_cast<size_t>(i)]);
  return obj.as_list().is_tuple ? Value::MakeTuple(std::move(out)) : Value::MakeList(std::move(out));
}

}  // namespace strata::jinja::internal
