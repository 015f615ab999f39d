#include "core/json_writer.h"

#include <charconv>
#include <cmath>

namespace strata {

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
}

void JsonWriter::Open(char c) {
  Separate();
  out_.push_back(c);
  first_.push_back(true);
}

void JsonWriter::Close(char c) {
  out_.push_back(c);
  first_.pop_back();
}

void JsonWriter::Key(std::string_view key) {
  Separate();
  Escaped(key);
  out_.push_back(':');
  after_key_ = true;
}

void JsonWriter::String(std::string_view s) {
  Separate();
  Escaped(s);
}

void JsonWriter::Escaped(std::string_view s) {
  out_.push_back('"');
  size_t run = 0;  // start of the current run of bytes that need no escaping
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;  // UTF-8 passes through as is
    out_.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out_.append("\\\""); break;
      case '\\': out_.append("\\\\"); break;
      case '\n': out_.append("\\n"); break;
      case '\r': out_.append("\\r"); break;
      case '\t': out_.append("\\t"); break;
      case '\b': out_.append("\\b"); break;
      case '\f': out_.append("\\f"); break;
      default: {
        static const char kHex[] = "0123456789abcdef";
        out_.append("\\u00");
        out_.push_back(kHex[c >> 4]);
        out_.push_back(kHex[c & 15]);
      }
    }
  }
  out_.append(s.data() + run, s.size() - run);
  out_.push_back('"');
}

void JsonWriter::Int(int64_t v) {
  Separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
}

void JsonWriter::Double(double v) {
  Separate();
  if (!std::isfinite(v)) {  // as nlohmann::json writes them
    out_.append("null");
    return;
  }
  out_.append(nlohmann::json(v).dump());  // shortest round-trip form, with ".0" kept
}

void JsonWriter::Bool(bool v) {
  Separate();
  out_.append(v ? "true" : "false");
}

void JsonWriter::Null() {
  Separate();
  out_.append("null");
}

void JsonWriter::Value(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object:
      BeginObject();
      for (auto it = v.begin(); it != v.end(); ++it) {
        Key(it.key());
        Value(it.value());
      }
      EndObject();
      return;
    case nlohmann::json::value_t::array:
      BeginArray();
      for (const auto& item : v) Value(item);
      EndArray();
      return;
    case nlohmann::json::value_t::string: String(v.get_ref<const std::string&>()); return;
    case nlohmann::json::value_t::boolean: Bool(v.get<bool>()); return;
    case nlohmann::json::value_t::number_integer: Int(v.get<int64_t>()); return;
    case nlohmann::json::value_t::number_unsigned: {
      Separate();
      out_.append(std::to_string(v.get<uint64_t>()));
      return;
    }
    case nlohmann::json::value_t::number_float: Double(v.get<double>()); return;
    default: Null(); return;  // null, discarded, binary
  }
}

}  // namespace strata
