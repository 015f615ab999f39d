// SCD Type 2 snapshots on hand-written fixtures. Each case's expected history was worked out
// by hand: the source table changes between runs, and the runs have fixed timestamps.
#include <gtest/gtest.h>

#include <optional>

#include "testing.h"
#include "transform/loader.h"
#include "transform/runner.h"
#include "transform/target.h"
#include "warehouse/session.h"

namespace strata::transform {
namespace {

using strata::testing::TempDir;
using strata::testing::WriteText;
using V = std::vector<std::string>;

// "01 10:00" (day, hour and minute) of a timestamp rendered "2024-01-01 10:00:00"; NULL -> "current".
std::string DayTime(const std::optional<std::string>& ts) {
  return ts ? ts->substr(8, 2) + " " + ts->substr(11, 5) : "current";
}

class SnapshotTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      const testing::PgServer* pg = testing::Postgres();
      ASSERT_NE(pg, nullptr);
      schema_ = testing::PgTestSchema("s");
      profile_ = testing::PgProfileTarget(*pg, schema_);
    }
  }
  void TearDown() override {
    if (GetParam() != "postgres" || !db_) return;
    auto c = db_->Connect();
    if (!c.ok()) return;
    for (const auto& sch : {schema_, schema_ + "_snapshots"})
      (void)(*c)->Execute("DROP SCHEMA IF EXISTS " + sch + " CASCADE");
  }

  void Project(std::string config) {
    // Snapshots land in <snapshots_>; the source is table <schema_>.src, which Snap() rewrites.
    config.replace(config.find("'snapshots'"), 11, "'" + Snapshots() + "'");
    WriteText(dir_.Sub("dbt_project.yml"), "name: snap\nprofile: snap\n");
    WriteText(dir_.Sub("profiles.yml"), "snap:\n  target: dev\n  outputs:\n    dev: " + profile_ + "\n");
    WriteText(dir_.Sub("snapshots/customers_snapshot.sql"), "{% snapshot customers_snapshot %}\n{{ config(" + config +
                                                                ") }}\nselect * from " + schema_ +
                                                                ".src\n{% endsnapshot %}\n");
  }
  std::string Snapshots() const { return GetParam() == "postgres" ? schema_ + "_snapshots" : "snapshots"; }

  // Writes the source rows ("id,segment,city,updated_at" lines; an empty field is NULL) and
  // snapshots at `now`.
  void Snap(const std::string& rows, const std::string& now) {
    LoadOptions lo;
    lo.project_dir = dir_.path();
    lo.run_started_at = now;
    auto p = LoadedProject::Load(lo);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    project_ = std::move(*p);
    db_.reset();
    auto db = warehouse::OpenEngine(TargetOf(project_->profile));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    std::string values;
    size_t start = 0;
    for (size_t nl; (nl = rows.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::vector<std::string> f;
      std::string line = rows.substr(start, nl - start);
      for (size_t a = 0, b;; a = b + 1) {
        b = line.find(',', a);
        f.push_back(line.substr(a, b == std::string::npos ? std::string::npos : b - a));
        if (b == std::string::npos) break;
      }
      auto text = [](const std::string& v) { return v.empty() ? std::string("NULL") : "'" + v + "'"; };
      values += std::string(values.empty() ? "" : ", ") + "(" + f[0] + ", " + text(f[1]) + ", " + text(f[2]) +
                ", cast(" + text(f[3]) + " as timestamp))";
    }
    auto c = db_->Connect();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    Status st = (*c)->Execute("create schema if not exists " + schema_ + "; create table if not exists " + schema_ +
                              ".src (id integer, segment varchar, city varchar, updated_at timestamp); delete from " +
                              schema_ + ".src; insert into " + schema_ + ".src values " + values);
    ASSERT_TRUE(st.ok()) << st.ToString();
    Runner runner(project_.get(), db_.get());
    RunOptions ro;
    ro.verb = Verb::kSnapshot;
    auto r = runner.Execute(ro);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->results.size(), 1u);
    last_ = r->results[0];
  }

  // Rows of the snapshot as "col|col|...|valid_from|valid_to", the validity as DayTime().
  V History(const std::string& columns = "id, segment, city") {
    auto c = *db_->Connect();
    auto r = c->Query("select " + columns + ", cast(dbt_valid_from as varchar), cast(dbt_valid_to as varchar) from " +
                      Snapshots() + ".customers_snapshot order by id, dbt_valid_from");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    V out;
    if (!r.ok()) return out;
    for (const auto& row : r->rows) {
      std::string line;
      for (size_t i = 0; i + 2 < row.size(); ++i) line += (i ? "|" : "") + row[i].value_or("NULL");
      out.push_back(line + "|" + DayTime(row[row.size() - 2]) + "|" + DayTime(row.back()));
    }
    return out;
  }

  int64_t CurrentPerKeyMax() {
    auto c = *db_->Connect();
    auto r = c->Query("select coalesce(max(n), 0) from (select count(*) n from " + Snapshots() +
                      ".customers_snapshot where dbt_valid_to is null group by id) per_key");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::stoll(*r->Scalar()) : -1;
  }

  std::string schema_ = "main";
  std::string profile_ = "{type: duckdb, path: wh.duckdb}";
  TempDir dir_;
  std::unique_ptr<LoadedProject> project_;
  std::unique_ptr<warehouse::Engine> db_;
  NodeResult last_;
};

