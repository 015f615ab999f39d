// The Python-flavoured members of dbt's context that macros in real packages call:
// set/frozenset, tojson/fromjson, toyaml/fromyaml, local_md5, print, the as_bool/as_number/
// as_native/as_text filters, and modules.re, modules.itertools, modules.datetime.date/datetime
// and modules.pytz.timezone. Each follows the Python function it stands for on the values
// templates have; what differs is listed in README.md (differences from dbt).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <regex>

#include "core/config.h"
#include "core/date.h"
#include "core/hash.h"
#include "transform/dbt_context.h"
#include "transform/jinja/call_context.h"
#include "transform/jinja/callable.h"

namespace strata::transform {

using jinja::Args;
using jinja::CallContext;
using jinja::Value;

namespace {

Value Fn(std::string name, jinja::NativeFn fn) { return Value::Function(std::move(name), std::move(fn)); }

// The items of a list, tuple, dict (its keys) or iterable object; an error otherwise.
Result<std::vector<Value>> ItemsOf(const Value& v, const std::string& fn) {
  if (v.is_list()) return v.as_list().items;
  if (v.is_dict()) {
    std::vector<Value> keys;
    for (const auto& [k, unused] : v.as_dict().entries()) keys.push_back(k);
    return keys;
  }
  if (v.is_string()) {
    std::vector<Value> chars;
    for (char c : v.as_string()) chars.emplace_back(std::string(1, c));
    return chars;
  }
  if (v.is_object() && v.as_object().IsIterable()) return v.as_object().Items();
  if (v.is_undefined() || v.is_none()) return std::vector<Value>();
  return CallContext::Error(fn + "(): '" + v.TypeName() + "' object is not iterable");
}

// ---- YAML out -----------------------------------------------------------------------------

bool PlainYamlScalar(const std::string& s) {
  if (s.empty()) return false;
  static const char* kSpecial[] = {"true", "false", "yes", "no", "null", "~", "on", "off"};
  std::string lower = s;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* k : kSpecial) {
    if (lower == k) return false;
  }
  if (s.find_first_of(":#{}[],&*!|>'\"%@`\n") != std::string::npos) return false;
  if (s.front() == ' ' || s.back() == ' ' || s.front() == '-' || s.front() == '?') return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return *end != '\0';  // a number-looking string must be quoted
}

std::string YamlScalar(const Value& v) {
  if (v.is_none() || v.is_undefined()) return "null";
  if (v.is_bool()) return v.as_bool() ? "true" : "false";
  if (v.is_int() || v.is_float()) return v.Str();
  std::string s = v.Str();
  if (PlainYamlScalar(s)) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "''";
    else
      out.push_back(c);
  }
  return out + "'";
}

void EmitYaml(const Value& v, int indent, std::string* out) {
  std::string pad(static_cast<size_t>(indent), ' ');
  if (v.is_dict() && !v.as_dict().empty()) {
    for (const auto& [k, x] : v.as_dict().entries()) {
      *out += pad + YamlScalar(k) + ":";
      if ((x.is_dict() && !x.as_dict().empty()) || (x.is_list() && !x.as_list().items.empty())) {
        *out += "\n";
        // PyYAML's default style: a mapping's list items are not indented past its key.
        EmitYaml(x, x.is_list() ? indent : indent + 2, out);
      } else {
        *out += " ";
        EmitYaml(x, 0, out);
      }
    }
  } else if (v.is_list() && !v.as_list().items.empty()) {
    for (const auto& x : v.as_list().items) {
      *out += pad + "-";
      if ((x.is_dict() && !x.as_dict().empty()) || (x.is_list() && !x.as_list().items.empty())) {
        *out += "\n";
        EmitYaml(x, indent + 2, out);
      } else {
        *out += " ";
        EmitYaml(x, 0, out);
      }
    }
  } else if (v.is_dict()) {
    *out += "{}\n";
  } else if (v.is_list()) {
    *out += "[]\n";
  } else {
    *out += YamlScalar(v) + "\n";
  }
}

// ---- modules.re ---------------------------------------------------------------------------

constexpr int kIgnoreCase = 2, kMultiline = 8, kDotAll = 16;

