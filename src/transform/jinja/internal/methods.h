// Python methods of built-in values: "a,b".split(","), xs.append(1), d.items(), ...
#pragma once

#include <string>
#include <string_view>

#include "transform/jinja/callable.h"
#include "transform/jinja/value.h"

namespace strata::jinja::internal {

// True if `obj` (a string, list, tuple or non-namespace dict) has the method `name`.
bool HasMethod(const Value& obj, std::string_view name);
// Calls it; throws an unlocated Error on bad arguments.
Value CallMethod(const Value& obj, std::string_view name, const Args& args);
// The method as a callable bound to `obj` (for `{% set f = xs.append %}`).
Value BoundMethod(const Value& obj, const std::string& name);

// Python str methods used by filters too.
std::string Strip(std::string_view s, const Value& chars, bool left, bool right);
std::vector<std::string> Split(std::string_view s, const Value& sep, int64_t maxsplit, bool from_right);
std::string Replace(std::string_view s, std::string_view from, std::string_view to, int64_t count);
std::string PyTitle(std::string_view s);
std::string Capitalize(std::string_view s);

}  // namespace strata::jinja::internal
