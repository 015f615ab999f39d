#include "transform/seed_csv.h"

#include <gtest/gtest.h>

namespace strata::transform {
namespace {

// The type inferred for a one-column seed with these values (one per line).
std::string TypeOf(const std::string& values) {
  auto cols = ReadSeedColumns("c\n" + values, "s.csv", ',');
  if (!cols.ok()) return "error: " + cols.status().message();
  return cols->at(0).type;
}

TEST(SeedCsvTest, TypesFollowAgatesOrder) {
  EXPECT_EQ(TypeOf("1\n-2\n+3\n007\n"), "integer");
  EXPECT_EQ(TypeOf(" 7 \n8\n"), "integer");  // agate strips
  EXPECT_EQ(TypeOf("1\n2.5\n"), "float8");   // a fraction anywhere makes the column a number
  EXPECT_EQ(TypeOf("2.5\n1\n"), "float8");   // in either order
  EXPECT_EQ(TypeOf("1e5\n"), "float8");
  EXPECT_EQ(TypeOf(".5\n5.\n"), "float8");
  EXPECT_EQ(TypeOf("\"1,000\"\n"), "text");  // no group separators
  EXPECT_EQ(TypeOf("2024-01-31\n2024-2-29\n"), "date");
  EXPECT_EQ(TypeOf("2023-02-29\n"), "text");  // not a leap year
  EXPECT_EQ(TypeOf("2024-13-01\n"), "text");
  EXPECT_EQ(TypeOf("2024-01-31 10:00:00\n2024-01-31T10:00\n2024-01-31T10:00:00.123456\n"), "timestamp");
  EXPECT_EQ(TypeOf("2024-01-31\n2024-01-31 10:00:00\n"), "timestamp");  // a date is a timestamp too
  EXPECT_EQ(TypeOf("2024-01-31T10:00:00Z\n2024-01-31 10:00:00\n"), "timestamp with time zone");
  EXPECT_EQ(TypeOf("2024-01-31T10:00:00+02:00\n"), "timestamp with time zone");
  EXPECT_EQ(TypeOf("2024-01-31T25:00:00\n"), "text");
  EXPECT_EQ(TypeOf("10:00:00\n"), "text");  // agate has no time type
  EXPECT_EQ(TypeOf("true\nFALSE\nTrue\n"), "boolean");
  EXPECT_EQ(TypeOf("yes\nno\n"), "text");
  EXPECT_EQ(TypeOf("1\nabc\n"), "text");
}

TEST(SeedCsvTest, IntegersWidenWhereDbtWouldFail) {
  EXPECT_EQ(TypeOf("2147483647\n-2147483648\n"), "integer");
  EXPECT_EQ(TypeOf("2147483648\n"), "bigint");
  EXPECT_EQ(TypeOf("-2147483649\n"), "bigint");
  EXPECT_EQ(TypeOf("9223372036854775807\n"), "decimal(38,0)");  // 19 digits
  EXPECT_EQ(TypeOf("000000000000000000001\n"), "integer");      // leading zeros do not count
  EXPECT_EQ(TypeOf(std::string(39, '9') + "\n"), "text");
}

TEST(SeedCsvTest, NullsFitEveryTypeAndAnEmptyColumnIsInteger) {
  EXPECT_EQ(TypeOf("\n"), "integer");
  EXPECT_EQ(TypeOf(",\n"), "error: s.csv:2: 2 field(s), but the header has 1");
  auto cols = ReadSeedColumns("a,b,c\n,1,x\n\"\",,null\n", "s.csv", ',');
  ASSERT_TRUE(cols.ok()) << cols.status().message();
  EXPECT_EQ((*cols)[0].type, "integer");
  EXPECT_FALSE((*cols)[0].text_nulls);
  EXPECT_EQ((*cols)[1].type, "integer");
  EXPECT_EQ((*cols)[2].type, "text");
  EXPECT_TRUE((*cols)[2].text_nulls);  // "null" is NULL in a text column
  // "null" in a number column makes it text (agate reads it as null only there).
  EXPECT_EQ(TypeOf("1\nNULL\n"), "text");
  auto header_only = ReadSeedColumns("a,b\n", "s.csv", ',');
  ASSERT_TRUE(header_only.ok());
  EXPECT_EQ(header_only->size(), 2u);
  EXPECT_EQ((*header_only)[1].type, "integer");
}

TEST(SeedCsvTest, ShapeErrorsNameTheLine) {
  auto ragged = ReadSeedColumns("id,name\n1,\"a\nb\"\n2,b,extra\n", "seeds/r.csv", ',');
  ASSERT_FALSE(ragged.ok());
  // The quoted field spans lines 2-3, so the ragged record is on line 4.
  EXPECT_EQ(ragged.status().message(), "seeds/r.csv:4: 3 field(s), but the header has 2");
  auto open = ReadSeedColumns("id,name\n1,\"a\n", "seeds/q.csv", ',');
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().message(), "seeds/q.csv:2: a quote is never closed");
  auto empty = ReadSeedColumns("", "seeds/e.csv", ',');
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("seeds/e.csv"), std::string::npos);
  auto semi = ReadSeedColumns("a;b\n1;x, y\n", "s.csv", ';');
  ASSERT_TRUE(semi.ok());
  EXPECT_EQ((*semi)[0].name, "a");
  EXPECT_EQ((*semi)[1].type, "text");
}

}  // namespace
}  // namespace strata::transform