// A Python pattern as an ECMAScript one: (?P<name>...) groups become plain groups, (?P=name)
// is not supported, and leading inline flags ((?i), (?m), (?s)) become flags.
Result<std::regex> CompilePattern(std::string pattern, int flags) {
  while (pattern.size() >= 4 && pattern.compare(0, 2, "(?") == 0 && pattern[3] == ')' &&
         std::string("ims").find(pattern[2]) != std::string::npos) {
    flags |= pattern[2] == 'i' ? kIgnoreCase : pattern[2] == 'm' ? kMultiline : kDotAll;
    pattern.erase(0, 4);
  }
  for (size_t pos; (pos = pattern.find("(?P<")) != std::string::npos;) {
    size_t close = pattern.find('>', pos);
    if (close == std::string::npos) break;
    pattern.erase(pos + 1, close - pos);  // "(?P<name>" -> "("
  }
  if (pattern.find("(?P=") != std::string::npos) {
    return CallContext::Error("modules.re: named back-references (?P=name) are not supported");
  }
  auto f = std::regex::ECMAScript;
  if (flags & kIgnoreCase) f |= std::regex::icase;
  if (flags & kMultiline) f |= std::regex::multiline;
  try {
    return std::regex(pattern, f);
  } catch (const std::regex_error& e) {
    return CallContext::Error("modules.re: bad pattern '" + pattern + "': " + e.what());
  }
}

class MatchObject : public jinja::Object {
 public:
  MatchObject(std::vector<std::string> groups, std::vector<bool> matched, size_t start, size_t end)
      : groups_(std::move(groups)), matched_(std::move(matched)), start_(start), end_(end) {}
  std::string TypeName() const override { return "re.Match"; }
  std::vector<std::string> AttrNames() const override { return {"group", "groups", "start", "end", "span"}; }
  Value GetAttr(std::string_view name) const override {
    auto groups = groups_;
    auto matched = matched_;
    auto group = [groups, matched](int64_t i) {
      return matched[static_cast<size_t>(i)] ? Value(groups[static_cast<size_t>(i)]) : Value::None();
    };
    if (name == "group") {
      return Fn("group", [group, groups](CallContext&, const Args& args) -> Result<Value> {
        if (args.positional.empty()) return group(0);
        std::vector<Value> out;
        for (const auto& a : args.positional) {
          if (!a.is_int() || a.as_int() < 0 || a.as_int() >= static_cast<int64_t>(groups.size())) {
            return CallContext::Error("match.group(): no such group " + a.Repr());
          }
          out.push_back(group(a.as_int()));
        }
        return out.size() == 1 ? out[0] : Value::MakeTuple(std::move(out));
      });
    }
    if (name == "groups") {
      return Fn("groups", [group, groups](CallContext&, const Args&) -> Result<Value> {
        std::vector<Value> out;
        for (size_t i = 1; i < groups.size(); ++i) out.push_back(group(static_cast<int64_t>(i)));
        return Value::MakeTuple(std::move(out));
      });
    }
    int64_t s = static_cast<int64_t>(start_), e = static_cast<int64_t>(end_);
    if (name == "start") return Fn("start", [s](CallContext&, const Args&) -> Result<Value> { return Value(s); });
    if (name == "end") return Fn("end", [e](CallContext&, const Args&) -> Result<Value> { return Value(e); });
    if (name == "span") {
      return Fn("span", [s, e](CallContext&, const Args&) -> Result<Value> {
        return Value::MakeTuple({Value(s), Value(e)});
      });
    }
    return jinja::Object::GetAttr(name);
  }
  std::string Str() const override { return "<re.Match object; match='" + groups_[0] + "'>"; }

 private:
  std::vector<std::string> groups_;
  std::vector<bool> matched_;
  size_t start_, end_;
};

Value MatchValue(const std::smatch& m, size_t offset) {
  std::vector<std::string> groups;
  std::vector<bool> matched;
  for (size_t i = 0; i < m.size(); ++i) {
    groups.push_back(m[i].str());
    matched.push_back(m[i].matched);
  }
  size_t start = offset + static_cast<size_t>(m.position(0));
  return Value::FromObject(std::make_shared<MatchObject>(std::move(groups), std::move(matched), start,
                                                         start + static_cast<size_t>(m.length(0))));
}

