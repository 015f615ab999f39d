#include "transform/selector.h"

#include <gtest/gtest.h>

#include "core/hash.h"
#include "transform/artifacts.h"

namespace strata::transform {
namespace {

// A small project, drawn by hand:
//
//   source shopdb.orders ──► stg_orders ──► fct_orders ──► rpt_daily
//   source shopdb.items  ──► stg_items  ──┘      │
//                                               └──► test unique_fct_orders_id
//   seed holidays ──► dim_date (tag: calendar)
class SelectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddSource("shopdb", "orders");
    AddSource("shopdb", "items");
    Add(NodeType::kModel, "stg_orders", "models/staging/stg_orders.sql", {"source.shop.shopdb.orders"}, {"staging"},
        "view");
    Add(NodeType::kModel, "stg_items", "models/staging/stg_items.sql", {"source.shop.shopdb.items"}, {"staging"},
        "view");
    Add(NodeType::kModel, "fct_orders", "models/marts/fct_orders.sql",
        {"model.shop.stg_orders", "model.shop.stg_items"}, {"marts", "nightly"}, "incremental");
    Add(NodeType::kModel, "rpt_daily", "models/marts/reports/rpt_daily.sql", {"model.shop.fct_orders"}, {}, "table");
    Add(NodeType::kSeed, "holidays", "seeds/holidays.csv", {}, {"calendar"}, "seed");
    Add(NodeType::kModel, "dim_date", "models/marts/dim_date.sql", {"seed.shop.holidays"}, {"calendar"}, "table");
    Node t;
    t.type = NodeType::kTest;
    t.unique_id = "test.shop.unique_fct_orders_id";
    t.name = "unique_fct_orders_id";
    t.package = "shop";
    t.path = "models/marts/schema.yml";
    t.test_name = "unique";
    t.depends_on = {"model.shop.fct_orders"};
    t.fqn = {"shop", "marts", t.name};
    ASSERT_TRUE(manifest_.Add(t).ok());
    // A test of two models (like relationships): rpt_daily -> dim_date.
    t.unique_id = "test.shop.relationships_rpt_daily_dim_date";
    t.name = "relationships_rpt_daily_dim_date";
    t.test_name = "relationships";
    t.depends_on = {"model.shop.rpt_daily", "model.shop.dim_date"};
    t.fqn = {"shop", "marts", t.name};
    ASSERT_TRUE(manifest_.Add(t).ok());
    auto g = manifest_.BuildGraph();
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    graph_ = *g;
  }

  void AddSource(const std::string& src, const std::string& table) {
    Node n;
    n.type = NodeType::kSource;
    n.unique_id = "source.shop." + src + "." + table;
    n.name = table;
    n.package = "shop";
    n.path = "models/staging/_sources.yml";
    n.fqn = {"shop", "staging", src, table};
    ASSERT_TRUE(manifest_.Add(n).ok());
  }

  void Add(NodeType type, const std::string& name, const std::string& path, std::vector<std::string> deps,
           std::vector<std::string> tags, const std::string& materialized) {
    Node n;
    n.type = type;
    n.unique_id = std::string(NodeTypeName(type)) + ".shop." + name;
    n.name = name;
    n.package = "shop";
    n.path = path;
    n.depends_on = std::move(deps);
    n.tags = std::move(tags);
    n.config["materialized"] = materialized;
    n.fqn = {"shop"};
    std::string dir = path.substr(path.find('/') + 1);
    size_t slash;
    while ((slash = dir.find('/')) != std::string::npos) {
      n.fqn.push_back(dir.substr(0, slash));
      dir = dir.substr(slash + 1);
    }
    n.fqn.push_back(name);
    ASSERT_TRUE(manifest_.Add(n).ok());
  }

