#include "transform/jinja/value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "transform/jinja/callable.h"
#include "transform/jinja/internal/util.h"

namespace strata::jinja {

using internal::FloatRepr;
using internal::StringRepr;

struct Value::UndefinedInfo {
  std::string hint;
  std::string name;
  Value owner;
};

namespace {

constexpr int kMaxNesting = 200;  // self-containing lists print as [...] beyond this

const Value& EmptyValue() {
  static const Value* v = new Value();
  return *v;
}

void AppendRepr(const Value& v, std::string* out, int depth);

void AppendItems(const std::vector<Value>& items, std::string* out, int depth) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) *out += ", ";
    AppendRepr(items[i], out, depth + 1);
  }
}

void AppendRepr(const Value& v, std::string* out, int depth) {
  if (depth > kMaxNesting) {
    *out += "...";
    return;
  }
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      *out += "Undefined";
      return;
    case Value::Kind::kString:
      *out += StringRepr(v.as_string());
      return;
    case Value::Kind::kList: {
      const List& l = v.as_list();
      *out += l.is_tuple ? "(" : "[";
      AppendItems(l.items, out, depth);
      if (l.is_tuple && l.items.size() == 1) *out += ",";
      *out += l.is_tuple ? ")" : "]";
      return;
    }
    case Value::Kind::kDict: {
      const Dict& d = v.as_dict();
      *out += d.is_namespace() ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, val] : d.entries()) {
        if (!first) *out += ", ";
        first = false;
        AppendRepr(k, out, depth + 1);
        *out += ": ";
        AppendRepr(val, out, depth + 1);
      }
      *out += d.is_namespace() ? "}>" : "}";
      return;
    }
    case Value::Kind::kCallable: {
      const Callable& c = v.as_callable();
      *out += c.is_macro() ? "<Macro '" + c.name() + "'>" : "<function " + c.name() + ">";
      return;
    }
    default:
      v.AppendStr(out);
  }
}

bool IntLike(const Value& v) { return v.is_int() || v.is_bool(); }
int64_t IntOf(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); }

bool EqualsImpl(const Value& a, const Value& b, int depth) {
  if (a.is_number() && b.is_number()) {
    if (IntLike(a) && IntLike(b)) return IntOf(a) == IntOf(b);
    return a.ToDouble() == b.ToDouble();
  }
  if (a.kind() != b.kind()) return false;
  if (depth > kMaxNesting) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kString:
      return a.as_string() == b.as_string();
    case Value::Kind::kList: {
      if (a.list_ptr() == b.list_ptr()) return true;
      const auto& x = a.as_list().items;
      const auto& y = b.as_list().items;
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!EqualsImpl(x[i], y[i], depth + 1)) return false;
      }
      return true;
    }
    case Value::Kind::kDict: {
      if (a.dict_ptr() == b.dict_ptr()) return true;
      const Dict& x = a.as_dict();
      const Dict& y = b.as_dict();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x.entries()) {
        const Value* other = y.FindKey(k);
        if (other == nullptr || !EqualsImpl(v, *other, depth + 1)) return false;
      }
      return true;
    }
    case Value::Kind::kCallable:
      return a.callable_ptr() == b.callable_ptr();
    case Value::Kind::kObject:
      return a.object_ptr() == b.object_ptr();
    default:
      return false;
  }
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    char buf[16];
    switch (c) {
      case '"':
        *out += "\\\"";
        continue;
      case '\\':
        *out += "\\\\";
        continue;
      case '\n':
        *out += "\\n";
        continue;
      case '\r':
        *out += "\\r";
        continue;
      case '\t':
        *out += "\\t";
        continue;
      case '\b':
        *out += "\\b";
        continue;
      case '\f':
        *out += "\\f";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7F) {
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      *out += buf;
      continue;
    }
    if (c < 0x80) {
      out->push_back(static_cast<char>(c));
      continue;
    }
    // Non-ASCII: decode UTF-8 and write \uXXXX (surrogate pairs above the BMP), like Python.
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    uint32_t cp = len == 4 ? (c & 0x07) : len == 3 ? (c & 0x0F) : len == 2 ? (c & 0x1F) : c;
    for (int k = 1; k < len && i + 1 < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[++i]) & 0x3F);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
    } else {
      std::snprintf(buf, sizeof(buf), "\\u%04x", cp);
    }
    *out += buf;
  }
  out->push_back('"');
}

