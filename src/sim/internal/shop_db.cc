#include "sim/internal/shop_db.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/date.h"
#include "sim/internal/vocab.h"

namespace strata::sim::internal {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE customers(
  customer_id INTEGER PRIMARY KEY,
  email TEXT NOT NULL,
  first_name TEXT,
  last_name TEXT,
  country TEXT,
  city TEXT,
  segment TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL);
CREATE INDEX customers_updated_at ON customers(updated_at);
CREATE TABLE products(
  product_id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  category TEXT NOT NULL,
  brand TEXT,
  unit_price NUMERIC(12,2) NOT NULL,
  is_active INTEGER NOT NULL,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL);
CREATE INDEX products_updated_at ON products(updated_at);
CREATE TABLE orders(
  order_id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  order_total NUMERIC(12,2) NOT NULL,
  currency TEXT NOT NULL,
  payment_method TEXT,
  shipping_country TEXT,
  placed_at TIMESTAMP NOT NULL,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL);
CREATE INDEX orders_updated_at ON orders(updated_at);
CREATE TABLE order_items(
  order_item_id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL,
  product_id INTEGER NOT NULL,
  quantity INTEGER NOT NULL,
  unit_price NUMERIC(12,2) NOT NULL,
  discount_amount NUMERIC(12,2) NOT NULL,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL);
CREATE INDEX order_items_updated_at ON order_items(updated_at);
CREATE TABLE sim_segment_changes(
  customer_id INTEGER NOT NULL,
  segment TEXT NOT NULL,
  changed_at TIMESTAMP NOT NULL,
  PRIMARY KEY (customer_id, changed_at));
)sql";

// Formats "YYYY-MM-DD HH:MM:SS" with a cached date prefix (timestamps of one day repeat it).
class TsFormatter {
 public:
  const std::string& Format(int64_t epoch) {
    int64_t day = epoch >= 0 ? epoch / 86400 : (epoch - 86399) / 86400;
    if (day != day_ || prefix_.empty()) {
      day_ = day;
      prefix_ = Date::FromDays(day).ToString() + " ";
    }
    int64_t s = epoch - day * 86400;
    out_ = prefix_;
    char buf[8] = {static_cast<char>('0' + s / 36000),   static_cast<char>('0' + s / 3600 % 10), ':',
                   static_cast<char>('0' + s / 600 % 6), static_cast<char>('0' + s / 60 % 10),   ':',
                   static_cast<char>('0' + s % 60 / 10), static_cast<char>('0' + s % 10)};
    out_.append(buf, 8);
    return out_;
  }

 private:
  int64_t day_ = 0;
  std::string prefix_;
  std::string out_;
};

Status SyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open '" + path + "': " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IOError("cannot fsync '" + path + "': " + std::strerror(err));
  return Status::OK();
}

}  // namespace

Result<ShopDb> ShopDb::Create(const std::string& path) {
  ShopDb db;
  db.path_ = path;
  STRATA_ASSIGN_OR_RETURN(db.db_, SqliteDb::Open(path, /*read_only=*/false, /*create=*/true));
  STRATA_RETURN_IF_ERROR(db.Configure());
  STRATA_RETURN_IF_ERROR(db.db_.Exec(std::string("BEGIN;") + kSchema + "COMMIT;"));
  STRATA_RETURN_IF_ERROR(SyncFile(path));
  STRATA_RETURN_IF_ERROR(db.PrepareStatements());
  return db;
}

Result<ShopDb> ShopDb::Open(const std::string& path) {
  ShopDb db;
  db.path_ = path;
  STRATA_ASSIGN_OR_RETURN(db.db_, SqliteDb::Open(path, /*read_only=*/false, /*create=*/false));
  STRATA_RETURN_IF_ERROR(db.Configure());
  // Simulations made before the segment record existed cannot be extended: the record would
  // miss their earlier history, and tests take it as complete.
  STRATA_ASSIGN_OR_RETURN(int64_t has_record,
                          db.db_.QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                                          "name = 'sim_segment_changes'"));
  if (has_record == 0) {
    return Status::Corruption("'" + path +
                              "' has no sim_segment_changes table (made by an older "
                              "strata sim); regenerate the simulation");
  }
  STRATA_RETURN_IF_ERROR(db.PrepareStatements());
  return db;
}

Status ShopDb::Configure() {
  // A bigger page cache, and no fsync inside transactions: ApplyDay fsyncs the file once per
  // day instead. Neither changes the bytes written; the journal stays the default rollback one.
  return db_.Exec("PRAGMA cache_size=-65536; PRAGMA synchronous=OFF;");
}