  std::set<std::string> Names(std::vector<std::string> select, std::vector<std::string> exclude = {},
                              bool indirect = true) {
    SelectOptions o;
    o.select = std::move(select);
    o.exclude = std::move(exclude);
    o.indirect_tests = indirect;
    return Names(o);
  }
  std::set<std::string> Names(const SelectOptions& o) {
    auto r = SelectNodes(manifest_, graph_, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::set<std::string> names;
    if (!r.ok()) return names;
    for (const auto& id : *r) names.insert(manifest_.Find(id)->name);
    return names;
  }

  Manifest manifest_;
  Graph graph_;
};

using S = std::set<std::string>;

TEST_F(SelectorTest, NamesPathsTagsAndSources) {
  EXPECT_EQ(Names({"stg_orders"}), S{"stg_orders"});
  EXPECT_EQ(Names({"stg_*"}), (S{"stg_orders", "stg_items"}));
  EXPECT_EQ(Names({"fct_orders"}), (S{"fct_orders", "unique_fct_orders_id"}));  // tests follow their model
  EXPECT_EQ(Names({"fct_orders"}, {}, false), S{"fct_orders"});
  EXPECT_EQ(Names({"path:models/marts/reports"}), (S{"rpt_daily", "relationships_rpt_daily_dim_date"}));
  EXPECT_EQ(Names({"models/staging"}), (S{"stg_orders", "stg_items", "orders", "items"}));
  EXPECT_EQ(Names({"tag:calendar"}), (S{"holidays", "dim_date", "relationships_rpt_daily_dim_date"}));
  EXPECT_EQ(Names({"source:shopdb.orders"}), S{"orders"});
  EXPECT_EQ(Names({"source:shopdb+"}, {}, false),
            (S{"orders", "items", "stg_orders", "stg_items", "fct_orders", "rpt_daily", "unique_fct_orders_id",
               "relationships_rpt_daily_dim_date"}));
  EXPECT_EQ(Names({"shop.marts.reports"}, {}, false), S{"rpt_daily"});
  EXPECT_EQ(Names({"resource_type:seed"}), S{"holidays"});
  EXPECT_EQ(Names({"config.materialized:incremental"}), (S{"fct_orders", "unique_fct_orders_id"}));
  EXPECT_EQ(Names({"test_type:generic"}), (S{"unique_fct_orders_id", "relationships_rpt_daily_dim_date"}));
}

TEST_F(SelectorTest, GraphOperators) {
  EXPECT_EQ(Names({"+fct_orders"}, {}, false), (S{"fct_orders", "stg_orders", "stg_items", "orders", "items"}));
  EXPECT_EQ(Names({"1+fct_orders"}, {}, false), (S{"fct_orders", "stg_orders", "stg_items"}));
  EXPECT_EQ(Names({"stg_orders+"}, {}, false),
            (S{"stg_orders", "fct_orders", "rpt_daily", "unique_fct_orders_id", "relationships_rpt_daily_dim_date"}));
  EXPECT_EQ(Names({"stg_orders+1"}, {}, false), (S{"stg_orders", "fct_orders"}));
  // @: the descendants and everything they need.
  EXPECT_EQ(Names({"@stg_orders"}, {}, false),
            (S{"stg_orders", "fct_orders", "rpt_daily", "unique_fct_orders_id", "stg_items", "orders", "items",
               "relationships_rpt_daily_dim_date", "dim_date", "holidays"}));
}

TEST_F(SelectorTest, UnionsIntersectionsAndExclude) {
  EXPECT_EQ(Names({"stg_orders dim_date"}, {}, false), (S{"stg_orders", "dim_date"}));
  EXPECT_EQ(Names({"stg_orders", "dim_date"}, {}, false), (S{"stg_orders", "dim_date"}));
  EXPECT_EQ(Names({"tag:staging,stg_items+"}, {}, false), S{"stg_items"});
  EXPECT_EQ(Names({"+rpt_daily"}, {"tag:staging source:shopdb"}, false), (S{"fct_orders", "rpt_daily"}));
  EXPECT_EQ(Names({}, {"resource_type:source", "resource_type:test", "tag:calendar"}),
            (S{"stg_orders", "stg_items", "fct_orders", "rpt_daily"}));
}

TEST_F(SelectorTest, BadSelectorsAreClearErrors) {
  SelectOptions o;
  o.select = {"tagg:x"};
  auto r = SelectNodes(manifest_, graph_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown selector method 'tagg' (did you mean 'tag'?)"), std::string::npos)
      << r.status().message();
}

TEST(Graph, CycleIsReportedWithItsPath) {
  Graph g;
  g.AddEdge("model.a", "model.b");
  g.AddEdge("model.b", "model.c");
  g.AddEdge("model.c", "model.a");
  g.AddEdge("model.x", "model.a");
  auto r = g.TopologicalOrder();
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  // Any rotation of the one cycle, in dependency order.
  EXPECT_TRUE(m == "dependency cycle: model.a -> model.b -> model.c -> model.a" ||
              m == "dependency cycle: model.b -> model.c -> model.a -> model.b" ||
              m == "dependency cycle: model.c -> model.a -> model.b -> model.c")
      << m;
}

TEST(Graph, TopologicalOrderIsStable) {
  Graph g;
  g.AddEdge("b", "d");
  g.AddEdge("a", "d");
  g.AddEdge("d", "e");
  g.AddNode("c");
  EXPECT_EQ(*g.TopologicalOrder(), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(g.Ancestors("e"), (std::set<std::string>{"a", "b", "d"}));
  EXPECT_EQ(g.Ancestors("e", 1), (std::set<std::string>{"d"}));
}

}  // namespace
}  // namespace strata::transform

namespace strata::transform {
namespace {

TEST_F(SelectorTest, UnscopedFqnSelectsFolders) {
  // dbt 1.5+: the fqn without the project name matches too.
  EXPECT_EQ(Names({"staging"}, {}, false), (S{"stg_orders", "stg_items"}));
  EXPECT_EQ(Names({"marts.reports"}, {}, false), S{"rpt_daily"});
  EXPECT_EQ(Names({"staging.stg_items"}, {}, false), S{"stg_items"});
  EXPECT_EQ(Names({"shop.staging"}, {}, false), (S{"stg_orders", "stg_items"}));
}

TEST_F(SelectorTest, IndirectSelectionModesAndResourceTypes) {
  SelectOptions o;
  o.select = {"rpt_daily"};
  // eager: any tested node selected; cautious: all; buildable: all, counting upstream nodes.
  EXPECT_EQ(Names(o), (S{"rpt_daily", "relationships_rpt_daily_dim_date"}));
  o.indirect_selection = "cautious";
  EXPECT_EQ(Names(o), S{"rpt_daily"});
  o.select = {"rpt_daily", "dim_date"};
  EXPECT_EQ(Names(o), (S{"rpt_daily", "dim_date", "relationships_rpt_daily_dim_date"}));
  o.select = {"+rpt_daily"};
  o.indirect_selection = "buildable";
  // dim_date is not upstream of rpt_daily: the relationships test waits for it.
  EXPECT_EQ(Names(o),
            (S{"rpt_daily", "fct_orders", "stg_orders", "stg_items", "orders", "items", "unique_fct_orders_id"}));
  o.select = {"fct_orders"};
  o.indirect_selection = "empty";
  EXPECT_EQ(Names(o), S{"fct_orders"});
  o.indirect_selection = "eager";
  o.select = {"+rpt_daily"};
  o.resource_types = {"test"};
  EXPECT_EQ(Names(o), (S{"unique_fct_orders_id", "relationships_rpt_daily_dim_date"}));
  o.resource_types = {"modle"};
  auto r = SelectNodes(manifest_, graph_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("did you mean 'model'"), std::string::npos) << r.status().message();
}

TEST_F(SelectorTest, StateNewAndModified) {
  // A previous manifest: everything as it is now, except stg_items (other code), fct_orders
  // (another config), and rpt_daily and dim_date, which did not exist.
  nlohmann::json state = {{"nodes", nlohmann::json::object()}, {"sources", nlohmann::json::object()}};
  auto same = [&](const std::string& id) {
    const Node* n = manifest_.Find(id);
    state[n->type == NodeType::kSource ? "sources" : "nodes"][id] = {
        {"checksum", {{"name", "sha256"}, {"checksum", NodeChecksum(*n).second}}}, {"config", n->config}};
  };
  for (const auto& [id, node] : manifest_.nodes()) {
    if (node.name != "rpt_daily" && node.name != "dim_date") same(id);
  }
  state["nodes"]["model.shop.stg_items"]["checksum"]["checksum"] = "0000";
  state["nodes"]["model.shop.fct_orders"]["config"]["materialized"] = "table";
  SelectOptions o;
  o.state = &state;
  o.indirect_tests = false;
  o.resource_types = {"model"};
  o.select = {"state:modified"};
  EXPECT_EQ(Names(o), (S{"stg_items", "fct_orders", "rpt_daily", "dim_date"}));
  o.select = {"state:modified.body"};
  EXPECT_EQ(Names(o), (S{"stg_items", "rpt_daily", "dim_date"}));
  o.select = {"state:modified.configs"};
  EXPECT_EQ(Names(o), (S{"fct_orders", "rpt_daily", "dim_date"}));
  o.select = {"state:new"};
  EXPECT_EQ(Names(o), (S{"rpt_daily", "dim_date"}));
  o.select = {"state:modified+"};
  EXPECT_EQ(Names(o), (S{"stg_items", "fct_orders", "rpt_daily", "dim_date"}));
  o.select = {"state:new+"};
  EXPECT_EQ(Names(o), (S{"rpt_daily", "dim_date"}));
  SelectOptions no_state;
  no_state.select = {"state:modified"};
  EXPECT_FALSE(SelectNodes(manifest_, graph_, no_state).ok());
}

}  // namespace
}  // namespace strata::transform
