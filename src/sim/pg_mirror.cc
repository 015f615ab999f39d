#include "sim/pg_mirror.h"

#include "db/sqlite.h"

namespace strata::sim {

namespace {

struct MirrorTable {
  const char* name;
  const char* ddl;  // columns, in shop.db's order
};

// shop.db's tables (sim/internal/shop_db.cc) with PostgreSQL types.
const MirrorTable kTables[] = {
    {"customers",
     "customer_id bigint primary key, email text not null, first_name text, last_name text, country text, "
     "city text, segment text not null, created_at timestamp not null, updated_at timestamp not null"},
    {"products",
     "product_id bigint primary key, sku text not null, name text not null, category text not null, brand text, "
     "unit_price numeric(12,2) not null, is_active bigint not null, created_at timestamp not null, "
     "updated_at timestamp not null"},
    {"orders",
     "order_id bigint primary key, customer_id bigint not null, status text not null, "
     "order_total numeric(12,2) not null, currency text not null, payment_method text, shipping_country text, "
     "placed_at timestamp not null, created_at timestamp not null, updated_at timestamp not null"},
    {"order_items",
     "order_item_id bigint primary key, order_id bigint not null, product_id bigint not null, "
     "quantity bigint not null, unit_price numeric(12,2) not null, discount_amount numeric(12,2) not null, "
     "created_at timestamp not null, updated_at timestamp not null"},
};

// One CSV field: quoted when it holds a delimiter, quote or line break; NULL is empty.
void AppendCsv(std::string* out, std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos && !v.empty()) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

Result<MirrorStats> MirrorToPostgres(const std::string& shop_db, pg::Connection* pg, const std::string& schema) {
  STRATA_ASSIGN_OR_RETURN(auto db, db::SqliteDb::Open(shop_db, /*read_only=*/true, /*create=*/false));
  STRATA_RETURN_IF_ERROR(db.Exec("BEGIN"));  // one snapshot of shop.db
  MirrorStats stats;
  const std::string qs = pg::QuoteIdent(schema);
  auto mirror = [&]() -> Status {
    STRATA_RETURN_IF_ERROR(pg->Begin());
    STRATA_RETURN_IF_ERROR(pg->Execute("create schema if not exists " + qs));
    for (const auto& t : kTables) {
      const std::string rel = qs + "." + pg::QuoteIdent(t.name);
      STRATA_RETURN_IF_ERROR(pg->Execute("create table if not exists " + rel + " (" + t.ddl + "); truncate " + rel));
      STRATA_ASSIGN_OR_RETURN(auto st, db.Prepare(std::string("SELECT * FROM ") + t.name));
      bool done = false;
      auto fill = [&](std::string* buf) -> Result<bool> {
        while (!done && buf->size() < (1u << 20)) {
          STRATA_ASSIGN_OR_RETURN(bool row, st.Step());
          if (!row) {
            done = true;
            break;
          }
          for (int i = 0; i < st.ColumnCount(); ++i) {
            if (i > 0) buf->push_back(',');
            if (st.ColumnIsNull(i)) continue;
            if (st.ColumnType(i) == SQLITE_FLOAT) {
              char num[32];
              std::snprintf(num, sizeof num, "%.2f", st.ColumnDouble(i));  // money columns
              buf->append(num);
            } else {
              AppendCsv(buf, st.ColumnText(i));
            }
          }
          buf->push_back('\n');
        }
        return !done;
      };
      STRATA_ASSIGN_OR_RETURN(int64_t rows, pg->CopyIn("copy " + rel + " from stdin (format csv)", fill));
      stats.rows += rows;
      ++stats.tables;
    }
    return pg->Commit();
  };
  Status s = mirror();
  (void)db.Exec("COMMIT");
  if (!s.ok()) {
    if (pg->InTransaction()) (void)pg->Rollback();
    return s.WithContext("mirroring " + shop_db + " to postgres " + pg->options().Describe());
  }
  return stats;
}

}  // namespace strata::sim
