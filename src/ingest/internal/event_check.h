// The checks every event passes before it lands, whichever way it arrived (a drop folder's
// files, events_connector.cc; HTTP posts, collector.cc): at most max_record_bytes, a JSON
// object, required fields present, a known event type, a valid timestamp.
#pragma once

#include <simdjson.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "ingest/internal/connectors.h"

namespace strata::ingest::internal {

struct EventRules {
  std::string type_field = "event_type";
  std::string time_field = "occurred_at";
  std::vector<std::string> required;  // includes type_field
  std::set<std::string> known_types;  // empty: any
  int64_t max_record_bytes = kDefaultMaxRecordBytes;
};

// Reads type_field, time_field, required_fields, known_types and max_record_bytes of a source.
Result<EventRules> ParseEventRules(const ConfigNode& source);

// "" if `line` (one event's JSON text) passes `rules`, else the reason it does not; an accepted
// event's keys are observed into `schema` (may be null). `padded`: `line` is followed by
// simdjson::SIMDJSON_PADDING readable bytes, so it parses in place.
// With `id_field`, an accepted event's value of that field (a string, or an integer as text)
// goes to `*id` ("" when it has none), from the same parse.
std::string CheckEvent(const EventRules& rules, simdjson::dom::parser& parser, std::string_view line, bool padded,
                       JsonSchemaBuilder* schema, const std::string* id_field = nullptr, std::string* id = nullptr);

}  // namespace strata::ingest::internal