Status ShopDb::PrepareStatements() {
  STRATA_ASSIGN_OR_RETURN(
      insert_product_,
      db_.Prepare("INSERT INTO products(product_id, sku, name, category, brand, unit_price, is_active, "
                  "created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7)"));
  STRATA_ASSIGN_OR_RETURN(update_product_price_,
                          db_.Prepare("UPDATE products SET unit_price = ?2, updated_at = ?3 WHERE product_id = ?1"));
  STRATA_ASSIGN_OR_RETURN(deactivate_product_,
                          db_.Prepare("UPDATE products SET is_active = 0, updated_at = ?2 WHERE product_id = ?1"));
  STRATA_ASSIGN_OR_RETURN(insert_customer_,
                          db_.Prepare("INSERT INTO customers(customer_id, email, first_name, last_name, country, city, "
                                      "segment, "
                                      "created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"));
  STRATA_ASSIGN_OR_RETURN(update_segment_,
                          db_.Prepare("UPDATE customers SET segment = ?2, updated_at = ?3 WHERE customer_id = ?1"));
  STRATA_ASSIGN_OR_RETURN(record_segment_, db_.Prepare("INSERT INTO sim_segment_changes(customer_id, segment, "
                                                       "changed_at) VALUES(?1, ?2, ?3)"));
  STRATA_ASSIGN_OR_RETURN(insert_order_, db_.Prepare("INSERT INTO orders(order_id, customer_id, status, "
                                                     "order_total, currency, payment_method, "
                                                     "shipping_country, placed_at, created_at, updated_at) "
                                                     "VALUES(?1, ?2, 'placed', ?3, 'USD', ?4, ?5, ?6, ?6, ?6)"));
  STRATA_ASSIGN_OR_RETURN(
      insert_item_, db_.Prepare("INSERT INTO order_items(order_item_id, order_id, product_id, quantity, unit_price, "
                                "discount_amount, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"));
  STRATA_ASSIGN_OR_RETURN(update_status_,
                          db_.Prepare("UPDATE orders SET status = ?2, updated_at = ?3 WHERE order_id = ?1"));
  return Status::OK();
}

Result<int64_t> ShopDb::DaysApplied() { return db_.QueryInt("PRAGMA user_version"); }

Result<int64_t> ShopDb::MaxId(const char* table, const char* key) {
  return db_.QueryInt(std::string("SELECT COALESCE(MAX(") + key + "), 0) FROM " + table);
}

Status ShopDb::LoadWorld(World* world) {
  {
    STRATA_ASSIGN_OR_RETURN(SqliteStmt stmt,
                            db_.Prepare("SELECT customer_id, segment, country FROM customers ORDER BY customer_id"));
    for (;;) {
      STRATA_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      if (stmt.ColumnInt(0) != static_cast<int64_t>(world->customers.size()) + 1) {
        return Status::Corruption("shop.db: customer ids are not 1..N");
      }
      CustomerRec c;
      std::string_view seg = stmt.ColumnText(1);
      c.segment = kNull8;
      for (size_t i = 0; i < kSegments.size(); ++i) {
        if (kSegments[i] == seg) c.segment = static_cast<uint8_t>(i);
      }
      if (c.segment == kNull8) return Status::Corruption("shop.db: unknown segment '" + std::string(seg) + "'");
      c.country = kNull8;
      if (!stmt.ColumnIsNull(2)) {
        std::string_view country = stmt.ColumnText(2);
        for (size_t i = 0; i < kCountries.size(); ++i) {
          if (kCountries[i].code == country) c.country = static_cast<uint8_t>(i);
        }
        if (c.country == kNull8) {
          return Status::Corruption("shop.db: unknown country '" + std::string(country) + "'");
        }
      }
      world->customers.push_back(c);
    }
  }
  STRATA_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_.Prepare("SELECT product_id, unit_price, is_active FROM products ORDER BY product_id"));
  for (;;) {
    STRATA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    if (stmt.ColumnInt(0) != static_cast<int64_t>(world->products.size()) + 1) {
      return Status::Corruption("shop.db: product ids are not 1..N");
    }
    world->products.push_back({stmt.ColumnCents(1), stmt.ColumnInt(2) != 0});
  }
  return Status::OK();
}

Status ShopDb::RecordSegment(int64_t customer_id, uint8_t segment, const std::string& at) {
  SqliteStmt& s = record_segment_;
  s.BindInt(1, customer_id);
  s.BindText(2, kSegments[segment]);
  s.BindText(3, at);
  return s.Run();
}