// Python's replacement template: \1 and \g<1> as ECMAScript's $1; a literal $ doubled.
std::string Replacement(const std::string& repl) {
  std::string out;
  for (size_t i = 0; i < repl.size(); ++i) {
    char c = repl[i];
    if (c == '$') {
      out += "$$";
    } else if (c == '\\' && i + 1 < repl.size() && std::isdigit(static_cast<unsigned char>(repl[i + 1]))) {
      out += "$";
      out.push_back(repl[++i]);
    } else if (c == '\\' && repl.compare(i, 3, "\\g<") == 0) {
      size_t close = repl.find('>', i);
      out += "$" + repl.substr(i + 3, close - i - 3);
      i = close;
    } else if (c == '\\' && i + 1 < repl.size() && repl[i + 1] == 'n') {
      out.push_back('\n');
      ++i;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// re.<fn>(pattern, ...) and pattern.<fn>(...): the pattern is given or bound.
Result<Value> ReCall(const std::string& fn, const std::string& pattern, int flags, const Args& args, size_t first) {
  std::vector<Value> pos(args.positional.begin() + static_cast<long>(std::min(first, args.positional.size())),
                         args.positional.end());
  auto kw = [&](const char* name, size_t index) -> Value {
    if (index < pos.size()) return pos[index];
    if (const Value* v = args.Kwarg(name)) return *v;
    return Value();
  };
  Value flags_v = kw("flags", fn == "sub" ? 4 : fn == "split" ? 3 : 2);
  if (flags_v.is_int()) flags |= static_cast<int>(flags_v.as_int());
  STRATA_ASSIGN_OR_RETURN(std::regex re, CompilePattern(pattern, flags));
  if (fn == "sub") {
    Value repl = kw("repl", 0), text = kw("string", 1), count = kw("count", 2);
    if (!repl.is_string()) return CallContext::Error("re.sub(): the replacement must be a string");
    std::string s = text.Str();
    if (count.is_int() && count.as_int() > 0) {
      std::string out;
      auto begin = s.cbegin();
      int64_t n = 0;
      std::smatch m;
      while (n < count.as_int() && std::regex_search(begin, s.cend(), m, re)) {
        out.append(begin, m[0].first);
        out += m.format(Replacement(repl.as_string()));
        begin = m[0].second;
        if (m.length(0) == 0) {
          if (begin == s.cend()) break;
          out.push_back(*begin++);
        }
        ++n;
      }
      out.append(begin, s.cend());
      return Value(out);
    }
    return Value(std::regex_replace(s, re, Replacement(repl.as_string())));
  }
  std::string s = kw("string", 0).Str();
  if (fn == "search" || fn == "match" || fn == "fullmatch") {
    std::smatch m;
    bool ok = fn == "search"  ? std::regex_search(s, m, re)
              : fn == "match" ? std::regex_search(s, m, re, std::regex_constants::match_continuous)
                              : std::regex_match(s, m, re);
    return ok ? MatchValue(m, 0) : Value::None();
  }
  if (fn == "findall") {
    std::vector<Value> out;
    for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
      const std::smatch& m = *it;
      if (m.size() == 1) {
        out.emplace_back(m[0].str());
      } else if (m.size() == 2) {
        out.emplace_back(m[1].str());
      } else {
        std::vector<Value> g;
        for (size_t i = 1; i < m.size(); ++i) g.emplace_back(m[i].str());
        out.push_back(Value::MakeTuple(std::move(g)));
      }
    }
    return Value::MakeList(std::move(out));
  }
  if (fn == "split") {
    std::vector<Value> out;
    auto begin = s.cbegin();
    for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
      const std::smatch& m = *it;
      if (m.length(0) == 0) continue;
      out.emplace_back(std::string(begin, m[0].first));
      for (size_t i = 1; i < m.size(); ++i) out.push_back(m[i].matched ? Value(m[i].str()) : Value::None());
      begin = m[0].second;
    }
    out.emplace_back(std::string(begin, s.cend()));
    return Value::MakeList(std::move(out));
  }
  return CallContext::Error("modules.re has no function '" + fn + "'");
}

const char* const kReFunctions[] = {"search", "match", "fullmatch", "sub", "findall", "split"};

class PatternObject : public jinja::Object {
 public:
  PatternObject(std::string pattern, int flags) : pattern_(std::move(pattern)), flags_(flags) {}
  std::string TypeName() const override { return "re.Pattern"; }
  Value GetAttr(std::string_view name) const override {
    if (name == "pattern") return Value(pattern_);
    for (const char* f : kReFunctions) {
      if (name == f) {
        std::string fn(f), pattern = pattern_;
        int flags = flags_;
        return Fn(fn, [fn, pattern, flags](CallContext&, const Args& args) -> Result<Value> {
          return ReCall(fn, pattern, flags, args, 0);
        });
      }
    }
    return jinja::Object::GetAttr(name);
  }

 private:
  std::string pattern_;
  int flags_;
};

Value ReModule() {
  Value re = Value::MakeDict();
  for (const char* f : kReFunctions) {
    std::string fn(f);
    re.as_dict().Set(fn, Fn("re." + fn, [fn](CallContext&, const Args& args) -> Result<Value> {
                       const Value* p = args.Find(0, "pattern");
                       if (p == nullptr || !p->is_string())
                         return CallContext::Error("re." + fn + "() needs a pattern");
                       return ReCall(fn, p->as_string(), 0, args, args.positional.empty() ? 0 : 1);
                     }));
  }
  re.as_dict().Set("compile", Fn("re.compile", [](CallContext&, const Args& args) -> Result<Value> {
                     STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("re.compile", {"pattern", "flags"}, 1));
                     int flags = a[1].is_int() ? static_cast<int>(a[1].as_int()) : 0;
                     STRATA_RETURN_IF_ERROR(CompilePattern(a[0].Str(), flags).status());
                     return Value::FromObject(std::make_shared<PatternObject>(a[0].Str(), flags));
                   }));
  re.as_dict().Set(
      "escape", Fn("re.escape", [](CallContext&, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("re.escape", {"pattern"}, 1));
        std::string out;
        for (char c : a[0].Str()) {
          if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && static_cast<unsigned char>(c) < 128) {
            out.push_back('\\');
          }
          out.push_back(c);
        }
        return Value(out);
      }));
  for (auto [name, v] : std::initializer_list<std::pair<const char*, int>>{{"I", kIgnoreCase},
                                                                           {"IGNORECASE", kIgnoreCase},
                                                                           {"M", kMultiline},
                                                                           {"MULTILINE", kMultiline},
                                                                           {"S", kDotAll},
                                                                           {"DOTALL", kDotAll}}) {
    re.as_dict().Set(name, Value(static_cast<int64_t>(v)));
  }
  return re;
}

