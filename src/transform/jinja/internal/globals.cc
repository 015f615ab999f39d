// Global functions: range, dict, list, namespace, zip, return, exceptions.
#include "transform/jinja/internal/builtins.h"
#include "transform/jinja/internal/evaluator.h"
#include "transform/jinja/internal/ops.h"

namespace strata::jinja::internal {
namespace {

constexpr int64_t kMaxRange = 10'000'000;

Result<int64_t> IntArg(const Value& v, const char* what) {
  if (v.is_bool()) return v.as_bool() ? 1 : 0;
  if (!v.is_int()) return Status::InvalidArgument(std::string(what) + " must be an integer, not " + v.TypeName());
  return v.as_int();
}

// dict(mapping_or_pairs, **kwargs) into `out`.
Status Fill(Dict* out, const Args& args, const char* fn) {
  if (args.positional.size() > 1)
    return Status::InvalidArgument(std::string(fn) + "() takes at most 1 positional argument");
  if (!args.positional.empty()) {
    const Value& src = args.positional[0];
    if (src.is_dict()) {
      for (const auto& [k, v] : src.as_dict().entries()) out->SetKey(k, v);
    } else {
      for (const Value& pair : Iterate(src)) {
        if (!pair.is_list() || pair.as_list().items.size() != 2) {
          return Status::InvalidArgument(std::string(fn) + "(): sequence elements must be (key, value) pairs");
        }
        CheckHashable(pair.as_list().items[0]);
        out->SetKey(pair.as_list().items[0], pair.as_list().items[1]);
      }
    }
  }
  for (const auto& [k, v] : args.kwargs) out->Set(k, v);
  return Status::OK();
}

}  // namespace

void RegisterGlobals(Environment* env) {
  env->AddFunction("range", [](CallContext&, const Args& args) -> Result<Value> {
    if (!args.kwargs.empty()) return Status::InvalidArgument("range() takes no keyword arguments");
    const auto& p = args.positional;
    if (p.empty() || p.size() > 3) return Status::InvalidArgument("range() expects 1 to 3 arguments");
    int64_t start = 0, stop = 0, step = 1;
    if (p.size() == 1) {
      STRATA_ASSIGN_OR_RETURN(stop, IntArg(p[0], "range() argument"));
    } else {
      STRATA_ASSIGN_OR_RETURN(start, IntArg(p[0], "range() argument"));
      STRATA_ASSIGN_OR_RETURN(stop, IntArg(p[1], "range() argument"));
      if (p.size() == 3) {
        STRATA_ASSIGN_OR_RETURN(step, IntArg(p[2], "range() argument"));
      }
    }
    if (step == 0) return Status::InvalidArgument("range() arg 3 must not be zero");
    std::vector<Value> out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (static_cast<int64_t>(out.size()) >= kMaxRange) {
        return Status::InvalidArgument("range() is limited to " + std::to_string(kMaxRange) + " items");
      }
      out.emplace_back(i);
    }
    return Value::MakeList(std::move(out));
  });
  env->AddFunction("dict", [](CallContext&, const Args& args) -> Result<Value> {
    Value d = Value::MakeDict();
    STRATA_RETURN_IF_ERROR(Fill(&d.as_dict(), args, "dict"));
    return d;
  });
  env->AddFunction("namespace", [](CallContext&, const Args& args) -> Result<Value> {
    Value ns = Value::MakeNamespace();
    STRATA_RETURN_IF_ERROR(Fill(&ns.as_dict(), args, "namespace"));
    return ns;
  });
  env->AddFunction("list", [](CallContext&, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("list", {"iterable"}));
    return Value::MakeList(Iterate(a[0]));
  });
  env->AddFunction("zip", [](CallContext&, const Args& args) -> Result<Value> {
    std::vector<std::vector<Value>> seqs;
    size_t n = SIZE_MAX;
    for (const Value& v : args.positional) {
      seqs.push_back(Iterate(v));
      n = std::min(n, seqs.back().size());
    }
    std::vector<Value> out;
    for (size_t i = 0; !seqs.empty() && i < n; ++i) {
      std::vector<Value> row;
      for (const auto& s : seqs) row.push_back(s[i]);
      out.push_back(Value::MakeTuple(std::move(row)));
    }
    return Value::MakeList(std::move(out));
  });
  env->AddGlobal("return", Value::FromCallable(ReturnBuiltin()));
  Value exceptions = Value::MakeDict();
  exceptions.as_dict().Set("raise_compiler_error",
                           Value::Function("raise_compiler_error", [](CallContext&, const Args& args) -> Result<Value> {
                             STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("raise_compiler_error", {"msg", "node"}, 1));
                             return Status::InvalidArgument(a[0].Str());
                           }));
  env->AddGlobal("exceptions", std::move(exceptions));
}

}  // namespace strata::jinja::internal
