// Small helpers shared by the engine's files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/strings.h"  // AsciiLower

namespace strata::jinja::internal {

// " (did you mean 'x'?)" when a candidate is close to `name`, else "".
std::string DidYouMean(const std::string& name, const std::vector<std::string>& candidates);

// UTF-8 helpers: strings are indexed by characters (code points), like Python.
bool IsAscii(std::string_view s);
size_t CharCount(std::string_view s);
// The characters of `s`, each as a view into it.
std::vector<std::string_view> Chars(std::string_view s);

// Python float repr(): 1.0, 0.1, 1e+16, 1.5e-05, inf, nan.
std::string FloatRepr(double d);
// Python repr() of a string: 'it''s' quoting rules and escapes.
std::string StringRepr(std::string_view s);

std::string AsciiUpper(std::string_view s);
bool IsSpaceChar(char c);

}  // namespace strata::jinja::internal