Status JsonImpl(const Value& v, int indent, bool sort_keys, int depth, std::string* out) {
  if (depth > kMaxNesting) return Status::InvalidArgument("value is nested too deeply for JSON");
  auto newline = [&](int level) {
    if (indent < 0) return;
    out->push_back('\n');
    out->append(static_cast<size_t>(indent) * level, ' ');
  };
  const char* sep = indent < 0 ? ", " : ",";
  switch (v.kind()) {
    case Value::Kind::kNone:
      *out += "null";
      return Status::OK();
    case Value::Kind::kBool:
      *out += v.as_bool() ? "true" : "false";
      return Status::OK();
    case Value::Kind::kInt:
      *out += std::to_string(v.as_int());
      return Status::OK();
    case Value::Kind::kFloat: {
      double d = v.as_float();
      *out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity") : FloatRepr(d);
      return Status::OK();
    }
    case Value::Kind::kString:
      AppendJsonString(v.as_string(), out);
      return Status::OK();
    case Value::Kind::kList: {
      const auto& items = v.as_list().items;
      if (items.empty()) {
        *out += "[]";
        return Status::OK();
      }
      out->push_back('[');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) *out += sep;
        newline(depth + 1);
        STRATA_RETURN_IF_ERROR(JsonImpl(items[i], indent, sort_keys, depth + 1, out));
      }
      newline(depth);
      out->push_back(']');
      return Status::OK();
    }
    case Value::Kind::kDict: {
      std::vector<std::pair<std::string, const Value*>> entries;
      for (const auto& [k, val] : v.as_dict().entries()) {
        std::string key;
        if (k.is_string()) {
          key = k.as_string();
        } else if (k.is_none()) {
          key = "null";
        } else if (k.is_bool()) {
          key = k.as_bool() ? "true" : "false";
        } else if (k.is_int() || k.is_float()) {
          key = k.Str();
        } else {
          return Status::InvalidArgument("JSON keys must be str, int, float, bool or None, not " + k.TypeName());
        }
        entries.emplace_back(std::move(key), &val);
      }
      if (sort_keys) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
      }
      if (entries.empty()) {
        *out += "{}";
        return Status::OK();
      }
      out->push_back('{');
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) *out += sep;
        newline(depth + 1);
        AppendJsonString(entries[i].first, out);
        *out += ": ";
        STRATA_RETURN_IF_ERROR(JsonImpl(*entries[i].second, indent, sort_keys, depth + 1, out));
      }
      newline(depth);
      out->push_back('}');
      return Status::OK();
    }
    default:
      return Status::InvalidArgument("Object of type " + v.TypeName() + " is not JSON serializable");
  }
}

Value FromNlohmann(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value::None();
    case nlohmann::json::value_t::boolean:
      return Value(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(j.get<double>());
    case nlohmann::json::value_t::string:
      return Value(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      for (const auto& e : j) items.push_back(FromNlohmann(e));
      return Value::MakeList(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Value d = Value::MakeDict();
      for (const auto& [k, e] : j.items()) d.as_dict().Set(std::string_view(k), FromNlohmann(e));
      return d;
    }
    default:
      return Value();
  }
}

}  // namespace

// ---- Value ------------------------------------------------------------------------------------

Value Value::Undefined(std::string hint, std::string name, Value owner) {
  Value v;
  if (!hint.empty() || !name.empty() || !owner.is_undefined()) {
    auto info = std::make_shared<UndefinedInfo>();
    info->hint = std::move(hint);
    info->name = std::move(name);
    info->owner = std::move(owner);
    v.v_ = UndefinedTag{std::move(info)};
  }
  return v;
}

Value Value::None() {
  Value v;
  v.v_ = NoneTag{};
  return v;
}

Value Value::MakeList(std::vector<Value> items) { return Value(std::make_shared<List>(std::move(items))); }
Value Value::MakeTuple(std::vector<Value> items) { return Value(std::make_shared<List>(std::move(items), true)); }
Value Value::MakeDict() { return Value(std::make_shared<Dict>()); }

Value Value::MakeDict(std::vector<std::pair<std::string, Value>> entries) {
  auto d = std::make_shared<Dict>();
  for (auto& [k, v] : entries) d->Set(std::string_view(k), std::move(v));
  return Value(std::move(d));
}

Value Value::MakeNamespace() {
  auto d = std::make_shared<Dict>();
  d->set_namespace(true);
  return Value(std::move(d));
}

Value Value::Function(std::string name, NativeFn fn) {
  return FromCallable(std::make_shared<const Callable>(std::move(name), std::move(fn)));
}

Value Value::FromCallable(std::shared_ptr<const Callable> callable) {
  Value v;
  v.v_ = std::move(callable);
  return v;
}

Value Value::FromObject(std::shared_ptr<const Object> object) {
  Value v;
  v.v_ = std::move(object);
  return v;
}