// ---- modules.itertools --------------------------------------------------------------------

Value ItertoolsModule() {
  Value it = Value::MakeDict();
  it.as_dict().Set("chain", Fn("itertools.chain", [](CallContext&, const Args& args) -> Result<Value> {
                     std::vector<Value> out;
                     for (const auto& a : args.positional) {
                       STRATA_ASSIGN_OR_RETURN(auto items, ItemsOf(a, "itertools.chain"));
                       out.insert(out.end(), items.begin(), items.end());
                     }
                     return Value::MakeList(std::move(out));
                   }));
  it.as_dict().Set("product", Fn("itertools.product", [](CallContext&, const Args& args) -> Result<Value> {
                     std::vector<std::vector<Value>> pools;
                     int64_t repeat = 1;
                     if (const Value* r = args.Kwarg("repeat"); r != nullptr && r->is_int()) repeat = r->as_int();
                     for (int64_t k = 0; k < repeat; ++k) {
                       for (const auto& a : args.positional) {
                         STRATA_ASSIGN_OR_RETURN(auto items, ItemsOf(a, "itertools.product"));
                         pools.push_back(std::move(items));
                       }
                     }
                     std::vector<std::vector<Value>> result = {{}};
                     for (const auto& pool : pools) {
                       std::vector<std::vector<Value>> next;
                       for (const auto& prefix : result) {
                         for (const auto& x : pool) {
                           auto row = prefix;
                           row.push_back(x);
                           next.push_back(std::move(row));
                         }
                       }
                       result = std::move(next);
                       if (result.size() > 1000000)
                         return CallContext::Error("itertools.product: more than 1,000,000 items");
                     }
                     std::vector<Value> out;
                     for (auto& r : result) out.push_back(Value::MakeTuple(std::move(r)));
                     return Value::MakeList(std::move(out));
                   }));
  it.as_dict().Set("combinations", Fn("itertools.combinations", [](CallContext&, const Args& args) -> Result<Value> {
                     STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("itertools.combinations", {"iterable", "r"}, 2));
                     STRATA_ASSIGN_OR_RETURN(auto pool, ItemsOf(a[0], "itertools.combinations"));
                     if (!a[1].is_int() || a[1].as_int() < 0)
                       return CallContext::Error("itertools.combinations: r must be >= 0");
                     const size_t r = static_cast<size_t>(a[1].as_int()), n = pool.size();
                     std::vector<Value> out;
                     if (r > n) return Value::MakeList();
                     std::vector<size_t> idx(r);
                     for (size_t i = 0; i < r; ++i) idx[i] = i;
                     for (;;) {
                       std::vector<Value> row;
                       for (size_t i : idx) row.push_back(pool[i]);
                       out.push_back(Value::MakeTuple(std::move(row)));
                       if (out.size() > 1000000)
                         return CallContext::Error("itertools.combinations: more than 1,000,000 items");
                       size_t i = r;
                       while (i > 0 && idx[i - 1] == i - 1 + n - r) --i;
                       if (i == 0) break;
                       ++idx[i - 1];
                       for (size_t j = i; j < r; ++j) idx[j] = idx[j - 1] + 1;
                     }
                     return Value::MakeList(std::move(out));
                   }));
  return it;
}

