// Filters on sequences and mappings.
#include <algorithm>
#include <unordered_set>

#include "transform/jinja/call_context.h"
#include "transform/jinja/internal/builtins.h"
#include "transform/jinja/internal/ops.h"
#include "transform/jinja/internal/util.h"

namespace strata::jinja::internal {

Value GetPath(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (v.is_undefined()) return v;
    bool digits = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    v = Subscript(v, digits ? Value(static_cast<int64_t>(std::stoll(part))) : Value(part));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return v;
}

Value SortKey(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(AsciiLower(v.as_string()));
  return v;
}

namespace {

// Items of `v` with `attribute` applied and turned into sort keys.
std::vector<Value> Keys(const std::vector<Value>& items, const Value& attribute, bool case_sensitive) {
  std::vector<Value> keys;
  keys.reserve(items.size());
  for (const Value& item : items) {
    Value k = attribute.is_undefined() || attribute.is_none() ? item : GetPath(item, attribute.Str());
    keys.push_back(SortKey(k, case_sensitive));
  }
  return keys;
}

Value ListOf(std::vector<Value> items) { return Value::MakeList(std::move(items)); }

Result<Value> SelectOrReject(CallContext& ctx, const Value& v, const Args& args, bool select, bool by_attr) {
  std::vector<Value> out;
  size_t first = by_attr ? 1 : 0;
  std::string attr;
  if (by_attr) {
    if (args.positional.empty()) return Status::InvalidArgument("missing attribute argument");
    attr = args.positional[0].Str();
  }
  std::string test;
  Args test_args;
  if (args.positional.size() > first) {
    test = args.positional[first].Str();
    test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(first) + 1,
                                args.positional.end());
    test_args.kwargs = args.kwargs;
  }
  for (const Value& item : Iterate(v)) {
    Value subject = by_attr ? GetPath(item, attr) : item;
    bool hit;
    if (test.empty()) {
      hit = subject.Truthy();
    } else {
      STRATA_ASSIGN_OR_RETURN(hit, ctx.ApplyTest(test, subject, test_args));
    }
    if (hit == select) out.push_back(item);
  }
  return ListOf(std::move(out));
}

Result<Value> MinMax(const Value& v, const Args& args, bool want_max) {
  STRATA_ASSIGN_OR_RETURN(auto a, args.Bind(want_max ? "max" : "min", {"case_sensitive", "attribute"}));
  std::vector<Value> items = Iterate(v);
  if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
  std::vector<Value> keys = Keys(items, a[1], a[0].Truthy());
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    auto c = Order(keys[i], keys[best]);
    if (want_max ? c > 0 : c < 0) best = i;
  }
  return items[best];
}

