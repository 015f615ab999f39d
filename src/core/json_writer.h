// Fast compact JSON output for large artifacts (dbt's manifest.json and run_results.json).
//
// nlohmann::json's dump() validates UTF-8 byte by byte and needs a DOM; writing a 1,000-model
// manifest through it cost more than compiling the project. JsonWriter appends straight to a
// string: keys and strings are escaped with a fast path for runs of plain bytes, and values
// that already are nlohmann::json (node configs) are walked without copying.
//
//   JsonWriter w;
//   w.BeginObject();
//   w.Key("name"); w.String("orders");
//   w.Key("config"); w.Value(node.config);
//   w.EndObject();
//   std::string text = w.Take();
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

class JsonWriter {
 public:
  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  // A key inside an object; the next call writes its value.
  void Key(std::string_view key);

  void String(std::string_view s);
  void Int(int64_t v);
  void Double(double v);
  void Bool(bool v);
  void Null();
  void Value(const nlohmann::json& v);
  // Shorthands for one member of an object.
  void Member(std::string_view key, std::string_view s) {
    Key(key);
    String(s);
  }
  void Member(std::string_view key, const std::string& s) { Member(key, std::string_view(s)); }
  void Member(std::string_view key, const char* s) { Member(key, std::string_view(s)); }
  void Member(std::string_view key, const nlohmann::json& v) {
    Key(key);
    Value(v);
  }
  template <typename Strings>
  void StringArray(const Strings& items) {
    BeginArray();
    for (const auto& s : items) String(s);
    EndArray();
  }

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Separate();  // a comma before every element but the first of its container
  void Open(char c);
  void Close(char c);
  void Escaped(std::string_view s);

  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace strata
