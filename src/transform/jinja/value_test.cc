#include "transform/jinja/value.h"

#include <gtest/gtest.h>

#include "transform/jinja/callable.h"

namespace strata::jinja {
namespace {

TEST(JinjaValue, StrAndReprFollowPython) {
  EXPECT_EQ(Value().Str(), "");
  EXPECT_EQ(Value::None().Str(), "None");
  EXPECT_EQ(Value(true).Str(), "True");
  EXPECT_EQ(Value(int64_t{-3}).Str(), "-3");
  EXPECT_EQ(Value(2.0).Str(), "2.0");
  EXPECT_EQ(Value(0.1).Str(), "0.1");
  EXPECT_EQ(Value(1e22).Str(), "1e+22");
  EXPECT_EQ(Value(0.00001).Str(), "1e-05");
  EXPECT_EQ(Value("it's").Repr(), "\"it's\"");
  Value list = Value::MakeList({Value(1), Value("a"), Value::None(), Value::MakeTuple({Value(2)})});
  EXPECT_EQ(list.Str(), "[1, 'a', None, (2,)]");
  Value d = Value::MakeDict({{"k", Value(1)}, {"j", list}});
  EXPECT_EQ(d.Repr(), "{'k': 1, 'j': [1, 'a', None, (2,)]}");
}

TEST(JinjaValue, EqualityIsPythonLike) {
  EXPECT_TRUE(Value(1).Equals(Value(1.0)));
  EXPECT_TRUE(Value(1).Equals(Value(true)));
  EXPECT_FALSE(Value("1").Equals(Value(1)));
  EXPECT_TRUE(
      Value::MakeDict({{"a", Value(1)}, {"b", Value(2)}}).Equals(Value::MakeDict({{"b", Value(2)}, {"a", Value(1)}})));
  EXPECT_FALSE(Value::None().Equals(Value()));
  EXPECT_TRUE(Value().Equals(Value()));
}

TEST(JinjaValue, SelfReferenceDoesNotRecurseForever) {
  Value xs = Value::MakeList();
  xs.as_list().items.push_back(xs);
  EXPECT_NE(xs.Repr().find("..."), std::string::npos);
  xs.as_list().items.clear();  // break the cycle
}

TEST(JinjaValue, DictKeepsInsertionOrderAndIndexesLargeDicts) {
  Value d = Value::MakeDict();
  for (int i = 0; i < 50; ++i) d.as_dict().Set("k" + std::to_string(49 - i), Value(i));
  EXPECT_EQ(d.as_dict().entries().front().first.as_string(), "k49");
  ASSERT_NE(d.as_dict().Find("k7"), nullptr);
  EXPECT_EQ(d.as_dict().Find("k7")->as_int(), 42);
  d.as_dict().Set("k7", Value("replaced"));
  EXPECT_EQ(d.as_dict().size(), 50u);
  EXPECT_TRUE(d.as_dict().EraseKey(Value("k49")));
  EXPECT_EQ(d.as_dict().Find("k49"), nullptr);
  EXPECT_EQ(d.as_dict().Find("k7")->as_string(), "replaced");
  d.as_dict().SetKey(Value(1), Value("int key"));
  EXPECT_EQ(d.as_dict().FindKey(Value(1.0))->as_string(), "int key");
}

TEST(JinjaValue, JsonRoundTrip) {
  auto v = Value::FromJson(R"({"z": 1, "a": [true, null, 2.5, "x\u00e9"], "n": {"k": -7}})");
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_TRUE(v->is_dict());
  EXPECT_EQ(v->as_dict().entries().front().first.as_string(), "z");
  EXPECT_TRUE(v->as_dict().Find("n")->as_dict().Find("k")->is_int());
  auto json = v->ToJson();
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, R"({"z": 1, "a": [true, null, 2.5, "x\u00e9"], "n": {"k": -7}})");
  auto sorted = v->ToJson(-1, true);
  EXPECT_EQ(sorted->substr(0, 6), R"({"a": )");
  EXPECT_FALSE(Value().ToJson().ok());
  EXPECT_FALSE(Value::FromJson("{bad").ok());
}

TEST(JinjaArgs, BindChecksArguments) {
  Args args({Value(1)}, {{"b", Value(2)}});
  auto bound = args.Bind("f", {"a", "b", "c"}, 1);
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ((*bound)[0].as_int(), 1);
  EXPECT_EQ((*bound)[1].as_int(), 2);
  EXPECT_TRUE((*bound)[2].is_undefined());
  EXPECT_FALSE(args.Bind("f", {"a"}, 1).ok());
  EXPECT_FALSE(Args().Bind("f", {"a"}, 1).ok());
  EXPECT_EQ(args.Find(1, "b")->as_int(), 2);
}

}  // namespace
}  // namespace strata::jinja
