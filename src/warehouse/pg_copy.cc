#include "warehouse/pg_copy.h"

#include <duckdb.h>

#include <array>
#include <cstring>
#include <memory>

namespace strata::warehouse {

namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

std::string PostgresTypeFor(const std::string& duck_type, std::string* cast) {
  const std::string& t = duck_type;
  auto as = [&](const char* duck, const char* pg) {
    if (cast != nullptr) *cast = duck;
    return std::string(pg);
  };
  if (cast != nullptr) cast->clear();
  if (t == "BOOLEAN") return "boolean";
  if (t == "TINYINT" || t == "SMALLINT") return "smallint";
  if (t == "UTINYINT") return as("SMALLINT", "smallint");
  if (t == "INTEGER") return "integer";
  if (t == "USMALLINT") return as("INTEGER", "integer");
  if (t == "BIGINT") return "bigint";
  if (t == "UINTEGER") return as("BIGINT", "bigint");
  if (t == "UBIGINT") return as("DECIMAL(20,0)", "numeric(20,0)");
  if (t == "HUGEINT" || t == "UHUGEINT") return as("DECIMAL(38,0)", "numeric(38,0)");
  if (t == "FLOAT") return "real";
  if (t == "DOUBLE") return "double precision";
  if (StartsWith(t, "DECIMAL(")) return "numeric" + t.substr(7);
  if (t == "VARCHAR") return "text";
  if (t == "BLOB") return "bytea";
  if (t == "DATE") return "date";
  if (t == "TIMESTAMP") return "timestamp";
  if (t == "TIMESTAMP_S" || t == "TIMESTAMP_MS" || t == "TIMESTAMP_NS") return as("TIMESTAMP", "timestamp");
  if (t == "TIMESTAMP WITH TIME ZONE") return "timestamptz";
  if (t == "TIME") return "time";
  if (t == "INTERVAL") return "interval";
  if (t == "UUID") return "uuid";
  if (t == "JSON") return as("VARCHAR", "jsonb");
  return as("VARCHAR", "text");  // LIST, STRUCT, MAP, ENUM, BIT, TIME WITH TIME ZONE, ...
}

Result<std::vector<PgColumn>> DescribeForPostgres(duck::Connection* duck, const std::string& select_sql) {
  STRATA_ASSIGN_OR_RETURN(auto described, duck->Query("DESCRIBE " + select_sql));
  std::vector<PgColumn> out;
  for (const auto& row : described.rows) {
    PgColumn c;
    c.name = row[0].value_or("");
    c.duck_type = row[1].value_or("VARCHAR");
    std::string cast;
    c.pg_type = PostgresTypeFor(c.duck_type, &cast);
    c.select = duck::QuoteIdent(c.name);
    if (!cast.empty()) c.select = "CAST(" + c.select + " AS " + cast + ")";
    out.push_back(std::move(c));
  }
  return out;
}

std::string PostgresCreateTable(const std::string& qualified_table, const std::vector<PgColumn>& columns) {
  std::string ddl = "create table " + qualified_table + " (";
  for (size_t i = 0; i < columns.size(); ++i) {
    ddl += (i ? ", " : "") + pg::QuoteIdent(columns[i].name) + " " + columns[i].pg_type;
  }
  return ddl + ")";
}

namespace {

// PostgreSQL's binary COPY: a header, then per row a 16-bit field count and per field a
// 32-bit length (-1: NULL) and the value in the type's binary form (network byte order),
// then a -1 trailer.
constexpr char kHeader[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";  // signature, flags, extension length
constexpr size_t kHeaderSize = 19;

constexpr int64_t kPgEpochDays = 10957;  // 2000-01-01 - 1970-01-01
constexpr int64_t kPgEpochMicros = kPgEpochDays * 86400000000LL;

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void Raw(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }
  void I16(int16_t v) {
    uint16_t be = __builtin_bswap16(static_cast<uint16_t>(v));
    Raw(&be, 2);
  }
  void I32(int32_t v) {
    uint32_t be = __builtin_bswap32(static_cast<uint32_t>(v));
    Raw(&be, 4);
  }
  void I64(int64_t v) {
    uint64_t be = __builtin_bswap64(static_cast<uint64_t>(v));
    Raw(&be, 8);
  }
  void Null() { I32(-1); }

 private:
  std::string* out_;
};

// numeric's binary form: base-10000 digits, most significant first, with the weight of the
// first digit, a sign and the display scale.
void WriteNumeric(Writer* w, __int128 value, int scale) {
  static const auto kPow10 = [] {
    std::array<unsigned __int128, 39> p{};
    p[0] = 1;
    for (size_t i = 1; i < p.size(); ++i) p[i] = p[i - 1] * 10;
    return p;
  }();
  const bool negative = value < 0;
  const unsigned __int128 u = negative ? -static_cast<unsigned __int128>(value) : static_cast<unsigned __int128>(value);
  unsigned __int128 int_part = u / kPow10[scale];
  unsigned __int128 frac = u % kPow10[scale];
  int16_t digits[24];
  int n = 0;
  int16_t int_groups[12];
  int ni = 0;
  while (int_part != 0) {
    int_groups[ni++] = static_cast<int16_t>(int_part % 10000);
    int_part /= 10000;
  }
  for (int i = ni - 1; i >= 0; --i) digits[n++] = int_groups[i];
  int weight = ni - 1;
  const int pad = (4 - scale % 4) % 4;
  const int nfrac = (scale + pad) / 4;
  frac *= kPow10[pad];
  for (int i = nfrac - 1; i >= 0; --i) {
    digits[n + i] = static_cast<int16_t>(frac % 10000);
    frac /= 10000;
  }
  n += nfrac;
  int first = 0;
  while (first < n && digits[first] == 0) {  // leading zero groups (only fractional ones)
    ++first;
    --weight;
  }
  while (n > first && digits[n - 1] == 0) --n;  // trailing zero groups
  const int ndigits = n - first;
  if (ndigits == 0) weight = 0;
  w->I32(8 + 2 * ndigits);
  w->I16(static_cast<int16_t>(ndigits));
  w->I16(static_cast<int16_t>(weight));
  w->I16(static_cast<int16_t>(negative && ndigits > 0 ? 0x4000 : 0));
  w->I16(static_cast<int16_t>(scale));
  for (int i = first; i < n; ++i) w->I16(digits[i]);
}

enum class Kind {
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFloat,
  kDouble,
  kDecimal,
  kText,
  kJsonb,
  kDate,
  kTimestamp,
  kTime,
  kInterval,
  kUuid
};

struct ColumnPlan {
  Kind kind;
  int decimal_width = 0;  // bytes of DuckDB's decimal storage
  int scale = 0;
};

Result<std::vector<ColumnPlan>> Plan(duckdb_result* res, const std::vector<PgColumn>& columns) {
  const idx_t ncols = duckdb_column_count(res);
  if (ncols != columns.size()) {
    return Status::Internal("the query returns " + std::to_string(ncols) + " columns, " +
                            std::to_string(columns.size()) + " were described");
  }
  std::vector<ColumnPlan> plan(ncols);
  for (idx_t c = 0; c < ncols; ++c) {
    duckdb_logical_type lt = duckdb_column_logical_type(res, c);
    ColumnPlan& p = plan[c];
    const duckdb_type id = duckdb_get_type_id(lt);
    bool ok = true;
    switch (id) {
      case DUCKDB_TYPE_BOOLEAN:
        p.kind = Kind::kBool;
        break;
      case DUCKDB_TYPE_TINYINT:
        p.kind = Kind::kInt8;
        break;
      case DUCKDB_TYPE_SMALLINT:
        p.kind = Kind::kInt16;
        break;
      case DUCKDB_TYPE_INTEGER:
        p.kind = Kind::kInt32;
        break;
      case DUCKDB_TYPE_BIGINT:
        p.kind = Kind::kInt64;
        break;
      case DUCKDB_TYPE_FLOAT:
        p.kind = Kind::kFloat;
        break;
      case DUCKDB_TYPE_DOUBLE:
        p.kind = Kind::kDouble;
        break;
      case DUCKDB_TYPE_DECIMAL:
        p.kind = Kind::kDecimal;
        p.scale = duckdb_decimal_scale(lt);
        switch (duckdb_decimal_internal_type(lt)) {
          case DUCKDB_TYPE_SMALLINT:
            p.decimal_width = 2;
            break;
          case DUCKDB_TYPE_INTEGER:
            p.decimal_width = 4;
            break;
          case DUCKDB_TYPE_BIGINT:
            p.decimal_width = 8;
            break;
          default:
            p.decimal_width = 16;
            break;
        }
        break;
      case DUCKDB_TYPE_VARCHAR:
        p.kind = columns[c].pg_type == "jsonb" ? Kind::kJsonb : Kind::kText;
        break;
      case DUCKDB_TYPE_BLOB:
        p.kind = Kind::kText;
        break;  // bytea's binary form is the bytes
      case DUCKDB_TYPE_DATE:
        p.kind = Kind::kDate;
        break;
      case DUCKDB_TYPE_TIMESTAMP:
      case DUCKDB_TYPE_TIMESTAMP_TZ:
        p.kind = Kind::kTimestamp;
        break;
      case DUCKDB_TYPE_TIME:
        p.kind = Kind::kTime;
        break;
      case DUCKDB_TYPE_INTERVAL:
        p.kind = Kind::kInterval;
        break;
      case DUCKDB_TYPE_UUID:
        p.kind = Kind::kUuid;
        break;
      default:
        ok = false;
    }
    duckdb_destroy_logical_type(&lt);
    if (!ok) {
      return Status::InvalidArgument("column " + columns[c].name + " (" + columns[c].duck_type +
                                     ") has no binary COPY encoding");
    }
  }
  return plan;
}

__int128 Hugeint(const duckdb_hugeint& h) {
  return static_cast<__int128>((static_cast<unsigned __int128>(static_cast<uint64_t>(h.upper)) << 64) | h.lower);
}

// Appends the rows of one chunk.
void EncodeChunk(duckdb_data_chunk chunk, const std::vector<ColumnPlan>& plan, std::string* out) {
  const idx_t n = duckdb_data_chunk_get_size(chunk);
  const size_t ncols = plan.size();
  std::vector<void*> data(ncols);
  std::vector<uint64_t*> validity(ncols);
  for (size_t c = 0; c < ncols; ++c) {
    duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
    data[c] = duckdb_vector_get_data(v);
    validity[c] = duckdb_vector_get_validity(v);
  }
  out->reserve(out->size() + n * (2 + ncols * 12));
  Writer w(out);
  for (idx_t r = 0; r < n; ++r) {
    w.I16(static_cast<int16_t>(ncols));
    for (size_t c = 0; c < ncols; ++c) {
      if (validity[c] != nullptr && !(validity[c][r / 64] & (uint64_t{1} << (r % 64)))) {
        w.Null();
        continue;
      }
      const ColumnPlan& p = plan[c];
      void* d = data[c];
      switch (p.kind) {
        case Kind::kBool: {
          w.I32(1);
          const char b = static_cast<bool*>(d)[r] ? 1 : 0;
          w.Raw(&b, 1);
          break;
        }
        case Kind::kInt8:
          w.I32(2), w.I16(static_cast<int8_t*>(d)[r]);
          break;
        case Kind::kInt16:
          w.I32(2), w.I16(static_cast<int16_t*>(d)[r]);
          break;
        case Kind::kInt32:
          w.I32(4), w.I32(static_cast<int32_t*>(d)[r]);
          break;
        case Kind::kInt64:
          w.I32(8), w.I64(static_cast<int64_t*>(d)[r]);
          break;
        case Kind::kFloat: {
          uint32_t bits;
          std::memcpy(&bits, &static_cast<float*>(d)[r], 4);
          w.I32(4), w.I32(static_cast<int32_t>(bits));
          break;
        }
        case Kind::kDouble: {
          uint64_t bits;
          std::memcpy(&bits, &static_cast<double*>(d)[r], 8);
          w.I32(8), w.I64(static_cast<int64_t>(bits));
          break;
        }
        case Kind::kDecimal: {
          __int128 v = 0;
          switch (p.decimal_width) {
            case 2:
              v = static_cast<int16_t*>(d)[r];
              break;
            case 4:
              v = static_cast<int32_t*>(d)[r];
              break;
            case 8:
              v = static_cast<int64_t*>(d)[r];
              break;
            default:
              v = Hugeint(static_cast<duckdb_hugeint*>(d)[r]);
              break;
          }
          WriteNumeric(&w, v, p.scale);
          break;
        }
        case Kind::kText:
        case Kind::kJsonb: {
          duckdb_string_t* s = &static_cast<duckdb_string_t*>(d)[r];
          const uint32_t len = duckdb_string_t_length(*s);
          const char* bytes = duckdb_string_is_inlined(*s) ? s->value.inlined.inlined : s->value.pointer.ptr;
          if (p.kind == Kind::kJsonb) {
            w.I32(static_cast<int32_t>(len + 1));
            const char version = 1;
            w.Raw(&version, 1);
          } else {
            w.I32(static_cast<int32_t>(len));
          }
          w.Raw(bytes, len);
          break;
        }
        case Kind::kDate: {
          const int32_t days = static_cast<int32_t*>(d)[r];
          int32_t pg;
          if (days == INT32_MAX)
            pg = INT32_MAX;  // infinity
          else if (days == -INT32_MAX)
            pg = INT32_MIN;  // -infinity
          else
            pg = static_cast<int32_t>(days - kPgEpochDays);
          w.I32(4), w.I32(pg);
          break;
        }
        case Kind::kTimestamp: {
          const int64_t us = static_cast<int64_t*>(d)[r];
          int64_t pg;
          if (us == INT64_MAX)
            pg = INT64_MAX;
          else if (us == -INT64_MAX)
            pg = INT64_MIN;
          else
            pg = us - kPgEpochMicros;
          w.I32(8), w.I64(pg);
          break;
        }
        case Kind::kTime:
          w.I32(8), w.I64(static_cast<int64_t*>(d)[r]);
          break;
        case Kind::kInterval: {
          const duckdb_interval& iv = static_cast<duckdb_interval*>(d)[r];
          w.I32(16), w.I64(iv.micros), w.I32(iv.days), w.I32(iv.months);
          break;
        }
        case Kind::kUuid: {
          // DuckDB keeps a UUID as a hugeint with the top bit flipped (so that it sorts).
          const duckdb_hugeint& h = static_cast<duckdb_hugeint*>(d)[r];
          w.I32(16);
          w.I64(static_cast<int64_t>(static_cast<uint64_t>(h.upper) ^ (uint64_t{1} << 63)));
          w.I64(static_cast<int64_t>(h.lower));
          break;
        }
      }
    }
  }
}

struct ResultCloser {
  duckdb_result* res;
  ~ResultCloser() { duckdb_destroy_result(res); }
};

Status DuckError(duckdb_result* res, const std::string& what) {
  const char* e = duckdb_result_error(res);
  std::string msg = e ? e : "unknown DuckDB error";
  if (duckdb_result_error_type(res) == DUCKDB_ERROR_INTERRUPT) return Status::Aborted(what + ": " + msg);
  return Status::InvalidArgument(what + ": " + msg);
}

}  // namespace

Result<CopyStats> CopyToPostgres(duck::Connection* duck, const std::string& select_sql,
                                 const std::vector<PgColumn>& columns, pg::Connection* pg,
                                 const std::string& qualified_table, CancelToken* cancel) {
  std::string select = "SELECT ";
  std::string target = qualified_table + " (";
  for (size_t i = 0; i < columns.size(); ++i) {
    select += (i ? ", " : "") + columns[i].select;
    target += (i ? ", " : "") + pg::QuoteIdent(columns[i].name);
  }
  select += " FROM (" + select_sql + ") AS _strata_export";
  target += ")";

  // A streaming result: DuckDB produces chunks as they are fetched, so memory stays flat
  // whatever the size of the table.
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare(duck->handle(), select.c_str(), &stmt) != DuckDBSuccess) {
    const char* e = duckdb_prepare_error(stmt);
    Status s =
        Status::InvalidArgument(std::string("reading for ") + qualified_table + ": " + (e ? e : "cannot prepare"));
    duckdb_destroy_prepare(&stmt);
    return s;
  }
  duckdb_pending_result pending = nullptr;
  const duckdb_state st = duckdb_pending_prepared_streaming(stmt, &pending);
  duckdb_destroy_prepare(&stmt);
  if (st != DuckDBSuccess) {
    const char* e = duckdb_pending_error(pending);
    Status s =
        Status::InvalidArgument(std::string("reading for ") + qualified_table + ": " + (e ? e : "cannot execute"));
    duckdb_destroy_pending(&pending);
    return s;
  }
  duckdb_result res;
  const duckdb_state executed = duckdb_execute_pending(pending, &res);
  duckdb_destroy_pending(&pending);
  ResultCloser closer{&res};
  if (executed != DuckDBSuccess) return DuckError(&res, "reading for " + qualified_table);
  STRATA_ASSIGN_OR_RETURN(auto plan, Plan(&res, columns));

  CancelScope stop(cancel, [duck, pg] {
    duck->Interrupt();
    pg->Cancel();
  });
  CopyStats stats;
  bool header = false, done = false;
  auto fill = [&](std::string* buf) -> Result<bool> {
    if (!header) {
      buf->append(kHeader, kHeaderSize);
      header = true;
    }
    // About 1 MiB per round trip to libpq.
    while (buf->size() < (1u << 20)) {
      duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
      if (chunk == nullptr) {
        const char* e = duckdb_result_error(&res);
        if (e != nullptr) return DuckError(&res, "reading for " + qualified_table);
        done = true;
        break;
      }
      EncodeChunk(chunk, plan, buf);
      duckdb_destroy_data_chunk(&chunk);
    }
    if (done) {
      const char trailer[2] = {'\xff', '\xff'};
      buf->append(trailer, 2);
    }
    stats.bytes += static_cast<int64_t>(buf->size());
    if (cancel != nullptr && cancel->cancelled()) return Status::Aborted("cancelled: " + cancel->reason());
    return !done;
  };
  STRATA_ASSIGN_OR_RETURN(stats.rows, pg->CopyIn("copy " + target + " from stdin (format binary)", fill));
  return stats;
}

}  // namespace strata::warehouse
