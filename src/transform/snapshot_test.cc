// SCD Type 2 snapshots on hand-written fixtures. Each case's expected history was worked out
// by hand: the source table changes between runs, and the runs have fixed timestamps.
#include <gtest/gtest.h>

#include "testing.h"
#include "transform/loader.h"
#include "transform/runner.h"
#include "warehouse/session.h"

namespace strata::transform {
namespace {

using strata::testing::TempDir;
using strata::testing::WriteText;
using V = std::vector<std::string>;

class SnapshotTest : public ::testing::Test {
 protected:
  void Project(const std::string& config) {
    WriteText(dir_.Sub("dbt_project.yml"), "name: snap\nprofile: snap\n");
    WriteText(dir_.Sub("profiles.yml"),
              "snap:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: wh.duckdb}\n");
    WriteText(dir_.Sub("snapshots/customers_snapshot.sql"),
              "{% snapshot customers_snapshot %}\n{{ config(" + config +
                  ") }}\nselect * from read_csv('" + dir_.Sub("src.csv") +
                  "', header=true, types={'id': 'INTEGER', 'segment': 'VARCHAR', 'city': 'VARCHAR', "
                  "'updated_at': 'TIMESTAMP'})\n{% endsnapshot %}\n");
  }

  // Writes the source rows ("id,segment,city,updated_at" lines) and snapshots at `now`.
  void Snap(const std::string& rows, const std::string& now) {
    WriteText(dir_.Sub("src.csv"), "id,segment,city,updated_at\n" + rows);
    LoadOptions lo;
    lo.project_dir = dir_.path();
    lo.run_started_at = now;
    auto p = LoadedProject::Load(lo);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    project_ = std::move(*p);
    db_.reset();
    db_ = std::move(*OpenTarget(project_->profile));
    Runner runner(project_.get(), db_.get());
    RunOptions ro;
    ro.verb = Verb::kSnapshot;
    auto r = runner.Execute(ro);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->results.size(), 1u);
    last_ = r->results[0];
  }

  V History() {
    auto c = *db_->Connect();
    auto r = c->Query(
        "select id, segment, city, strftime(dbt_valid_from, '%d %H:%M'), "
        "coalesce(strftime(dbt_valid_to, '%d %H:%M'), 'current') from snapshots.customers_snapshot "
        "order by id, dbt_valid_from");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    V out;
    for (const auto& row : r->rows) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) line += (i ? "|" : "") + row[i].value_or("NULL");
      out.push_back(line);
    }
    return out;
  }

  int64_t CurrentPerKeyMax() {
    auto c = *db_->Connect();
    auto r = c->Query("select coalesce(max(n), 0) from (select count(*) n from snapshots.customers_snapshot "
                      "where dbt_valid_to is null group by id)");
    return std::stoll(*r->Scalar());
  }

  TempDir dir_;
  std::unique_ptr<LoadedProject> project_;
  std::unique_ptr<warehouse::Engine> db_;
  NodeResult last_;
};

TEST_F(SnapshotTest, TimestampStrategyEveryCase) {
  Project("target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at', "
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
  Snap("1,silver,Oslo,2024-01-02 09:00:00\n2,platinum,Rome,2024-01-04 15:00:00\n3,gold,Lima,2024-01-04 08:00:00\n"
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

TEST_F(SnapshotTest, CheckStrategyIsNullSafeAndIgnoresUncheckedColumns) {
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

TEST_F(SnapshotTest, HardDeletesNewRecordMarksAndReopens) {
  Project("target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at', "
          "hard_deletes='new_record'");
  Snap("1,bronze,Oslo,2024-01-01 10:00:00\n2,silver,Rome,2024-01-01 11:00:00\n", "2024-01-01 23:00:00");
  Snap("2,silver,Rome,2024-01-01 11:00:00\n", "2024-01-02 23:00:00");  // 1 deleted
  Snap("2,silver,Rome,2024-01-01 11:00:00\n", "2024-01-03 23:00:00");  // still deleted: no new rows
  Snap("1,gold,Oslo,2024-01-04 09:00:00\n2,silver,Rome,2024-01-01 11:00:00\n", "2024-01-04 23:00:00");  // back
  ASSERT_EQ(last_.status, "success") << last_.message;
  auto c = *db_->Connect();
  auto r = c->Query("select id, segment, dbt_is_deleted, strftime(dbt_valid_from, '%d %H:%M'), "
                    "coalesce(strftime(dbt_valid_to, '%d %H:%M'), 'current') from snapshots.customers_snapshot "
                    "order by id, dbt_valid_from");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  V got;
  for (const auto& row : r->rows) got.push_back(*row[0] + "|" + *row[1] + "|" + *row[2] + "|" + *row[3] + "|" + *row[4]);
  EXPECT_EQ(got, (V{
                     "1|bronze|False|01 10:00|02 23:00",
                     "1|bronze|True|02 23:00|04 09:00",
                     "1|gold|False|04 09:00|current",
                     "2|silver|False|01 11:00|current",
                 }));
  EXPECT_EQ(CurrentPerKeyMax(), 1);
}

TEST_F(SnapshotTest, DuplicateKeysInTheSourceAreRefused) {
  Project("target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at'");
  Snap("1,bronze,Oslo,2024-01-01 10:00:00\n1,silver,Oslo,2024-01-01 11:00:00\n", "2024-01-01 23:00:00");
  EXPECT_EQ(last_.status, "error");
  EXPECT_NE(last_.message.find("more than once"), std::string::npos) << last_.message;
}

}  // namespace
}  // namespace strata::transform
