// Template: a parsed template, immutable and shareable across threads.
//
// Obtained from Environment::Parse (or as a snapshot body from ParseDefinitions) and rendered
// with Environment::Render. Parse once, render many times, from any number of threads.
#pragma once

#include <memory>
#include <string>

namespace strata::jinja {

namespace internal {
struct Module;
struct Body;
}  // namespace internal

class Template {
 public:
  // For the engine: a view on `body`, a statement list owned by `module`.
  Template(std::shared_ptr<const internal::Module> module, const internal::Body* body)
      : module_(std::move(module)), body_(body) {}

  const std::string& file_name() const;
  // The source after newline normalization (\r\n and \r become \n) and, unless the
  // environment keeps it, without its final newline.
  const std::string& source() const;

  const internal::Module& module() const { return *module_; }
  const std::shared_ptr<const internal::Module>& module_ptr() const { return module_; }
  const internal::Body& body() const { return *body_; }

 private:
  std::shared_ptr<const internal::Module> module_;
  const internal::Body* body_;  // owned by module_
};

}  // namespace strata::jinja