// ---- modules.datetime.date / datetime, modules.pytz ---------------------------------------

// A date or naive datetime value: str() and isoformat() as Python's, strftime, parts.
class DateValue : public jinja::Object {
 public:
  DateValue(int64_t days, int64_t seconds, bool has_time, std::string tz)
      : days_(days), seconds_(seconds), has_time_(has_time), tz_(std::move(tz)) {}
  std::string TypeName() const override { return has_time_ ? "datetime" : "date"; }
  std::string Str() const override {
    std::string out = Date::FromDays(days_).ToString();
    if (!has_time_) return out;
    char buf[16];
    std::snprintf(buf, sizeof buf, " %02d:%02d:%02d", static_cast<int>(seconds_ / 3600),
                  static_cast<int>(seconds_ / 60 % 60), static_cast<int>(seconds_ % 60));
    return out + buf + (tz_ == "UTC" ? "+00:00" : "");
  }
  Value GetAttr(std::string_view name) const override {
    int y;
    unsigned m, d;
    Date::FromDays(days_).ToYmd(&y, &m, &d);
    if (name == "year") return Value(static_cast<int64_t>(y));
    if (name == "month") return Value(static_cast<int64_t>(m));
    if (name == "day") return Value(static_cast<int64_t>(d));
    if (name == "hour") return Value(seconds_ / 3600);
    if (name == "minute") return Value(seconds_ / 60 % 60);
    if (name == "second") return Value(seconds_ % 60);
    std::string text = Str();
    if (name == "isoformat") {
      std::string iso = text;
      if (has_time_) iso[10] = 'T';
      return Fn("isoformat", [iso](CallContext&, const Args&) -> Result<Value> { return Value(iso); });
    }
    if (name == "strftime") return StrftimeMethod(days_ * 86400 + seconds_);
    if (name == "date") {
      int64_t days = days_;
      return Fn("date", [days](CallContext&, const Args&) -> Result<Value> {
        return Value::FromObject(std::make_shared<DateValue>(days, 0, false, ""));
      });
    }
    return jinja::Object::GetAttr(name);
  }
  std::vector<std::string> AttrNames() const override {
    return {"year", "month", "day", "hour", "minute", "second", "isoformat", "strftime", "date"};
  }

