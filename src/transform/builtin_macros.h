// The macros Strata ships (src/transform/macros/*.sql, embedded at build time): dbt's
// naming macros, built-in generic tests, and the dispatchable SQL of materializations.
// A project overrides any of them by defining a macro of the same name.
#pragma once

#include <string>
#include <vector>

namespace strata::transform {

struct BuiltinFile {
  const char* name;
  const char* text;
};

const std::vector<BuiltinFile>& BuiltinMacroFiles();

}  // namespace strata::transform
