// Filters on scalars and strings.
#include <cfenv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/strings.h"
#include "transform/jinja/internal/builtins.h"
#include "transform/jinja/internal/methods.h"
#include "transform/jinja/internal/ops.h"
#include "transform/jinja/internal/util.h"

namespace strata::jinja::internal {
namespace {

bool IsInt(const Value& v) { return v.is_int() || v.is_bool(); }
int64_t IntOf(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); }

// Jinja's title(): words start after '-', whitespace, or an opening bracket.
std::string JinjaTitle(std::string_view s) {
  std::string out(s);
  bool start = true;
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '-' || IsSpaceChar(c) || c == '(' || c == '{' || c == '[' || c == '<') {
      start = true;
      continue;
    }
    c = static_cast<char>(start ? std::toupper(u) : std::tolower(u));
    start = false;
  }
  return out;
}

std::string Trimmed(std::string_view s) { return Strip(s, Value(), true, true); }

// Python int(text, base): optional sign, underscores between digits, 0x/0o/0b prefixes.
std::optional<int64_t> ParseInt(std::string_view text, int base) {
  std::string s = Trimmed(text);
  bool negative = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  if (i + 1 < s.size() && s[i] == '0') {
    char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i + 1])));
    if ((p == 'x' && base == 16) || (p == 'o' && base == 8) || (p == 'b' && base == 2)) i += 2;
  }
  if (i >= s.size()) return std::nullopt;
  uint64_t v = 0;
  bool prev_digit = false;
  for (; i < s.size(); ++i) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    if (c == '_' && prev_digit && i + 1 < s.size()) {
      prev_digit = false;
      continue;
    }
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : 99;
    if (d >= base) return std::nullopt;
    if (v > (static_cast<uint64_t>(INT64_MAX) + 1) / static_cast<uint64_t>(base)) return std::nullopt;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    prev_digit = true;
  }
  if (!prev_digit) return std::nullopt;
  if (v > static_cast<uint64_t>(INT64_MAX) + (negative ? 1 : 0)) return std::nullopt;
  return negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

std::optional<double> ParseFloat(std::string_view text) {
  std::string s = Trimmed(text);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return d;
}

Value RoundHalfEven(double x, int64_t precision) {
  if (!std::isfinite(x)) return Value(x);
  if (precision >= 0) {
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(std::min<int64_t>(precision, 300)), x);
    return Value(std::strtod(buf, nullptr));
  }
  double scale = std::pow(10.0, static_cast<double>(-precision));
  int saved = std::fegetround();
  std::fesetround(FE_TONEAREST);
  double r = std::nearbyint(x / scale) * scale;
  std::fesetround(saved);
  return Value(r);
}