 private:
  int64_t days_, seconds_;
  bool has_time_;
  std::string tz_;
};

// A class-like value: callable (its constructor) with attributes (its class methods), as
// datetime.datetime is both datetime.datetime(2024, 1, 1) and datetime.datetime.now().
class CallableNamespace : public jinja::Object {
 public:
  CallableNamespace(std::string name, Value attrs, jinja::NativeFn call)
      : name_(std::move(name)), attrs_(std::move(attrs)), call_(std::move(call)) {}
  std::string TypeName() const override { return name_; }
  bool IsCallable() const override { return true; }
  Result<Value> Call(CallContext& ctx, const Args& args) const override { return call_(ctx, args); }
  Value GetAttr(std::string_view name) const override {
    if (attrs_.is_dict()) {
      if (const Value* v = attrs_.as_dict().Find(name)) return *v;
    }
    return jinja::Object::GetAttr(name);
  }
  std::vector<std::string> AttrNames() const override {
    std::vector<std::string> out;
    if (attrs_.is_dict()) {
      for (const auto& [k, v] : attrs_.as_dict().entries()) out.push_back(k.Str());
    }
    return out;
  }

 private:
  std::string name_;
  Value attrs_;
  jinja::NativeFn call_;
};

// Days since the epoch of year-month-day, refusing impossible dates as Python does.
Result<int64_t> DaysOf(const Value& y, const Value& m, const Value& d, const char* fn) {
  if (!y.is_int() || !m.is_int() || !d.is_int()) {
    return CallContext::Error(std::string(fn) + "(): year, month and day must be integers");
  }
  char text[32];
  std::snprintf(text, sizeof text, "%04lld-%02lld-%02lld", static_cast<long long>(y.as_int()),
                static_cast<long long>(m.as_int()), static_cast<long long>(d.as_int()));
  auto date = Date::Parse(text);
  if (!date.ok()) return CallContext::Error(std::string(fn) + "(): day is out of range for month (" + text + ")");
  return date->days();
}

}  // namespace

