// CallContext: what a native function, filter or test can reach while it runs.
//
// Valid only during the call it was passed to; do not store it. Methods that run template
// code (Call, ApplyFilter, ApplyTest) return the template's error as a Status; a native should
// return that Status unchanged, so that the original location and call stack are reported.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "transform/jinja/callable.h"
#include "transform/jinja/value.h"

namespace strata::jinja {

class Environment;
class Context;

namespace internal {
class Evaluator;
struct Frame;
}  // namespace internal

class CallContext {
 public:
  CallContext(const CallContext&) = delete;
  CallContext& operator=(const CallContext&) = delete;

  const Environment& env() const;
  // The render's variables (the Context given to Environment::Render).
  const Context& vars() const;
  // File name of the template (or macro's file) making this call.
  const std::string& template_name() const;
  // "file:line:col" of the call.
  std::string where() const;
  // A variable as seen at the call site (locals, then Context, then globals); undefined when
  // absent.
  Value Lookup(std::string_view name) const;
  // Inside `{% call fn(...) %}body{% endcall %}`: the body as a callable (Jinja's caller());
  // undefined otherwise.
  const Value& caller() const { return caller_; }

  // Calls a macro, native function or callable object.
  Result<Value> Call(const Value& callable, const Args& args = {});
  Result<Value> ApplyFilter(std::string_view name, const Value& input, const Args& args = {});
  Result<bool> ApplyTest(std::string_view name, const Value& input, const Args& args = {});

  // An error for a native to return: Status::InvalidArgument(message). The engine adds the
  // location and call stack.
  static Status Error(std::string message) { return Status::InvalidArgument(std::move(message)); }

 private:
  friend class internal::Evaluator;
  CallContext(internal::Evaluator* ev, const std::shared_ptr<internal::Frame>* frame, Value caller, uint32_t offset)
      : ev_(ev), frame_(frame), caller_(std::move(caller)), offset_(offset) {}
  internal::Evaluator* ev_;
  const std::shared_ptr<internal::Frame>* frame_;  // the caller's scope (may point to null)
  Value caller_;
  uint32_t offset_;
};

}  // namespace strata::jinja
