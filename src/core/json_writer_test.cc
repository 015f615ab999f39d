#include "core/json_writer.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

// The independent reference is nlohmann::json's own parser and serializer.
TEST(JsonWriter, RoundTripsThroughAJsonParser) {
  nlohmann::json v = nlohmann::json::parse(R"({
    "a": [1, -2, 3.5, 1e300, true, false, null, "x"],
    "nested": {"k": {"deep": []}, "empty": {}},
    "text": "quote \" backslash \\ newline \n tab \t bell \u0007 é ü 中"
  })");
  JsonWriter w;
  w.Value(v);
  EXPECT_EQ(nlohmann::json::parse(w.str()), v);
  EXPECT_EQ(w.str(), v.dump());  // compact, same key order (nlohmann sorts keys)
}

TEST(JsonWriter, ObjectsArraysAndMembers) {
  JsonWriter w;
  w.BeginObject();
  w.Member("name", std::string_view("orders"));
  w.Key("tags");
  w.StringArray(std::vector<std::string>{"a", "b"});
  w.Key("n");
  w.Int(-42);
  w.Key("list");
  w.BeginArray();
  w.BeginObject();
  w.EndObject();
  w.Null();
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(w.str(), R"({"name":"orders","tags":["a","b"],"n":-42,"list":[{},null]})");
}

}  // namespace
}  // namespace strata
