// The result of a small query, as every warehouse engine returns it: values rendered as text.
// Used for metadata and checks; bulk data moves through the engines (COPY, read_parquet),
// never through these rows.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace strata::sql {

// One value rendered as text (NULL is nullopt).
using Cell = std::optional<std::string>;
using Row = std::vector<Cell>;

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::string> column_types;  // the engine's type names, e.g. "BIGINT", "int8"
  std::vector<Row> rows;
  int64_t rows_changed = 0;  // for INSERT/UPDATE/DELETE

  // The rows a statement wrote: rows_changed, or the count DuckDB returns as the first cell
  // of a CREATE TABLE AS / INSERT result.
  int64_t AffectedRows() const {
    if (rows_changed > 0) return rows_changed;
    if (!rows.empty() && !rows[0].empty() && rows[0][0]) {
      char* end = nullptr;
      const long long n = std::strtoll(rows[0][0]->c_str(), &end, 10);
      if (end != rows[0][0]->c_str() && *end == '\0') return n;
    }
    return rows_changed;
  }

  // The single value of a one-row, one-column result (nullopt if empty or NULL).
  Cell Scalar() const {
    if (rows.empty() || rows[0].empty()) return std::nullopt;
    return rows[0][0];
  }
};

}  // namespace strata::sql
