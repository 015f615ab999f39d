// A query result's text cells as typed JSON values: numbers as numbers, booleans as booleans,
// everything else (dates, timestamps, text) as the engine wrote it.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "db/query_result.h"

namespace strata::sql {

// Whether a column of this engine type (DuckDB's or PostgreSQL's name, db/postgres.cc) holds
// numbers.
inline bool IsNumericType(const std::string& type) {
  static const char* kTypes[] = {"TINYINT",  "SMALLINT",  "INTEGER",  "BIGINT",  "HUGEINT",
                                 "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
                                 "FLOAT",    "REAL",      "DOUBLE",   "DECIMAL", "NUMERIC"};
  for (const char* t : kTypes) {
    if (type.rfind(t, 0) == 0) return true;
  }
  return false;
}

inline bool IsIntegerType(const std::string& type) {
  return IsNumericType(type) && type.find("INT") != std::string::npos;
}

inline nlohmann::json CellJson(const Cell& c, const std::string& type) {
  if (!c) return nullptr;
  if (IsNumericType(type)) {
    char* end = nullptr;
    if (IsIntegerType(type)) {
      errno = 0;
      const long long v = std::strtoll(c->c_str(), &end, 10);
      if (*end == '\0' && errno == 0) return v;
    }
    const double d = std::strtod(c->c_str(), &end);
    if (*end == '\0') return d;
    return *c;
  }
  if (type == "BOOLEAN") return *c == "true";
  return *c;
}

}  // namespace strata::sql