void Register(Environment* env) {
  env->AddFilter("length", [](CallContext&, const Value& v, const Args&) -> Result<Value> { return Value(Length(v)); });
  env->AddFilter("count", *env->FindFilter("length"));
  env->AddFilter("list", [](CallContext&, const Value& v, const Args&) -> Result<Value> { return ListOf(Iterate(v)); });
  env->AddFilter("first", [](CallContext&, const Value& v, const Args&) -> Result<Value> {
    std::vector<Value> items = Iterate(v);
    if (items.empty()) return Value::Undefined("No first item, sequence was empty.");
    return items.front();
  });
  env->AddFilter("last", [](CallContext&, const Value& v, const Args&) -> Result<Value> {
    std::vector<Value> items = Iterate(v);
    if (items.empty()) return Value::Undefined("No last item, sequence was empty.");
    return items.back();
  });
  env->AddFilter("join", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("join", {"d", "attribute"}));
    std::string sep = a[0].is_undefined() ? "" : a[0].Str();
    std::string out;
    bool first = true;
    for (const Value& item : Iterate(v)) {
      if (!first) out += sep;
      first = false;
      (a[1].is_undefined() || a[1].is_none() ? item : GetPath(item, a[1].Str())).AppendStr(&out);
    }
    return Value(std::move(out));
  });
  env->AddFilter("reverse", [](CallContext&, const Value& v, const Args&) -> Result<Value> {
    if (v.is_string()) {
      auto chars = Chars(v.as_string());
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
      return Value(std::move(out));
    }
    std::vector<Value> items = Iterate(v);
    std::reverse(items.begin(), items.end());
    return ListOf(std::move(items));
  });
  env->AddFilter("sort", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("sort", {"reverse", "case_sensitive", "attribute"}));
    std::vector<Value> items = Iterate(v);
    std::vector<Value> keys = Keys(items, a[2], a[1].Truthy());
    std::vector<size_t> order(items.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    bool reverse = a[0].Truthy();
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      return reverse ? Order(keys[y], keys[x]) < 0 : Order(keys[x], keys[y]) < 0;
    });
    std::vector<Value> out;
    for (size_t i : order) out.push_back(items[i]);
    return ListOf(std::move(out));
  });
  env->AddFilter("unique", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("unique", {"case_sensitive", "attribute"}));
    std::vector<Value> items = Iterate(v);
    std::vector<Value> keys = Keys(items, a[1], a[0].Truthy());
    std::unordered_set<std::string> seen_strings;
    std::vector<Value> seen_other;
    std::vector<Value> out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (keys[i].is_string()) {
        if (!seen_strings.insert(keys[i].as_string()).second) continue;
      } else {
        if (std::any_of(seen_other.begin(), seen_other.end(), [&](const Value& s) { return s.Equals(keys[i]); }))
          continue;
        seen_other.push_back(keys[i]);
      }
      out.push_back(items[i]);
    }
    return ListOf(std::move(out));
  });
  env->AddFilter("map", [](CallContext& ctx, const Value& v, const Args& args) -> Result<Value> {
    std::vector<Value> out;
    if (const Value* attr = args.Kwarg("attribute")) {
      const Value* def = args.Kwarg("default");
      for (const Value& item : Iterate(v)) {
        Value x = GetPath(item, attr->Str());
        out.push_back(x.is_undefined() && def != nullptr ? *def : x);
      }
      return ListOf(std::move(out));
    }
    if (args.positional.empty()) return Status::InvalidArgument("map(): give a filter name or attribute=");
    Args rest(std::vector<Value>(args.positional.begin() + 1, args.positional.end()), args.kwargs);
    std::string filter = args.positional[0].Str();
    for (const Value& item : Iterate(v)) {
      STRATA_ASSIGN_OR_RETURN(Value x, ctx.ApplyFilter(filter, item, rest));
      out.push_back(std::move(x));
    }
    return ListOf(std::move(out));
  });
  env->AddFilter("select", [](CallContext& ctx, const Value& v, const Args& args) {
    return SelectOrReject(ctx, v, args, true, false);
  });
  env->AddFilter("reject", [](CallContext& ctx, const Value& v, const Args& args) {
    return SelectOrReject(ctx, v, args, false, false);
  });
  env->AddFilter("selectattr", [](CallContext& ctx, const Value& v, const Args& args) {
    return SelectOrReject(ctx, v, args, true, true);
  });
  env->AddFilter("rejectattr", [](CallContext& ctx, const Value& v, const Args& args) {
    return SelectOrReject(ctx, v, args, false, true);
  });
  env->AddFilter("sum", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("sum", {"attribute", "start"}));
    Value total = a[1].is_undefined() ? Value(0) : a[1];
    for (const Value& item : Iterate(v)) {
      total = Arith(BinOp::kAdd, total, a[0].is_undefined() || a[0].is_none() ? item : GetPath(item, a[0].Str()));
    }
    return total;
  });
  env->AddFilter("min", [](CallContext&, const Value& v, const Args& args) { return MinMax(v, args, false); });
  env->AddFilter("max", [](CallContext&, const Value& v, const Args& args) { return MinMax(v, args, true); });
  env->AddFilter("items", [](CallContext&, const Value& v, const Args&) -> Result<Value> {
    if (v.is_undefined()) return ListOf({});
    if (!v.is_dict()) return Status::InvalidArgument("items(): can only get item pairs from a mapping");
    std::vector<Value> out;
    for (const auto& [k, val] : v.as_dict().entries()) out.push_back(Value::MakeTuple({k, val}));
    return ListOf(std::move(out));
  });
  env->AddFilter("dictsort", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("dictsort", {"case_sensitive", "by", "reverse"}));
    if (!v.is_dict()) return Status::InvalidArgument("dictsort(): expected a mapping, got " + v.TypeName());
    std::string by = a[1].is_undefined() ? "key" : a[1].Str();
    if (by != "key" && by != "value") return Status::InvalidArgument("dictsort(): by must be 'key' or 'value'");
    std::vector<std::pair<Value, Value>> entries = v.as_dict().entries();
    bool cs = a[0].Truthy(), reverse = a[2].Truthy();
    std::stable_sort(entries.begin(), entries.end(), [&](const auto& x, const auto& y) {
      Value kx = SortKey(by == "key" ? x.first : x.second, cs);
      Value ky = SortKey(by == "key" ? y.first : y.second, cs);
      return reverse ? Order(ky, kx) < 0 : Order(kx, ky) < 0;
    });
    std::vector<Value> out;
    for (auto& [k, val] : entries) out.push_back(Value::MakeTuple({k, val}));
    return ListOf(std::move(out));
  });
  env->AddFilter("batch", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("batch", {"linecount", "fill_with"}, 1));
    if (!a[0].is_int() || a[0].as_int() <= 0)
      return Status::InvalidArgument("batch(): linecount must be a positive int");
    size_t n = static_cast<size_t>(a[0].as_int());
    std::vector<Value> out, row;
    for (const Value& item : Iterate(v)) {
      row.push_back(item);
      if (row.size() == n) out.push_back(ListOf(std::exchange(row, {})));
    }
    if (!row.empty()) {
      if (!a[1].is_undefined()) row.resize(n, a[1]);
      out.push_back(ListOf(std::move(row)));
    }
    return ListOf(std::move(out));
  });
}

}  // namespace

void RegisterSequenceFilters(Environment* env) { Register(env); }

}  // namespace strata::jinja::internal
