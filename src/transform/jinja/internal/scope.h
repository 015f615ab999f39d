// Runtime scopes and macro values.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transform/jinja/internal/ast.h"
#include "transform/jinja/value.h"

namespace strata::jinja::internal {

// One scope: a for-loop body, a macro call, a with block, or a template's top level. Frames are
// few and small, so variables are a vector searched linearly.
struct Frame {
  Frame() = default;
  explicit Frame(std::shared_ptr<Frame> p) : parent(std::move(p)) {}
  std::shared_ptr<Frame> parent;  // enclosing scope (a macro's defining scope), may be null
  std::vector<std::pair<std::string, Value>> vars;

  Value* FindLocal(std::string_view name) {
    for (auto& [k, v] : vars) {
      if (k == name) return &v;
    }
    return nullptr;
  }
  void Set(std::string_view name, Value value) {
    if (Value* v = FindLocal(name)) {
      *v = std::move(value);
    } else {
      vars.emplace_back(std::string(name), std::move(value));
    }
  }
};

// What a macro Callable points to. A macro defined while rendering keeps a weak reference to
// the scope it was defined in (its closure); macros from ParseDefinitions have none and see
// only the globals and variables of the render that calls them.
struct MacroImpl {
  std::shared_ptr<const Module> module;  // keeps `def` alive
  const MacroDef* def = nullptr;
  std::weak_ptr<Frame> closure;
  bool is_caller = false;  // the body of a {% call %} block
};

}  // namespace strata::jinja::internal
