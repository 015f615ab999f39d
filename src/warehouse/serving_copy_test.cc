// Serving copies: each publication becomes a new immutable file that readers open read-only
// while the warehouse stays open for writing; CURRENT moves only once a copy is whole.
#include "warehouse/serving_copy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/file.h"
#include "db/duckdb.h"
#include "testing.h"

namespace strata::warehouse {
namespace {

namespace fs = std::filesystem;
using testing::WriteText;

class ServingCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = *duck::Database::Open(dir_.Sub("wh.duckdb"));
    conn_ = *db_->Connect();
    ASSERT_TRUE(
        conn_
            ->Execute("CREATE SCHEMA analytics; CREATE SCHEMA staging;"
                      "CREATE TABLE analytics.orders AS SELECT range AS id, range * 2.5 AS amount FROM range(100);"
                      "CREATE TABLE analytics.customers (id INT, segment VARCHAR);"
                      "INSERT INTO analytics.customers VALUES (1, 'vip'), (2, NULL);"
                      "CREATE TABLE staging.not_served AS SELECT 1 AS x;")
            .ok());
  }

  // relation -> fingerprint, as the copy records them.
  std::map<std::string, std::string> Fingerprints(const std::string& file) {
    auto db = duck::Database::Open(file, {{"access_mode", "READ_ONLY"}});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    auto c = *(*db)->Connect();
    auto r = c->Query("SELECT relation, fingerprint FROM analytics._strata_serving");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::map<std::string, std::string> out;
    for (const auto& row : r->rows) out[*row[0]] = *row[1];
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<duck::Database> db_;
  std::unique_ptr<duck::Connection> conn_;
};

TEST_F(ServingCopyTest, ACopyIsReadableWhileTheWarehouseIsOpenForWriting) {
  const std::string served = dir_.Sub("published");
  auto none = CurrentServingCopy(served);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto copy = WriteServingCopy(conn_.get(), "analytics", served);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ(copy->version, 1);
  auto current = CurrentServingCopy(served);
  ASSERT_TRUE(current.ok() && current->has_value());
  EXPECT_EQ((*current)->file, copy->file);

  // The writer (db_) still holds wh.duckdb; another reader opens the copy.
  auto reader = duck::Database::Open(copy->file, {{"access_mode", "READ_ONLY"}});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto c = *(*reader)->Connect();
  auto sum = c->Query("SELECT count(*), sum(amount) FROM analytics.orders");
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_EQ(*sum->rows[0][0], "100");
  EXPECT_EQ(std::stod(*sum->rows[0][1]), 2.5 * 99 * 100 / 2);
  auto segments = c->Query("SELECT segment FROM analytics.customers ORDER BY id");
  ASSERT_TRUE(segments.ok());
  ASSERT_EQ(segments->rows.size(), 2u);
  EXPECT_EQ(*segments->rows[0][0], "vip");
  EXPECT_FALSE(segments->rows[1][0].has_value());
  // Only the published schema is copied, and the copy cannot be written.
  EXPECT_FALSE(c->Query("SELECT * FROM staging.not_served").ok());
  EXPECT_FALSE(c->Execute("INSERT INTO analytics.customers VALUES (3, 'x')").ok());
  EXPECT_FALSE(fs::exists(copy->file + ".wal"));
  EXPECT_FALSE(fs::exists(copy->file + ".tmp"));
}

TEST_F(ServingCopyTest, FingerprintsChangeExactlyWithTheRows) {
  const std::string served = dir_.Sub("published");
  auto v1 = WriteServingCopy(conn_.get(), "analytics", served);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  auto f1 = Fingerprints(v1->file);
  // Same rows in another physical order: same fingerprint.
  ASSERT_TRUE(
      conn_->Execute("CREATE OR REPLACE TABLE analytics.orders AS SELECT * FROM analytics.orders ORDER BY id DESC")
          .ok());
  auto v2 = WriteServingCopy(conn_.get(), "analytics", served);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(Fingerprints(v2->file), f1);
  ASSERT_TRUE(conn_->Execute("UPDATE analytics.customers SET segment = 'regular' WHERE id = 2").ok());
  auto v3 = WriteServingCopy(conn_.get(), "analytics", served);
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->version, 3);

  auto f3 = Fingerprints(v3->file);
  EXPECT_EQ(f1.at("orders"), f3.at("orders"));
  EXPECT_NE(f1.at("customers"), f3.at("customers"));
  EXPECT_FALSE(fs::exists(v1->file)) << "copies older than the previous one are removed";
  EXPECT_TRUE(fs::exists(v2->file)) << "the previous copy stays for readers switching from it";
}

TEST_F(ServingCopyTest, AFailedCopyLeavesCurrentAsItWas) {
  const std::string served = dir_.Sub("published");
  auto v1 = WriteServingCopy(conn_.get(), "analytics", served);
  ASSERT_TRUE(v1.ok());
  auto bad = WriteServingCopy(conn_.get(), "no_such_schema", served);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no_such_schema"), std::string::npos) << bad.status().message();
  auto current = CurrentServingCopy(served);
  ASSERT_TRUE(current.ok() && current->has_value());
  EXPECT_EQ((*current)->version, 1);
  // A stray half-written copy (a crash mid-copy) is skipped over and cleaned up.
  WriteText(dir_.Sub("published/published-000002.duckdb.tmp"), "torn");
  auto v3 = WriteServingCopy(conn_.get(), "analytics", served);
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  EXPECT_EQ(v3->version, 2);
  EXPECT_FALSE(fs::exists(dir_.Sub("published/published-000002.duckdb.tmp")));
}

TEST_F(ServingCopyTest, ADamagedCurrentIsCorruptionNamingIt) {
  const std::string served = dir_.Sub("published");
  WriteText(dir_.Sub("published/CURRENT"), "something else\n");
  auto c = CurrentServingCopy(served);
  EXPECT_EQ(c.status().code(), Status::Code::kCorruption);
  EXPECT_NE(c.status().message().find("CURRENT"), std::string::npos);
  WriteText(dir_.Sub("published/CURRENT"), "published-000009.duckdb\n");
  c = CurrentServingCopy(served);
  EXPECT_EQ(c.status().code(), Status::Code::kCorruption);
  EXPECT_NE(c.status().message().find("missing"), std::string::npos);
}

}  // namespace
}  // namespace strata::warehouse
