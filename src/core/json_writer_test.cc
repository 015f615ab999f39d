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

TEST(JsonWriter, EscapesLikeNlohmannAtEveryPosition) {
  // Strings of every length up to 70 with one special byte at every position, around and
  // across the 16-byte blocks of the fast path; high (UTF-8) bytes must pass through.
  const std::string specials = std::string("\"\\\n\t\x01\x1f", 6);
  for (size_t len = 1; len <= 70; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (char special : specials) {
        std::string text(len, 'a');
        if (len > 3 && pos < len - 3) text.replace(len - 3, 2, "\xc3\xa9");  // é, left whole
        text[pos] = special;
        JsonWriter w;
        w.String(text);
        ASSERT_EQ(nlohmann::json::parse(w.str()).get<std::string>(), text) << len << " " << pos;
        if (static_cast<unsigned char>(special) >= 0x20 || special == '\n' || special == '\t') {
          ASSERT_EQ(w.str(), nlohmann::json(text).dump()) << len << " " << pos;
        }
      }
    }
  }
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