TEST_P(SnapshotTest, TimestampStrategyEveryCase) {
  Project(
      "target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at', "
      "invalidate_hard_deletes=True");
  Snap("1,bronze,Oslo,2024-01-01 10:00:00\n2,silver,Rome,2024-01-01 11:00:00\n3,gold,Lima,2024-01-01 12:00:00\n",
       "2024-01-01 23:00:00");
  ASSERT_EQ(last_.status, "success") << last_.message;
  // Run 2: 1 changes segment; 2 unchanged; 3 deleted; 4 new.
  Snap("1,silver,Oslo,2024-01-02 09:00:00\n2,silver,Rome,2024-01-01 11:00:00\n4,bronze,Kyiv,2024-01-02 10:00:00\n",
       "2024-01-02 23:00:00");
  ASSERT_EQ(last_.status, "success") << last_.message;
  // Run 3: nothing changed: no new versions.
  Snap("1,silver,Oslo,2024-01-02 09:00:00\n2,silver,Rome,2024-01-01 11:00:00\n4,bronze,Kyiv,2024-01-02 10:00:00\n",
       "2024-01-03 23:00:00");
  ASSERT_EQ(last_.status, "success") << last_.message;
  // Run 4: 3 re-inserted; 2 changed twice since the last run (only the latest state is seen).
  Snap(
      "1,silver,Oslo,2024-01-02 09:00:00\n2,platinum,Rome,2024-01-04 15:00:00\n3,gold,Lima,2024-01-04 08:00:00\n"
      "4,bronze,Kyiv,2024-01-02 10:00:00\n",
      "2024-01-04 23:00:00");
  ASSERT_EQ(last_.status, "success") << last_.message;
  EXPECT_EQ(History(), (V{
                           "1|bronze|Oslo|01 10:00|02 09:00",
                           "1|silver|Oslo|02 09:00|current",
                           "2|silver|Rome|01 11:00|04 15:00",
                           "2|platinum|Rome|04 15:00|current",
                           "3|gold|Lima|01 12:00|02 23:00",  // closed by the hard delete at run 2's now
                           "3|gold|Lima|04 08:00|current",
                           "4|bronze|Kyiv|02 10:00|current",
                       }));
  EXPECT_EQ(CurrentPerKeyMax(), 1);
}