Status ShopDb::ApplyDay(const DayPlan& plan) {
  TsFormatter ts;
  STRATA_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    for (const NewProduct& p : plan.products) {
      SqliteStmt& s = insert_product_;
      s.BindInt(1, p.id);
      s.BindText(2, p.sku);
      s.BindText(3, p.name);
      s.BindText(4, kCategories[p.category].name);
      s.BindTextOrNull(5, p.brand);
      s.BindCents(6, p.price_cents);
      s.BindText(7, ts.Format(p.created));
      STRATA_RETURN_IF_ERROR(s.Run());
    }
    for (const ProductChange& ch : plan.product_changes) {
      if (ch.new_price_cents >= 0) {
        SqliteStmt& s = update_product_price_;
        s.BindInt(1, ch.id);
        s.BindCents(2, ch.new_price_cents);
        s.BindText(3, ts.Format(ch.ts));
        STRATA_RETURN_IF_ERROR(s.Run());
      }
      if (ch.deactivate) {
        SqliteStmt& s = deactivate_product_;
        s.BindInt(1, ch.id);
        s.BindText(2, ts.Format(ch.ts));
        STRATA_RETURN_IF_ERROR(s.Run());
      }
    }
    for (const NewCustomer& c : plan.customers) {
      SqliteStmt& s = insert_customer_;
      s.BindInt(1, c.id);
      s.BindText(2, c.email);
      s.BindTextOrNull(3, c.first_name);
      s.BindTextOrNull(4, c.last_name);
      if (c.country == kNull8) {
        s.BindNull(5);
        s.BindNull(6);
      } else {
        s.BindText(5, kCountries[c.country].code);
        s.BindText(6, kCountries[c.country].cities[c.city]);
      }
      s.BindText(7, kSegments[c.segment]);
      s.BindText(8, ts.Format(c.created));
      STRATA_RETURN_IF_ERROR(s.Run());
      STRATA_RETURN_IF_ERROR(RecordSegment(c.id, c.segment, ts.Format(c.created)));
    }
    for (const SegmentChange& ch : plan.segment_changes) {
      SqliteStmt& s = update_segment_;
      s.BindInt(1, ch.id);
      s.BindText(2, kSegments[ch.segment]);
      s.BindText(3, ts.Format(ch.ts));
      STRATA_RETURN_IF_ERROR(s.Run());
      STRATA_RETURN_IF_ERROR(RecordSegment(ch.id, ch.segment, ts.Format(ch.ts)));
    }
    for (const NewOrder& o : plan.orders) {
      const std::string& placed = ts.Format(o.placed);
      SqliteStmt& s = insert_order_;
      s.BindInt(1, o.id);
      s.BindInt(2, o.customer_id);
      s.BindCents(3, o.total_cents);
      if (o.payment == kNull8)
        s.BindNull(4);
      else
        s.BindText(4, kPaymentMethods[o.payment]);
      if (o.shipping_country == kNull8)
        s.BindNull(5);
      else
        s.BindText(5, kCountries[o.shipping_country].code);
      s.BindText(6, placed);
      STRATA_RETURN_IF_ERROR(s.Run());
      for (int32_t i = 0; i < o.num_items; ++i) {
        const NewItem& it = plan.items[static_cast<size_t>(o.first_item + i)];
        SqliteStmt& si = insert_item_;
        si.BindInt(1, it.id);
        si.BindInt(2, it.order_id);
        si.BindInt(3, it.product_id);
        si.BindInt(4, it.quantity);
        si.BindCents(5, it.unit_price_cents);
        si.BindCents(6, it.discount_cents);
        si.BindText(7, placed);
        STRATA_RETURN_IF_ERROR(si.Run());
      }
    }
    for (const StatusChange& ch : plan.status_changes) {
      SqliteStmt& s = update_status_;
      s.BindInt(1, ch.order_id);
      s.BindText(2, OrderStatusName(ch.status));
      s.BindText(3, ts.Format(ch.ts));
      STRATA_RETURN_IF_ERROR(s.Run());
    }
    return db_.Exec("PRAGMA user_version = " + std::to_string(plan.day + 1));
  };
  Status st = body();
  if (!st.ok()) {
    (void)db_.Exec("ROLLBACK");
    return st.WithContext("applying day " + plan.date.ToString() + " to shop.db");
  }
  STRATA_RETURN_IF_ERROR(db_.Exec("COMMIT"));
  return SyncFile(path_);
}

}  // namespace strata::sim::internal
