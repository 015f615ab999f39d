// Value: a dynamic value of the template language, with Python/Jinja2 semantics.
//
// Kinds: undefined, none, bool, int (int64), float (double), string (UTF-8), list (also used
// for tuples), dict (insertion-ordered), callable (native function or macro) and object (a
// host-defined type, see callable.h). Lists and dicts are shared and mutable, as in Python:
// copying a Value copies the reference, so `{% do xs.append(1) %}` is seen by every holder.
//
// Thread-safety: a Value may be read from several threads at once; a list or dict must not be
// mutated while another thread reads it. Globals shared by parallel renders should therefore
// not be mutated by templates (use per-render Context variables for mutable state).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"

namespace strata::jinja {

class Value;
class List;
class Dict;
class Callable;
class Object;
class CallContext;
struct Args;

// A function implemented in C++. A failed Status becomes a template error located at the
// call site (with the macro call stack).
using NativeFn = std::function<Result<Value>(CallContext& ctx, const Args& args)>;

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable, kObject };

  Value() = default;                                    // undefined
  Value(bool b) : v_(b) {}                              // NOLINT: implicit by design
  Value(int i) : v_(static_cast<int64_t>(i)) {}         // NOLINT
  Value(int64_t i) : v_(i) {}                           // NOLINT
  Value(double d) : v_(d) {}                            // NOLINT
  Value(std::string s) : v_(std::move(s)) {}            // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}     // NOLINT
  Value(const char* s) : v_(std::string(s)) {}          // NOLINT
  Value(std::shared_ptr<List> l) : v_(std::move(l)) {}  // NOLINT
  Value(std::shared_ptr<Dict> d) : v_(std::move(d)) {}  // NOLINT
  Value(std::nullptr_t) = delete;

  // Undefined with an explanation used when it is misused ("'x' is undefined").
  // `name` is the missing variable (for "did you mean"), `owner` the dict or object that lacked
  // the attribute (its keys are suggested).
  static Value Undefined(std::string hint, std::string name = {}, Value owner = Value());
  static Value None();
  static Value MakeList(std::vector<Value> items = {});
  static Value MakeTuple(std::vector<Value> items);
  static Value MakeDict();
  static Value MakeDict(std::vector<std::pair<std::string, Value>> entries);
  // A Jinja namespace(): a dict whose keys are attributes and may be assigned with
  // `{% set ns.key = value %}`.
  static Value MakeNamespace();
  static Value Function(std::string name, NativeFn fn);
  static Value FromCallable(std::shared_ptr<const Callable> callable);
  static Value FromObject(std::shared_ptr<const Object> object);
  // Parses JSON: objects become dicts (key order kept), arrays lists, integers ints.
  static Result<Value> FromJson(std::string_view json);

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_callable() const { return kind() == Kind::kCallable; }
  bool is_object() const { return kind() == Kind::kObject; }

  // Accessors: calling one for another kind is a programmer error (std::bad_variant_access).
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  List& as_list() const { return *std::get<std::shared_ptr<List>>(v_); }
  Dict& as_dict() const { return *std::get<std::shared_ptr<Dict>>(v_); }
  const Callable& as_callable() const { return *std::get<std::shared_ptr<const Callable>>(v_); }
  const Object& as_object() const { return *std::get<std::shared_ptr<const Object>>(v_); }
  const std::shared_ptr<List>& list_ptr() const { return std::get<std::shared_ptr<List>>(v_); }
  const std::shared_ptr<Dict>& dict_ptr() const { return std::get<std::shared_ptr<Dict>>(v_); }
  const std::shared_ptr<const Callable>& callable_ptr() const { return std::get<std::shared_ptr<const Callable>>(v_); }
  const std::shared_ptr<const Object>& object_ptr() const { return std::get<std::shared_ptr<const Object>>(v_); }
  // Numeric value of a bool, int or float.
  double ToDouble() const;

  // Undefined only: why it is undefined ("'x' is undefined"), the missing name (may be empty),
  // and the dict or object that lacked the attribute (undefined when none).
  std::string UndefinedHint() const;
  const std::string& UndefinedName() const;
  const Value& UndefinedOwner() const;

  // Python truthiness (undefined is false).
  bool Truthy() const;
  // Python str(): None/True/False as in Python, undefined as "", floats like repr(),
  // lists and dicts like repr().
  std::string Str() const;
  void AppendStr(std::string* out) const;
  // Python repr(): strings quoted.
  std::string Repr() const;
  // Python type name: 'int', 'str', 'list', 'dict', 'NoneType', 'Undefined', ...
  std::string TypeName() const;
  // Python ==: 1 == 1.0 == True; lists and tuples compare by elements; dicts ignore order.
  bool Equals(const Value& other) const;
  // JSON text like Python's json.dumps (", " and ": " separators, non-ASCII as \uXXXX);
  // indent < 0 means one line. Fails on undefined, callables and objects.
  Result<std::string> ToJson(int indent = -1, bool sort_keys = false) const;

 private:
  struct UndefinedInfo;
  struct UndefinedTag {
    std::shared_ptr<const UndefinedInfo> info;
  };
  struct NoneTag {};
  // The order matches Kind.
  std::variant<UndefinedTag, NoneTag, bool, int64_t, double, std::string, std::shared_ptr<List>, std::shared_ptr<Dict>,
               std::shared_ptr<const Callable>, std::shared_ptr<const Object>>
      v_;
};

// A list or tuple. Tuples differ only in how they print ("(1, 2)") and in being read-only for
// list methods.
class List {
 public:
  List() = default;
  explicit List(std::vector<Value> items, bool is_tuple = false) : items(std::move(items)), is_tuple(is_tuple) {}
  std::vector<Value> items;
  bool is_tuple = false;
};

// An insertion-ordered dict. Keys are Values compared with Python == (strings are the common
// case and are indexed by hash once the dict grows).
class Dict {
 public:
  Dict() = default;
  // nullptr when absent.
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key) { return const_cast<Value*>(std::as_const(*this).Find(key)); }
  const Value* FindKey(const Value& key) const;
  Value* FindKey(const Value& key) { return const_cast<Value*>(std::as_const(*this).FindKey(key)); }
  // Replaces the value of an existing key (keeping its position) or appends.
  void Set(std::string_view key, Value value) { SetKey(Value(key), std::move(value)); }
  void SetKey(Value key, Value value);
  // Returns false when absent.
  bool EraseKey(const Value& key);
  void Clear();
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<std::pair<Value, Value>>& entries() const { return entries_; }
  bool is_namespace() const { return is_namespace_; }
  void set_namespace(bool ns) { is_namespace_ = ns; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  static constexpr size_t kIndexThreshold = 32;  // below it a scan beats building a hash index
  void Reindex();
  std::vector<std::pair<Value, Value>> entries_;
  std::unordered_map<std::string, size_t, Hash, std::equal_to<>> index_;  // string keys, when large
  bool indexed_ = false;
  bool is_namespace_ = false;
};

}  // namespace strata::jinja