TEST_P(SnapshotTest, CheckStrategyIsNullSafeAndIgnoresUncheckedColumns) {
  Project("target_schema='snapshots', unique_key='id', strategy='check', check_cols=['segment']");
  Snap("1,bronze,Oslo,2024-01-01 10:00:00\n2,,Rome,2024-01-01 11:00:00\n", "2024-01-01 23:00:00");
  // 1: only the unchecked city changes -> no version. 2: NULL -> NULL is no change.
  Snap("1,bronze,Bergen,2024-01-02 10:00:00\n2,,Rome,2024-01-02 11:00:00\n", "2024-01-02 23:00:00");
  // 2: NULL -> gold is a change (null-safe comparison), valid from the run's time.
  Snap("1,bronze,Bergen,2024-01-02 10:00:00\n2,gold,Rome,2024-01-03 11:00:00\n", "2024-01-03 23:00:00");
  ASSERT_EQ(last_.status, "success") << last_.message;
  EXPECT_EQ(History(), (V{
                           "1|bronze|Oslo|01 23:00|current",
                           "2|NULL|Rome|01 23:00|03 23:00",
                           "2|gold|Rome|03 23:00|current",
                       }));
}

TEST_P(SnapshotTest, HardDeletesNewRecordMarksAndReopens) {
  Project(
      "target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at', "
      "hard_deletes='new_record'");
  Snap("1,bronze,Oslo,2024-01-01 10:00:00\n2,silver,Rome,2024-01-01 11:00:00\n", "2024-01-01 23:00:00");
  Snap("2,silver,Rome,2024-01-01 11:00:00\n", "2024-01-02 23:00:00");  // 1 deleted
  Snap("2,silver,Rome,2024-01-01 11:00:00\n", "2024-01-03 23:00:00");  // still deleted: no new rows
  Snap("1,gold,Oslo,2024-01-04 09:00:00\n2,silver,Rome,2024-01-01 11:00:00\n", "2024-01-04 23:00:00");  // back
  ASSERT_EQ(last_.status, "success") << last_.message;
  V got = History("id, segment, dbt_is_deleted");
  EXPECT_EQ(got, (V{
                     "1|bronze|False|01 10:00|02 23:00",
                     "1|bronze|True|02 23:00|04 09:00",
                     "1|gold|False|04 09:00|current",
                     "2|silver|False|01 11:00|current",
                 }));
  EXPECT_EQ(CurrentPerKeyMax(), 1);
}

TEST_P(SnapshotTest, DuplicateKeysInTheSourceAreRefused) {
  Project("target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at'");
  Snap("1,bronze,Oslo,2024-01-01 10:00:00\n1,silver,Oslo,2024-01-01 11:00:00\n", "2024-01-01 23:00:00");
  EXPECT_EQ(last_.status, "error");
  EXPECT_NE(last_.message.find("more than once"), std::string::npos) << last_.message;
}

// Snapshot times have microseconds, as dbt's do: two runs within one second (no fixed time:
// each run's own) still give a valid, non-overlapping version chain.
TEST_P(SnapshotTest, TwoRunsWithinOneSecondKeepAValidChain) {
  Project("target_schema='snapshots', unique_key='id', strategy='check', check_cols=['segment']");
  Snap("1,gold,Oslo,2024-01-01 00:00:00\n", "");
  Snap("1,silver,Oslo,2024-01-01 00:00:00\n", "");
  Snap("1,bronze,Oslo,2024-01-01 00:00:00\n", "");
  auto c = *db_->Connect();
  auto r = c->Query("select segment, cast(dbt_valid_from as varchar), cast(dbt_valid_to as varchar) from " +
                    Snapshots() + ".customers_snapshot order by dbt_valid_from");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(*r->rows[i][0], (V{"gold", "silver", "bronze"})[i]);
    if (i + 1 < 3) {
      ASSERT_TRUE(r->rows[i][2]) << "version " << i << " is not closed";
      EXPECT_EQ(*r->rows[i][2], *r->rows[i + 1][1]) << "the chain has a gap or an overlap";
      EXPECT_LT(*r->rows[i][1], *r->rows[i][2]) << "a zero-length interval: " << *r->rows[i][1];
    }
  }
  EXPECT_FALSE(r->rows[2][2]) << "the newest version is current";
  EXPECT_EQ(CurrentPerKeyMax(), 1);
}

INSTANTIATE_TEST_SUITE_P(Engines, SnapshotTest, ::testing::Values("duckdb", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace strata::transform