void Register(Environment* env) {
  env->AddFilter("default", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("default", {"default_value", "boolean"}));
    Value def = a[0].is_undefined() ? Value("") : a[0];
    if (v.is_undefined() || (a[1].Truthy() && !v.Truthy())) return def;
    return v;
  });
  env->AddFilter("d", *env->FindFilter("default"));
  env->AddFilter("lower",
                 [](CallContext&, const Value& v, const Args&) -> Result<Value> { return Value(AsciiLower(v.Str())); });
  env->AddFilter("upper",
                 [](CallContext&, const Value& v, const Args&) -> Result<Value> { return Value(AsciiUpper(v.Str())); });
  env->AddFilter("title",
                 [](CallContext&, const Value& v, const Args&) -> Result<Value> { return Value(JinjaTitle(v.Str())); });
  env->AddFilter("capitalize",
                 [](CallContext&, const Value& v, const Args&) -> Result<Value> { return Value(Capitalize(v.Str())); });
  env->AddFilter("replace", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("replace", {"old", "new", "count"}, 2));
    int64_t count = a[2].is_undefined() || a[2].is_none() ? -1 : (IsInt(a[2]) ? IntOf(a[2]) : -1);
    return Value(Replace(v.Str(), a[0].Str(), a[1].Str(), count));
  });
  env->AddFilter("trim", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("trim", {"chars"}));
    return Value(Strip(v.Str(), a[0], true, true));
  });
  env->AddFilter("strip", *env->FindFilter("trim"));
  env->AddFilter("string", [](CallContext&, const Value& v, const Args&) -> Result<Value> { return Value(v.Str()); });
  env->AddFilter("safe", [](CallContext&, const Value& v, const Args&) -> Result<Value> { return v; });
  env->AddFilter("escape",
                 [](CallContext&, const Value& v, const Args&) -> Result<Value> { return Value(HtmlEscape(v.Str())); });
  env->AddFilter("e", *env->FindFilter("escape"));
  env->AddFilter("forceescape", *env->FindFilter("escape"));
  env->AddFilter("tojson", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("tojson", {"indent"}));
    int indent = IsInt(a[0]) ? static_cast<int>(IntOf(a[0])) : -1;
    STRATA_ASSIGN_OR_RETURN(std::string json, v.ToJson(indent, /*sort_keys=*/true));
    // Like Jinja's htmlsafe_json_dumps: safe inside <script> and HTML attributes.
    std::string out;
    out.reserve(json.size());
    for (char c : json) {
      switch (c) {
        case '<':
          out += "\\u003c";
          break;
        case '>':
          out += "\\u003e";
          break;
        case '&':
          out += "\\u0026";
          break;
        case '\'':
          out += "\\u0027";
          break;
        default:
          out.push_back(c);
      }
    }
    return Value(std::move(out));
  });
  env->AddFilter("int", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("int", {"default", "base"}));
    Value def = a[0].is_undefined() ? Value(0) : a[0];
    int base = IsInt(a[1]) ? static_cast<int>(IntOf(a[1])) : 10;
    if (IsInt(v)) return Value(IntOf(v));
    if (v.is_float()) {
      if (!std::isfinite(v.as_float()) || std::fabs(v.as_float()) >= 9.2e18) return def;
      return Value(static_cast<int64_t>(std::trunc(v.as_float())));
    }
    if (v.is_string()) {
      if (auto i = ParseInt(v.as_string(), base)) return Value(*i);
      if (auto d = ParseFloat(v.as_string()); d && std::isfinite(*d) && std::fabs(*d) < 9.2e18) {
        return Value(static_cast<int64_t>(std::trunc(*d)));
      }
    }
    return def;
  });
  env->AddFilter("float", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("float", {"default"}));
    Value def = a[0].is_undefined() ? Value(0.0) : a[0];
    if (v.is_number()) return Value(v.ToDouble());
    if (v.is_string()) {
      if (auto d = ParseFloat(v.as_string())) return Value(*d);
    }
    return def;
  });
  env->AddFilter("abs", [](CallContext&, const Value& v, const Args&) -> Result<Value> {
    if (IsInt(v)) {
      if (IntOf(v) == INT64_MIN) return Status::InvalidArgument("integer overflow");
      return Value(IntOf(v) < 0 ? -IntOf(v) : IntOf(v));
    }
    if (v.is_float()) return Value(std::fabs(v.as_float()));
    return Status::InvalidArgument("bad operand type for abs(): '" + v.TypeName() + "'");
  });
  env->AddFilter("round", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("round", {"precision", "method"}));
    int64_t precision = IsInt(a[0]) ? IntOf(a[0]) : 0;
    std::string method = a[1].is_undefined() ? "common" : a[1].Str();
    if (method != "common" && method != "ceil" && method != "floor") {
      return Status::InvalidArgument("round(): method must be common, ceil or floor");
    }
    if (!v.is_number()) return Status::InvalidArgument("round(): expected a number, got " + v.TypeName());
    if (method == "common") {
      if (IsInt(v) && precision >= 0) return Value(IntOf(v));
      return RoundHalfEven(v.ToDouble(), precision);
    }
    double scale = std::pow(10.0, static_cast<double>(precision));
    double x = v.ToDouble() * scale;
    return Value((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
  });
  env->AddFilter("indent", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("indent", {"width", "first", "blank"}));
    std::string indention =
        a[0].is_string() ? a[0].as_string() : std::string(static_cast<size_t>(IsInt(a[0]) ? IntOf(a[0]) : 4), ' ');
    std::string s = v.Str() + "\n";  // Jinja's quirk, so that splitlines sees a trailing empty line
    std::vector<std::string> lines;
    size_t i = 0;
    while (i < s.size()) {
      size_t j = s.find_first_of("\r\n", i);
      lines.push_back(s.substr(i, j - i));
      i = j + ((s[j] == '\r' && j + 1 < s.size() && s[j + 1] == '\n') ? 2 : 1);
    }
    std::string out;
    if (a[2].Truthy()) {
      for (size_t k = 0; k < lines.size(); ++k) out += (k == 0 ? "" : "\n" + indention) + lines[k];
    } else {
      out = lines.empty() ? "" : lines[0];
      for (size_t k = 1; k < lines.size(); ++k) out += "\n" + (lines[k].empty() ? "" : indention + lines[k]);
    }
    if (a[1].Truthy()) out = indention + out;
    return Value(std::move(out));
  });
  env->AddFilter("format", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    if (!args.positional.empty() && !args.kwargs.empty()) {
      return Status::InvalidArgument("format(): can't handle positional and keyword arguments at the same time");
    }
    if (!args.kwargs.empty()) {
      Value d = Value::MakeDict();
      for (const auto& [k, val] : args.kwargs) d.as_dict().Set(k, val);
      return Value(PercentFormat(v.Str(), d));
    }
    return Value(PercentFormat(v.Str(), Value::MakeTuple(args.positional)));
  });
  env->AddFilter("attr", [](CallContext&, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("attr", {"name"}, 1));
    if (v.is_undefined()) return v;
    return Subscript(v, Value(a[0].Str()));
  });
}

}  // namespace

void RegisterStringFilters(Environment* env) { Register(env); }

}  // namespace strata::jinja::internal
