#include "core/json_writer.h"

#include <charconv>
#include <cmath>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

namespace {

// The index of the first byte of s[from..] that JSON must escape (a control character, '"'
// or '\\'), or s.size(). Compiled SQL and descriptions are long runs of plain text, so
// this scans 16 bytes at a time where SSE2 is available (every x86-64).
size_t NextToEscape(std::string_view s, size_t from) {
  size_t i = from;
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), max_control = _mm_set1_epi8(0x1f);
  for (; i + 16 <= s.size(); i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, max_control), v);  // v <= 0x1f, unsigned
    __m128i hit = _mm_or_si128(control, _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (int mask = _mm_movemask_epi8(hit); mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  for (; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') return i;  // UTF-8 passes through as is
  }
  return s.size();
}

}  // namespace

void JsonWriter::Escaped(std::string_view s) {
  out_.push_back('"');
  size_t run = 0;  // start of the current run of bytes that need no escaping
  for (size_t i = NextToEscape(s, 0); i < s.size(); i = NextToEscape(s, i + 1)) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out_.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out_.append("\\\"");
        break;
      case '\\':
        out_.append("\\\\");
        break;
      case '\n':
        out_.append("\\n");
        break;
      case '\r':
        out_.append("\\r");
        break;
      case '\t':
        out_.append("\\t");
        break;
      case '\b':
        out_.append("\\b");
        break;
      case '\f':
        out_.append("\\f");
        break;
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
    case nlohmann::json::value_t::string:
      String(v.get_ref<const std::string&>());
      return;
    case nlohmann::json::value_t::boolean:
      Bool(v.get<bool>());
      return;
    case nlohmann::json::value_t::number_integer:
      Int(v.get<int64_t>());
      return;
    case nlohmann::json::value_t::number_unsigned: {
      Separate();
      out_.append(std::to_string(v.get<uint64_t>()));
      return;
    }
    case nlohmann::json::value_t::number_float:
      Double(v.get<double>());
      return;
    default:
      Null();
      return;  // null, discarded, binary
  }
}

}  // namespace strata
