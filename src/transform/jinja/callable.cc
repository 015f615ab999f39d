#include "transform/jinja/callable.h"

#include <algorithm>

#include "transform/jinja/call_context.h"
#include "transform/jinja/context.h"
#include "transform/jinja/internal/scope.h"
#include "transform/jinja/internal/util.h"

namespace strata::jinja {

const Value* Args::Kwarg(std::string_view name) const {
  for (const auto& [k, v] : kwargs) {
    if (k == name) return &v;
  }
  return nullptr;
}

const Value* Args::Find(size_t index, std::string_view name) const {
  if (index < positional.size()) return &positional[index];
  return Kwarg(name);
}

Result<std::vector<Value>> Args::Bind(std::string_view fn, std::initializer_list<std::string_view> params,
                                      size_t required) const {
  std::vector<Value> out(params.size());
  std::vector<bool> given(params.size(), false);
  std::string name(fn);
  if (positional.size() > params.size()) {
    return Status::InvalidArgument(name + "() takes at most " + std::to_string(params.size()) + " argument" +
                                   (params.size() == 1 ? "" : "s") + " (" + std::to_string(positional.size()) +
                                   " given)");
  }
  for (size_t i = 0; i < positional.size(); ++i) {
    out[i] = positional[i];
    given[i] = true;
  }
  for (const auto& [k, v] : kwargs) {
    auto it = std::find(params.begin(), params.end(), k);
    if (it == params.end()) {
      std::vector<std::string> names(params.begin(), params.end());
      return Status::InvalidArgument(name + "() got an unexpected keyword argument '" + k + "'" +
                                     internal::DidYouMean(k, names));
    }
    size_t i = static_cast<size_t>(it - params.begin());
    if (given[i]) return Status::InvalidArgument(name + "() got multiple values for argument '" + k + "'");
    out[i] = v;
    given[i] = true;
  }
  for (size_t i = 0; i < required && i < params.size(); ++i) {
    if (!given[i]) {
      return Status::InvalidArgument(name + "() missing required argument '" + std::string(*(params.begin() + i)) +
                                     "'");
    }
  }
  return out;
}

std::vector<std::string> Callable::params() const {
  if (macro_ == nullptr) return {};
  return macro_->def->params;
}

std::string Callable::where() const {
  if (macro_ == nullptr) return "";
  return macro_->module->source->Where(macro_->def->offset);
}

Value Object::GetAttr(std::string_view) const { return Value(); }

Value Object::GetItem(const Value& key) const { return key.is_string() ? GetAttr(key.as_string()) : Value(); }

Result<Value> Object::Call(CallContext&, const Args&) const {
  return Status::InvalidArgument("'" + TypeName() + "' object is not callable");
}

const Value* Context::Find(std::string_view name) const {
  for (const Context* c = this; c != nullptr; c = c->parent_) {
    auto it = c->vars_.find(name);
    if (it != c->vars_.end()) return &it->second;
    auto lazy = c->lazy_.find(name);
    if (lazy != c->lazy_.end()) {
      Value v = lazy->second();
      std::string key = lazy->first;
      c->lazy_.erase(lazy);
      return &(c->vars_[std::move(key)] = std::move(v));
    }
  }
  return nullptr;
}

void Context::CollectNames(std::vector<std::string>* out) const {
  for (const Context* c = this; c != nullptr; c = c->parent_) {
    for (const auto& [k, v] : c->vars_) out->push_back(k);
    for (const auto& [k, v] : c->lazy_) out->push_back(k);
  }
}

}  // namespace strata::jinja
