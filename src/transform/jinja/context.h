// Context: the variables of one render (dbt's model context: this, model, config, ref, ...).
//
// Lookup order while rendering: template locals, then the Context (and its parents), then the
// Environment's globals. A Context is read-only during a render; build one per render (or a
// small per-render Context whose parent holds the shared, per-project variables).
#pragma once

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
  std::unordered_map<std::string, Value, Hash, std::equal_to<>> vars_;
};

}  // namespace strata::jinja
