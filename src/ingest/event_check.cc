#include "ingest/internal/event_check.h"

#include "core/date.h"

namespace strata::ingest::internal {

namespace {

using Kind = JsonSchemaBuilder::Kind;

Kind KindOf(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::NULL_VALUE:
      return Kind::kNull;
    case T::BOOL:
      return Kind::kBool;
    case T::INT64:
    case T::UINT64:
      return Kind::kInt;
    case T::DOUBLE:
      return Kind::kDouble;
    case T::STRING:
      return Kind::kString;
    default:
      return Kind::kNested;
  }
}

}  // namespace

Result<EventRules> ParseEventRules(const ConfigNode& n) {
  EventRules r;
  STRATA_ASSIGN_OR_RETURN(r.type_field, n.String("type_field", r.type_field));
  STRATA_ASSIGN_OR_RETURN(r.time_field, n.String("time_field", r.time_field));
  STRATA_ASSIGN_OR_RETURN(r.required, n["required_fields"].StringList());
  STRATA_ASSIGN_OR_RETURN(auto known, n["known_types"].StringList());
  r.known_types.insert(known.begin(), known.end());
  STRATA_ASSIGN_OR_RETURN(r.max_record_bytes, ParseMaxRecordBytes(n));
  if (std::find(r.required.begin(), r.required.end(), r.type_field) == r.required.end()) {
    r.required.push_back(r.type_field);
  }
  return r;
}

std::string CheckEvent(const EventRules& rules, simdjson::dom::parser& parser, std::string_view line, bool padded,
                       JsonSchemaBuilder* schema, const std::string* id_field, std::string* id) {
  if (line.empty()) return "empty line";
  if (static_cast<int64_t>(line.size()) > rules.max_record_bytes) {
    return "record of " + std::to_string(line.size()) + " bytes is over the source's max_record_bytes (" +
           std::to_string(rules.max_record_bytes) + ")";
  }
  simdjson::dom::element doc;
  auto error = parser.parse(line.data(), line.size(), /*realloc_if_needed=*/!padded).get(doc);
  if (error) return std::string("malformed JSON: ") + simdjson::error_message(error);
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) return "not a JSON object";
  for (const auto& field : rules.required) {
    simdjson::dom::element v;
    if (obj.at_key(field).get(v) || v.is_null()) return "missing required field '" + field + "'";
  }
  std::string_view type;
  if (obj.at_key(rules.type_field).get_string().get(type)) return "field '" + rules.type_field + "' is not a string";
  if (!rules.known_types.empty() && rules.known_types.count(std::string(type)) == 0) {
    return "unknown " + rules.type_field + " '" + std::string(type) + "'";
  }
  simdjson::dom::element when_el;
  if (!obj.at_key(rules.time_field).get(when_el) && !when_el.is_null()) {
    std::string_view when;
    if (when_el.get_string().get(when)) return "field '" + rules.time_field + "' is not a string";
    if (!ParseTimestamp(when).ok()) {
      return "field '" + rules.time_field + "' is not a timestamp: '" + std::string(when) + "'";
    }
  }
  if (schema != nullptr) {
    for (auto kv : obj) schema->Observe(kv.key, KindOf(kv.value.type()));
  }
  if (id_field != nullptr && id != nullptr) {
    id->clear();
    simdjson::dom::element v;
    if (!obj.at_key(*id_field).get(v)) {
      std::string_view s;
      int64_t i;
      if (!v.get_string().get(s)) {
        id->assign(s);
      } else if (!v.get_int64().get(i)) {
        *id = std::to_string(i);
      }
    }
  }
  return "";
}

}  // namespace strata::ingest::internal
