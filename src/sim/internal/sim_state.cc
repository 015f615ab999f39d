#include "sim/internal/sim_state.h"

#include <nlohmann/json.hpp>

namespace strata::sim::internal {

std::string SimState::ToJson() const {
  nlohmann::ordered_json j;
  j["format"] = kFormat;
  j["seed"] = seed;
  j["scale"] = scale;
  j["start"] = start.ToString();
  j["dirt"] = {{"duplicate_rate", dirt.duplicate_rate},       {"late_rate", dirt.late_rate},
               {"malformed_rate", dirt.malformed_rate},       {"missing_optional_rate", dirt.missing_optional_rate},
               {"unknown_type_rate", dirt.unknown_type_rate}, {"schema_drift_day", dirt.schema_drift_day}};
  j["days_simulated"] = days_simulated;
  j["next_order_id"] = next_order_id;
  j["next_item_id"] = next_item_id;
  j["day_first_order_id"] = day_first_order_id;
  nlohmann::ordered_json p = nlohmann::ordered_json::array();
  for (const PendingLine& l : pending) {
    p.push_back({{"day", l.arrive_day}, {"sec", l.arrive_sec}, {"key", l.key}, {"line", l.line}});
  }
  j["pending"] = std::move(p);
  return j.dump(1) + "\n";
}

Result<SimState> SimState::FromJson(const std::string& text, const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    return Status::Corruption("simulation state '" + path + "' is invalid: " + why);
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  try {
    if (j.at("format").get<int>() != kFormat) return bad("unsupported format");
    SimState s;
    s.seed = j.at("seed").get<uint64_t>();
    s.scale = j.at("scale").get<double>();
    Result<Date> start = Date::Parse(j.at("start").get<std::string>());
    if (!start.ok()) return bad(start.status().message());
    s.start = *start;
    const auto& d = j.at("dirt");
    s.dirt.duplicate_rate = d.at("duplicate_rate").get<double>();
    s.dirt.late_rate = d.at("late_rate").get<double>();
    s.dirt.malformed_rate = d.at("malformed_rate").get<double>();
    s.dirt.missing_optional_rate = d.at("missing_optional_rate").get<double>();
    s.dirt.unknown_type_rate = d.at("unknown_type_rate").get<double>();
    s.dirt.schema_drift_day = d.at("schema_drift_day").get<int>();
    s.days_simulated = j.at("days_simulated").get<int64_t>();
    s.next_order_id = j.at("next_order_id").get<int64_t>();
    s.next_item_id = j.at("next_item_id").get<int64_t>();
    s.day_first_order_id = j.at("day_first_order_id").get<std::vector<int64_t>>();
    if (static_cast<int64_t>(s.day_first_order_id.size()) != s.days_simulated) {
      return bad("day_first_order_id does not match days_simulated");
    }
    for (const auto& p : j.at("pending")) {
      PendingLine l;
      l.arrive_day = p.at("day").get<int64_t>();
      l.arrive_sec = p.at("sec").get<int32_t>();
      l.key = p.at("key").get<uint64_t>();
      l.line = p.at("line").get<std::string>();
      s.pending.push_back(std::move(l));
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
}

}  // namespace strata::sim::internal
