// Context: the variables of one render (dbt's model context: this, model, config, ref, ...).
//
// Lookup order while rendering: template locals, then the Context (and its parents), then the
// Environment's globals. A Context is read-only during a render; build one per render (or a
// small per-render Context whose parent holds the shared, per-project variables).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "transform/jinja/value.h"

namespace strata::jinja {

class Context {
 public:
  Context() = default;
  // Variables not found here are looked up in `parent`, which must outlive this Context.
  explicit Context(const Context* parent) : parent_(parent) {}

  void Set(std::string name, Value value) { vars_[std::move(name)] = std::move(value); }
  // A variable built on its first lookup, then kept: for values that are costly to build and
  // that most templates never read (dbt's `model`). Lookups stay single-threaded, as a
  // Context belongs to one render.
  void SetLazy(std::string name, std::function<Value()> make) { lazy_[std::move(name)] = std::move(make); }
  // This context's variable, else its parent's; nullptr when absent.
  const Value* Find(std::string_view name) const;
  // Names visible through this context (for "did you mean").
  void CollectNames(std::vector<std::string>* out) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  const Context* parent_ = nullptr;
  // Mutable for lazy variables, which move from lazy_ into vars_ when first found (element
  // addresses of an unordered_map survive rehashing, so returned pointers stay valid).
  mutable std::unordered_map<std::string, Value, Hash, std::equal_to<>> vars_;
  mutable std::unordered_map<std::string, std::function<Value()>, Hash, std::equal_to<>> lazy_;
};

}  // namespace strata::jinja