Result<Value> Value::FromJson(std::string_view json) {
  try {
    return FromNlohmann(nlohmann::ordered_json::parse(json));
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("invalid JSON: ") + e.what());
  }
}

double Value::ToDouble() const {
  if (is_bool()) return as_bool() ? 1.0 : 0.0;
  if (is_int()) return static_cast<double>(as_int());
  if (is_float()) return as_float();
  return 0.0;
}

std::string Value::UndefinedHint() const {
  const auto* tag = std::get_if<UndefinedTag>(&v_);
  if (tag == nullptr || tag->info == nullptr) return "value is undefined";
  if (!tag->info->hint.empty()) return tag->info->hint;
  return "'" + tag->info->name + "' is undefined";
}

const std::string& Value::UndefinedName() const {
  static const std::string* empty = new std::string();
  const auto* tag = std::get_if<UndefinedTag>(&v_);
  return tag == nullptr || tag->info == nullptr ? *empty : tag->info->name;
}

const Value& Value::UndefinedOwner() const {
  const auto* tag = std::get_if<UndefinedTag>(&v_);
  return tag == nullptr || tag->info == nullptr ? EmptyValue() : tag->info->owner;
}

bool Value::Truthy() const {
  switch (kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return as_bool();
    case Kind::kInt:
      return as_int() != 0;
    case Kind::kFloat:
      return as_float() != 0.0;
    case Kind::kString:
      return !as_string().empty();
    case Kind::kList:
      return !as_list().items.empty();
    case Kind::kDict:
      return !as_dict().empty();
    default:
      return true;
  }
}

std::string Value::Str() const {
  if (is_string()) return as_string();
  std::string out;
  AppendStr(&out);
  return out;
}

void Value::AppendStr(std::string* out) const {
  switch (kind()) {
    case Kind::kUndefined:
      return;
    case Kind::kNone:
      *out += "None";
      return;
    case Kind::kBool:
      *out += as_bool() ? "True" : "False";
      return;
    case Kind::kInt:
      *out += std::to_string(as_int());
      return;
    case Kind::kFloat:
      *out += FloatRepr(as_float());
      return;
    case Kind::kString:
      *out += as_string();
      return;
    case Kind::kObject:
      *out += as_object().Str();
      return;
    default:
      AppendRepr(*this, out, 0);
  }
}

std::string Value::Repr() const {
  std::string out;
  AppendRepr(*this, &out, 0);
  return out;
}

std::string Value::TypeName() const {
  switch (kind()) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return as_list().is_tuple ? "tuple" : "list";
    case Kind::kDict:
      return as_dict().is_namespace() ? "Namespace" : "dict";
    case Kind::kCallable:
      return as_callable().is_macro() ? "Macro" : "function";
    case Kind::kObject:
      return as_object().TypeName();
  }
  return "object";
}

bool Value::Equals(const Value& other) const { return EqualsImpl(*this, other, 0); }

Result<std::string> Value::ToJson(int indent, bool sort_keys) const {
  std::string out;
  STRATA_RETURN_IF_ERROR(JsonImpl(*this, indent, sort_keys, 0, &out));
  return out;
}

// ---- Dict -------------------------------------------------------------------------------------

const Value* Dict::FindKey(const Value& key) const {
  if (key.is_string()) return Find(std::string_view(key.as_string()));
  for (const auto& e : entries_) {
    if (e.first.Equals(key)) return &e.second;
  }
  return nullptr;
}

const Value* Dict::Find(std::string_view key) const {
  if (indexed_) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
  }
  for (const auto& e : entries_) {
    if (e.first.is_string() && e.first.as_string() == key) return &e.second;
  }
  return nullptr;
}

void Dict::SetKey(Value key, Value value) {
  if (Value* existing = FindKey(key)) {
    *existing = std::move(value);
    return;
  }
  entries_.emplace_back(std::move(key), std::move(value));
  if (indexed_) {
    if (entries_.back().first.is_string()) index_.emplace(entries_.back().first.as_string(), entries_.size() - 1);
  } else if (entries_.size() > kIndexThreshold) {
    Reindex();
  }
}

bool Dict::EraseKey(const Value& key) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].first.Equals(key)) {
      entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
      if (indexed_) Reindex();
      return true;
    }
  }
  return false;
}

void Dict::Clear() {
  entries_.clear();
  index_.clear();
  indexed_ = false;
}

void Dict::Reindex() {
  index_.clear();
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].first.is_string()) index_.emplace(entries_[i].first.as_string(), i);
  }
  indexed_ = true;
}

}  // namespace strata::jinja
