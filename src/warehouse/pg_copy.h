// DuckDB → PostgreSQL: streams the rows of a DuckDB query into a PostgreSQL table with
// binary COPY. DuckDB does the reading (lake files, warehouse tables) and its result
// vectors are encoded straight into PostgreSQL's binary row format, chunk by chunk; no
// text rendering or parsing in between, and never more than a few chunks in memory.
//
// Types: each DuckDB column maps to the PostgreSQL type holding the same values (BIGINT →
// bigint, DECIMAL(p,s) → numeric(p,s), TIMESTAMP → timestamp, UUID → uuid, JSON → jsonb,
// ...). Unsigned and 128-bit integers become numeric; nested and other types (LIST,
// STRUCT, MAP, ENUM, ...) are sent as their text form into a text column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "db/duckdb.h"
#include "db/postgres.h"

namespace strata::warehouse {

struct PgColumn {
  std::string name;
  std::string duck_type;  // as DuckDB's DESCRIBE names it, e.g. "DECIMAL(18,2)"
  std::string pg_type;    // e.g. "numeric(18,2)"
  std::string select;     // the DuckDB expression that yields an encodable value
};

// The PostgreSQL type for a DuckDB type name, and whether the value must first be cast in
// DuckDB (to `*cast`, e.g. UBIGINT → DECIMAL(20,0)); `cast` may be null.
std::string PostgresTypeFor(const std::string& duck_type, std::string* cast);

// The columns of a DuckDB query and their PostgreSQL types.
Result<std::vector<PgColumn>> DescribeForPostgres(duck::Connection* duck, const std::string& select_sql);

// "create table <table> (<col> <pg_type>, ...)" for `columns`.
std::string PostgresCreateTable(const std::string& qualified_table, const std::vector<PgColumn>& columns);

struct CopyStats {
  int64_t rows = 0;
  int64_t bytes = 0;  // binary COPY data sent
};

// Copies every row of `select_sql` (run on `duck`) into `qualified_table` on `pg`, whose
// columns `columns` (from DescribeForPostgres of the same query) are, in that order.
// `pg` should be inside a transaction for the copy to be undone with it; a failed COPY
// keeps none of its rows anyway. Cancelling stops both sides (kAborted).
Result<CopyStats> CopyToPostgres(duck::Connection* duck, const std::string& select_sql,
                                 const std::vector<PgColumn>& columns, pg::Connection* pg,
                                 const std::string& qualified_table, CancelToken* cancel = nullptr);

}  // namespace strata::warehouse