void InstallContextModules(jinja::Environment* env) {
  // set() and frozenset(): the distinct items, sorted, as a list (so that two sets compare
  // equal when they hold the same items, whatever the order they were built in).
  auto make_set = [](CallContext&, const Args& args) -> Result<Value> {
    std::vector<Value> items;
    if (!args.positional.empty()) {
      STRATA_ASSIGN_OR_RETURN(items, ItemsOf(args.positional[0], "set"));
    }
    std::vector<Value> out;
    for (auto& v : items) {
      if (std::none_of(out.begin(), out.end(), [&v](const Value& x) { return x.Equals(v); })) out.push_back(v);
    }
    std::stable_sort(out.begin(), out.end(), [](const Value& a, const Value& b) {
      if (a.is_number() && b.is_number()) return a.ToDouble() < b.ToDouble();
      return a.Str() < b.Str();
    });
    return Value::MakeList(std::move(out));
  };
  env->AddFunction("set", make_set);
  env->AddFunction("frozenset", make_set);

  env->AddFunction("tojson", [](CallContext&, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("tojson", {"value", "default", "sort_keys"}, 1));
    auto text = a[0].ToJson(-1, a[2].Truthy());
    if (!text.ok()) return a[1].is_undefined() ? Value::None() : a[1];
    return Value(*text);
  });
  env->AddFunction("fromjson", [](CallContext&, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("fromjson", {"string", "default"}, 1));
    auto v = Value::FromJson(a[0].Str());
    if (!v.ok()) return a[1].is_undefined() ? Value::None() : a[1];
    return *v;
  });
  env->AddFunction("toyaml", [](CallContext&, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("toyaml", {"value", "default", "sort_keys"}, 1));
    std::string out;
    EmitYaml(a[0], 0, &out);
    return Value(out);
  });
  env->AddFunction("fromyaml", [](CallContext& ctx, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("fromyaml", {"value", "default"}, 1));
    auto node = ConfigNode::Parse(a[0].Str(), ctx.where());
    if (!node.ok()) return a[1].is_undefined() ? Value::None() : a[1];
    return JsonToValue(node->ToJson());
  });
  env->AddFunction("local_md5", [](CallContext&, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("local_md5", {"value"}, 1));
    return Value(Md5Hex(a[0].Str()));
  });
  env->AddFunction("print", [](CallContext&, const Args& args) -> Result<Value> {
    std::string line;
    for (size_t i = 0; i < args.positional.size(); ++i) line += (i ? " " : "") + args.positional[i].Str();
    std::cout << line << std::endl;
    return Value("");
  });

  // dbt's type filters: as_bool and as_number read text as a native value; as_text is str().
  env->AddFilter("as_text", [](CallContext&, const Value& v, const Args&) -> Result<Value> { return Value(v.Str()); });
  auto native = [](CallContext&, const Value& v, const Args&) -> Result<Value> {
    if (!v.is_string()) return v;
    auto parsed = ConfigNode::Parse(v.as_string(), "as_native");
    if (!parsed.ok()) return v;
    return JsonToValue(parsed->ToJson());
  };
  env->AddFilter("as_native", native);
  env->AddFilter("as_bool", [native](CallContext& ctx, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(Value n, native(ctx, v, args));
    if (!n.is_bool()) return CallContext::Error("as_bool: " + v.Repr() + " is not a boolean");
    return n;
  });
  env->AddFilter("as_number", [native](CallContext& ctx, const Value& v, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(Value n, native(ctx, v, args));
    if (!n.is_int() && !n.is_float()) return CallContext::Error("as_number: " + v.Repr() + " is not a number");
    return n;
  });

  // modules: re, itertools, and the datetime constructors beside now()/utcnow().
  const Value* existing = env->FindGlobal("modules");
  Value modules = existing != nullptr && existing->is_dict() ? *existing : Value::MakeDict();
  modules.as_dict().Set("re", ReModule());
  modules.as_dict().Set("itertools", ItertoolsModule());
  Value datetime_mod = modules.as_dict().Find("datetime") ? *modules.as_dict().Find("datetime") : Value::MakeDict();
  datetime_mod.as_dict().Set("date", Fn("datetime.date", [](CallContext&, const Args& args) -> Result<Value> {
                               STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("datetime.date", {"year", "month", "day"}, 3));
                               STRATA_ASSIGN_OR_RETURN(int64_t days, DaysOf(a[0], a[1], a[2], "datetime.date"));
                               return Value::FromObject(std::make_shared<DateValue>(days, 0, false, ""));
                             }));
  Value cls = datetime_mod.as_dict().Find("datetime") ? *datetime_mod.as_dict().Find("datetime") : Value::MakeDict();
  // datetime.datetime(...) builds a value; datetime.datetime.now() still works.
  jinja::NativeFn ctor = [](CallContext&, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(
        auto a, args.Bind("datetime.datetime",
                          {"year", "month", "day", "hour", "minute", "second", "microsecond", "tzinfo"}, 3));
    STRATA_ASSIGN_OR_RETURN(int64_t days, DaysOf(a[0], a[1], a[2], "datetime.datetime"));
    auto part = [](const Value& v) { return v.is_int() ? v.as_int() : 0; };
    int64_t secs = part(a[3]) * 3600 + part(a[4]) * 60 + part(a[5]);
    std::string tz = a[7].is_undefined() || a[7].is_none() ? "" : a[7].Str();
    return Value::FromObject(std::make_shared<DateValue>(days, secs, true, tz));
  };
  datetime_mod.as_dict().Set("datetime",
                             Value::FromObject(std::make_shared<CallableNamespace>("type", cls, std::move(ctor))));
  modules.as_dict().Set("datetime", datetime_mod);
  Value pytz = Value::MakeDict();
  pytz.as_dict().Set("timezone", Fn("pytz.timezone", [](CallContext&, const Args& args) -> Result<Value> {
                       STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("pytz.timezone", {"zone"}, 1));
                       return Value(a[0].Str());
                     }));
  pytz.as_dict().Set("utc", Value("UTC"));
  modules.as_dict().Set("pytz", pytz);
  env->AddGlobal("modules", modules);
}

}  // namespace strata::transform
