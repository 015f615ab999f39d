#include "transform/jinja/internal/methods.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "transform/jinja/internal/ops.h"
#include "transform/jinja/internal/source.h"
#include "transform/jinja/internal/util.h"

namespace strata::jinja::internal {
namespace {

constexpr std::string_view kStringMethods[] = {
    "upper",      "lower",    "strip",   "lstrip",     "rstrip",       "split",        "rsplit",  "replace",
    "startswith", "endswith", "format",  "join",       "title",        "capitalize",   "find",    "rfind",
    "count",      "isdigit",  "isalpha", "isalnum",    "isupper",      "islower",      "isspace", "zfill",
    "ljust",      "rjust",    "center",  "splitlines", "removeprefix", "removesuffix", "index"};
constexpr std::string_view kListMethods[] = {"append", "extend",  "pop",  "index", "insert", "remove",
                                             "count",  "reverse", "sort", "copy",  "clear"};
constexpr std::string_view kTupleMethods[] = {"index", "count"};
constexpr std::string_view kDictMethods[] = {"items", "keys",       "values", "get",  "update",
                                             "pop",   "setdefault", "copy",   "clear"};

template <size_t N>
bool In(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

std::string Str(const Value& v, const char* method, const char* what) {
  if (!v.is_string()) Fail(std::string(method) + "() " + what + " must be str, not " + v.TypeName());
  return v.as_string();
}

int64_t Int(const Value& v, const char* method) {
  if (v.is_bool()) return v.as_bool() ? 1 : 0;
  if (!v.is_int()) Fail(std::string(method) + "() expects an integer, not " + v.TypeName());
  return v.as_int();
}

std::vector<Value> Bind(const Args& args, const char* method, std::initializer_list<std::string_view> params,
                        size_t required) {
  auto r = args.Bind(method, params, required);
  if (!r.ok()) Fail(r.status().message());
  return std::move(*r);
}

bool AllChars(std::string_view s, int (*pred)(int)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string Justify(const std::string& s, int64_t width, const Value& fill, char how) {
  std::string f = fill.is_undefined() ? " " : Str(fill, "justify", "fill character");
  if (CharCount(f) != 1) Fail("the fill character must be exactly one character long");
  int64_t len = static_cast<int64_t>(CharCount(s));
  if (width <= len) return s;
  int64_t pad = width - len;
  auto rep = [&](int64_t n) {
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += f;
    return out;
  };
  if (how == '<') return s + rep(pad);
  if (how == '>') return rep(pad) + s;
  int64_t left = pad / 2 + (pad & width & 1);
  return rep(left) + s + rep(pad - left);
}

Value StringMethod(const std::string& s, std::string_view name, const Args& args) {
  const std::string method(name);
  const char* m = method.c_str();
  if (name == "upper") return Value(AsciiUpper(s));
  if (name == "lower") return Value(AsciiLower(s));
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    auto a = Bind(args, m, {"chars"}, 0);
    return Value(Strip(s, a[0], name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    auto a = Bind(args, m, {"sep", "maxsplit"}, 0);
    int64_t maxsplit = a[1].is_undefined() ? -1 : Int(a[1], m);
    std::vector<Value> parts;
    for (auto& p : Split(s, a[0], maxsplit, name == "rsplit")) parts.emplace_back(std::move(p));
    return Value::MakeList(std::move(parts));
  }
  if (name == "splitlines") {
    std::vector<Value> parts;
    size_t i = 0;
    while (i < s.size()) {
      size_t j = s.find_first_of("\r\n", i);
      if (j == std::string::npos) {
        parts.emplace_back(s.substr(i));
        break;
      }
      parts.emplace_back(s.substr(i, j - i));
      i = j + ((s[j] == '\r' && j + 1 < s.size() && s[j + 1] == '\n') ? 2 : 1);
    }
    return Value::MakeList(std::move(parts));
  }
  if (name == "replace") {
    auto a = Bind(args, m, {"old", "new", "count"}, 2);
    int64_t count = a[2].is_undefined() ? -1 : Int(a[2], m);
    return Value(Replace(s, Str(a[0], m, "old"), Str(a[1], m, "new"), count));
  }
  if (name == "startswith" || name == "endswith") {
    auto a = Bind(args, m, {"prefix"}, 1);
    std::vector<Value> options = a[0].is_list() ? a[0].as_list().items : std::vector<Value>{a[0]};
    for (const Value& o : options) {
      std::string p = Str(o, m, "argument");
      bool hit = name == "startswith" ? s.compare(0, p.size(), p) == 0
                                      : s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
      if (hit) return Value(true);
    }
    return Value(false);
  }
  if (name == "removeprefix" || name == "removesuffix") {
    auto a = Bind(args, m, {"affix"}, 1);
    std::string p = Str(a[0], m, "argument");
    if (name == "removeprefix" && s.compare(0, p.size(), p) == 0) return Value(s.substr(p.size()));
    if (name == "removesuffix" && !p.empty() && s.size() >= p.size() &&
        s.compare(s.size() - p.size(), p.size(), p) == 0) {
      return Value(s.substr(0, s.size() - p.size()));
    }
    return Value(s);
  }
  if (name == "format") return Value(PyFormat(s, args));
  if (name == "join") {
    auto a = Bind(args, m, {"iterable"}, 1);
    std::string out;
    size_t i = 0;
    for (const Value& item : Iterate(a[0])) {
      if (!item.is_string()) {
        Fail("sequence item " + std::to_string(i) + ": expected str instance, " + item.TypeName() + " found");
      }
      if (i++ > 0) out += s;
      out += item.as_string();
    }
    return Value(std::move(out));
  }
  if (name == "title") return Value(PyTitle(s));
  if (name == "capitalize") return Value(Capitalize(s));
  if (name == "find" || name == "rfind" || name == "index") {
    auto a = Bind(args, m, {"sub"}, 1);
    std::string sub = Str(a[0], m, "argument");
    size_t pos = name == "rfind" ? s.rfind(sub) : s.find(sub);
    if (pos == std::string::npos) {
      if (name == "index") Fail("substring not found");
      return Value(-1);
    }
    return Value(static_cast<int64_t>(CharCount(std::string_view(s).substr(0, pos))));
  }
  if (name == "count") {
    auto a = Bind(args, m, {"sub"}, 1);
    std::string sub = Str(a[0], m, "argument");
    if (sub.empty()) return Value(static_cast<int64_t>(CharCount(s) + 1));
    int64_t n = 0;
    for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
    return Value(n);
  }
  if (name == "isdigit") return Value(AllChars(s, [](int c) { return c >= '0' && c <= '9' ? 1 : 0; }));
  if (name == "isalpha") return Value(AllChars(s, [](int c) { return std::isalpha(c); }));
  if (name == "isalnum") return Value(AllChars(s, [](int c) { return std::isalnum(c); }));
  if (name == "isspace") return Value(AllChars(s, [](int c) { return std::isspace(c); }));
  if (name == "isupper" || name == "islower") {
    bool cased = false;
    for (char c : s) {
      if (std::isalpha(static_cast<unsigned char>(c))) {
        cased = true;
        if ((name == "isupper") != (std::isupper(static_cast<unsigned char>(c)) != 0)) return Value(false);
      }
    }
    return Value(cased);
  }
  if (name == "zfill") {
    auto a = Bind(args, m, {"width"}, 1);
    int64_t width = Int(a[0], m);
    int64_t len = static_cast<int64_t>(CharCount(s));
    if (width <= len) return Value(s);
    size_t sign = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
    return Value(s.substr(0, sign) + std::string(static_cast<size_t>(width - len), '0') + s.substr(sign));
  }
  if (name == "ljust" || name == "rjust" || name == "center") {
    auto a = Bind(args, m, {"width", "fillchar"}, 1);
    return Value(Justify(s, Int(a[0], m), a[1], name == "ljust" ? '<' : name == "rjust" ? '>' : '^'));
  }
  Fail("'str' object has no attribute '" + std::string(name) + "'");
}

Value ListMethod(const Value& self, std::string_view name, const Args& args) {
  const std::string method(name);
  const char* m = method.c_str();
  std::vector<Value>& items = self.as_list().items;
  if (name == "append") {
    auto a = Bind(args, m, {"object"}, 1);
    items.push_back(a[0]);
    return Value::None();
  }
  if (name == "extend") {
    auto a = Bind(args, m, {"iterable"}, 1);
    std::vector<Value> more = Iterate(a[0]);  // copy first: xs.extend(xs) is fine
    items.insert(items.end(), more.begin(), more.end());
    return Value::None();
  }
  if (name == "insert") {
    auto a = Bind(args, m, {"index", "object"}, 2);
    int64_t n = static_cast<int64_t>(items.size());
    int64_t i = Int(a[0], m);
    if (i < 0) i = std::max<int64_t>(0, i + n);
    i = std::min(i, n);
    items.insert(items.begin() + i, a[1]);
    return Value::None();
  }
  if (name == "pop") {
    auto a = Bind(args, m, {"index"}, 0);
    if (items.empty()) Fail("pop from empty list");
    int64_t n = static_cast<int64_t>(items.size());
    int64_t i = a[0].is_undefined() ? n - 1 : Int(a[0], m);
    if (i < 0) i += n;
    if (i < 0 || i >= n) Fail("pop index out of range");
    Value v = items[static_cast<size_t>(i)];
    items.erase(items.begin() + i);
    return v;
  }
  if (name == "index" || name == "remove" || name == "count") {
    auto a = Bind(args, m, {"value"}, 1);
    int64_t count = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].Equals(a[0])) continue;
      if (name == "index") return Value(static_cast<int64_t>(i));
      if (name == "remove") {
        items.erase(items.begin() + static_cast<std::ptrdiff_t>(i));
        return Value::None();
      }
      ++count;
    }
    if (name == "count") return Value(count);
    Fail(a[0].Repr() + " is not in list");
  }
  if (name == "reverse") {
    std::reverse(items.begin(), items.end());
    return Value::None();
  }
  if (name == "sort") {
    auto a = Bind(args, m, {"reverse"}, 0);
    bool reverse = a[0].Truthy();
    std::stable_sort(items.begin(), items.end(),
                     [&](const Value& x, const Value& y) { return reverse ? Order(y, x) < 0 : Order(x, y) < 0; });
    return Value::None();
  }
  if (name == "copy") return self.as_list().is_tuple ? Value::MakeTuple(items) : Value::MakeList(items);
  if (name == "clear") {
    items.clear();
    return Value::None();
  }
  Fail("'list' object has no attribute '" + std::string(name) + "'");
}

Value DictMethod(const Value& self, std::string_view name, const Args& args) {
  const std::string method(name);
  const char* m = method.c_str();
  Dict& d = self.as_dict();
  if (name == "items" || name == "keys" || name == "values") {
    Bind(args, m, {}, 0);
    std::vector<Value> out;
    out.reserve(d.size());
    for (const auto& [k, v] : d.entries()) {
      if (name == "items") {
        out.push_back(Value::MakeTuple({k, v}));
      } else {
        out.push_back(name == "keys" ? k : v);
      }
    }
    return Value::MakeList(std::move(out));
  }
  if (name == "get") {
    auto a = Bind(args, m, {"key", "default"}, 1);
    const Value* v = d.FindKey(a[0]);
    if (v != nullptr) return *v;
    return a[1].is_undefined() ? Value::None() : a[1];
  }
  if (name == "update") {
    if (args.positional.size() > 1) Fail("update expected at most 1 argument");
    if (!args.positional.empty()) {
      const Value& other = args.positional[0];
      if (other.is_dict()) {
        auto entries = other.as_dict().entries();  // copy: d.update(d) is fine
        for (auto& [k, v] : entries) d.SetKey(k, v);
      } else {
        for (const Value& pair : Iterate(other)) {
          if (!pair.is_list() || pair.as_list().items.size() != 2)
            Fail("dictionary update sequence element must be a pair");
          d.SetKey(pair.as_list().items[0], pair.as_list().items[1]);
        }
      }
    }
    for (const auto& [k, v] : args.kwargs) d.Set(k, v);
    return Value::None();
  }
  if (name == "pop") {
    auto a = Bind(args, m, {"key", "default"}, 1);
    const Value* v = d.FindKey(a[0]);
    if (v == nullptr) {
      if (a[1].is_undefined()) Fail("KeyError: " + a[0].Repr());
      return a[1];
    }
    Value out = *v;
    d.EraseKey(a[0]);
    return out;
  }
  if (name == "setdefault") {
    auto a = Bind(args, m, {"key", "default"}, 1);
    if (const Value* v = d.FindKey(a[0])) return *v;
    CheckHashable(a[0]);
    Value def = a[1].is_undefined() ? Value::None() : a[1];
    d.SetKey(a[0], def);
    return def;
  }
  if (name == "copy") {
    Value out = Value::MakeDict();
    for (const auto& [k, v] : d.entries()) out.as_dict().SetKey(k, v);
    return out;
  }
  if (name == "clear") {
    d.Clear();
    return Value::None();
  }
  Fail("'dict' object has no attribute '" + std::string(name) + "'");
}

}  // namespace

bool HasMethod(const Value& obj, std::string_view name) {
  switch (obj.kind()) {
    case Value::Kind::kString:
      return In(kStringMethods, name);
    case Value::Kind::kList:
      return obj.as_list().is_tuple ? In(kTupleMethods, name) : In(kListMethods, name);
    case Value::Kind::kDict:
      return !obj.as_dict().is_namespace() && In(kDictMethods, name);
    default:
      return false;
  }
}

Value CallMethod(const Value& obj, std::string_view name, const Args& args) {
  switch (obj.kind()) {
    case Value::Kind::kString:
      return StringMethod(obj.as_string(), name, args);
    case Value::Kind::kList:
      return ListMethod(obj, name, args);
    case Value::Kind::kDict:
      return DictMethod(obj, name, args);
    default:
      Fail("'" + obj.TypeName() + "' object has no attribute '" + std::string(name) + "'");
  }
}

Value BoundMethod(const Value& obj, const std::string& name) {
  return Value::Function(
      name, [obj, name](CallContext&, const Args& args) -> Result<Value> { return CallMethod(obj, name, args); });
}

std::string Strip(std::string_view s, const Value& chars, bool left, bool right) {
  std::string set = chars.is_undefined() || chars.is_none() ? std::string(" \t\n\r\f\v") : chars.Str();
  size_t b = 0, e = s.size();
  if (left) {
    while (b < e && set.find(s[b]) != std::string::npos) ++b;
  }
  if (right) {
    while (e > b && set.find(s[e - 1]) != std::string::npos) --e;
  }
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> Split(std::string_view s, const Value& sep, int64_t maxsplit, bool from_right) {
  std::vector<std::string> parts;
  if (sep.is_undefined() || sep.is_none()) {
    // Runs of whitespace; no empty strings.
    std::vector<std::pair<size_t, size_t>> words;
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && IsSpaceChar(s[i])) ++i;
      if (i >= s.size()) break;
      size_t j = i;
      while (j < s.size() && !IsSpaceChar(s[j])) ++j;
      words.push_back({i, j});
      i = j;
    }
    if (maxsplit < 0 || static_cast<size_t>(maxsplit) + 1 >= words.size()) {
      for (auto [b, e] : words) parts.emplace_back(s.substr(b, e - b));
      return parts;
    }
    size_t keep = static_cast<size_t>(maxsplit);
    if (!from_right) {
      for (size_t k = 0; k < keep; ++k) parts.emplace_back(s.substr(words[k].first, words[k].second - words[k].first));
      std::string rest(s.substr(words[keep].first));
      while (!rest.empty() && IsSpaceChar(rest.back())) rest.pop_back();
      parts.push_back(rest);
    } else {
      size_t first = words.size() - keep;
      std::string head(s.substr(0, words[first - 1].second));
      size_t b = 0;
      while (b < head.size() && IsSpaceChar(head[b])) ++b;
      parts.push_back(head.substr(b));
      for (size_t k = first; k < words.size(); ++k) {
        parts.emplace_back(s.substr(words[k].first, words[k].second - words[k].first));
      }
    }
    return parts;
  }
  if (!sep.is_string()) Fail("must be str or None, not " + sep.TypeName());
  const std::string& d = sep.as_string();
  if (d.empty()) Fail("empty separator");
  std::vector<size_t> hits;
  for (size_t p = s.find(d); p != std::string::npos; p = s.find(d, p + d.size())) hits.push_back(p);
  if (maxsplit >= 0 && hits.size() > static_cast<size_t>(maxsplit)) {
    if (from_right) {
      hits.erase(hits.begin(), hits.end() - maxsplit);
    } else {
      hits.resize(static_cast<size_t>(maxsplit));
    }
  }
  size_t start = 0;
  for (size_t p : hits) {
    parts.emplace_back(s.substr(start, p - start));
    start = p + d.size();
  }
  parts.emplace_back(s.substr(start));
  return parts;
}

std::string Replace(std::string_view s, std::string_view from, std::string_view to, int64_t count) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` between characters
    auto chars = Chars(s);
    int64_t n = 0;
    for (size_t i = 0; i <= chars.size(); ++i) {
      if (count < 0 || n < count) {
        out += to;
        ++n;
      }
      if (i < chars.size()) out += chars[i];
    }
    return out;
  }
  size_t start = 0;
  int64_t n = 0;
  for (size_t p = s.find(from); p != std::string::npos && (count < 0 || n < count); p = s.find(from, start)) {
    out.append(s.substr(start, p - start));
    out.append(to);
    start = p + from.size();
    ++n;
  }
  out.append(s.substr(start));
  return out;
}

std::string PyTitle(std::string_view s) {
  std::string out(s);
  bool prev_cased = false;
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalpha(u)) {
      c = static_cast<char>(prev_cased ? std::tolower(u) : std::toupper(u));
      prev_cased = true;
    } else {
      prev_cased = u >= 0x80;
    }
  }
  return out;
}

std::string Capitalize(std::string_view s) {
  std::string out = AsciiLower(s);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace strata::jinja::internal
