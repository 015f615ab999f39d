// Unit tests as in dbt 1.8: a model's SQL runs on fixture rows instead of its real inputs,
// and its output is compared with the expected rows — before the model is built.
//
// Each `given` input (ref, source or `this`) becomes a CTE of its rows, typed like the real
// relation when it exists (columns left out are NULL of their type), and the model's refs
// render as those CTE names. Expected rows are cast to the types of the model's output
// columns; the comparison is a multiset difference in both directions (EXCEPT ALL, so NULLs
// compare equal and duplicate rows count), over the columns the expectation names.
#pragma once

#include <string>

#include "core/status.h"
#include "transform/loader.h"
#include "transform/runner.h"
#include "warehouse/session.h"

namespace strata::transform {

// Runs the unit test `node` on `conn`, filling `result`: status pass or fail with the
// differing rows in the message, or error (unknown column, missing input, SQL error).
Status RunUnitTest(const LoadedProject& project, warehouse::Session* conn, const Node& node, NodeResult* result);

// Splits CSV text into rows of fields (RFC 4180 quoting; "" inside quotes is a quote). An
// unquoted empty field is nullopt (NULL); a quoted one is the empty string.
Result<std::vector<std::vector<std::optional<std::string>>>> ParseCsv(const std::string& text);

}  // namespace strata::transform
