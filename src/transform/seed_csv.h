// A seed's CSV file read as dbt reads it: its shape checked (every record has the header's
// number of fields) and each column's type inferred by agate's rules, the ones dbt-duckdb and
// dbt-postgres use, so that a seed gets the same column types as under dbt. The engine still
// loads the file (DuckDB's read_csv, PostgreSQL's COPY); this only decides the types.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace strata::transform {

struct SeedColumn {
  std::string name;
  // "integer", "bigint", "decimal(38,0)", "float8", "date", "timestamp",
  // "timestamp with time zone", "boolean" or "text": names both DuckDB and PostgreSQL accept.
  std::string type;
  // A text column with a value agate reads as null ("null" in any case, blank, or quoted
  // empty): the loaded column needs those set to NULL.
  bool text_nulls = false;
};

// The columns of a CSV text (`shown` names the file in errors, with the line):
//   - a value that is empty or blank is null, and fits every type;
//   - the first type that every other value fits, in agate's order: integer (`integer`, or
//     `bigint` / `decimal(38,0)` when a value needs it, where dbt would fail), number with a
//     fraction or exponent (`float8`), date (YYYY-MM-DD), timestamp (YYYY-MM-DD HH:MM:SS or
//     ISO 8601; with an offset or Z, `timestamp with time zone`), boolean (true/false in any
//     case), else text;
//   - a column with no value at all is `integer`, as in dbt.
// A ragged record or an unclosed quote is an error naming the line.
Result<std::vector<SeedColumn>> ReadSeedColumns(const std::string& text, const std::string& shown, char delimiter);

}  // namespace strata::transform
