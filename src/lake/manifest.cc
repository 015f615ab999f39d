#include "lake/manifest.h"

#include <cstdio>

namespace strata::lake {

using nlohmann::json;

namespace {

json FileToJson(const ManifestFile& f) {
  return {{"key", f.key}, {"format", f.format}, {"rows", f.rows}, {"bytes", f.bytes}, {"sha256", f.sha256}};
}

ManifestFile FileFromJson(const json& j) {
  ManifestFile f;
  f.key = j.at("key").get<std::string>();
  f.format = j.at("format").get<std::string>();
  f.rows = j.at("rows").get<int64_t>();
  f.bytes = j.at("bytes").get<int64_t>();
  f.sha256 = j.at("sha256").get<std::string>();
  return f;
}

}  // namespace

std::string Manifest::ToJson() const {
  json j;
  j["version"] = kVersion;
  j["source"] = source;
  j["table"] = table;
  j["batch_id"] = batch_id;
  j["sequence"] = sequence;
  j["logical_date"] = logical_date;
  j["created_at"] = created_at;
  j["files"] = json::array();
  for (const auto& f : files) j["files"].push_back(FileToJson(f));
  j["schema"] = json::array();
  for (const auto& c : schema) j["schema"].push_back({{"name", c.name}, {"type", c.type}});
  j["quarantine"] = quarantine ? FileToJson(*quarantine) : json(nullptr);
  j["records"] = {{"received", records_received}, {"landed", records_landed}, {"quarantined", records_quarantined}};
  j["state"] = state;
  j["details"] = details;
  return j.dump(2) + "\n";
}

Result<Manifest> Manifest::Parse(const std::string& text, const std::string& where) {
  try {
    json j = json::parse(text);
    Manifest m;
    int version = j.at("version").get<int>();
    if (version != kVersion) {
      return Status::Corruption(where + ": unsupported manifest version " + std::to_string(version));
    }
    m.source = j.at("source").get<std::string>();
    m.table = j.at("table").get<std::string>();
    m.batch_id = j.at("batch_id").get<std::string>();
    m.sequence = j.at("sequence").get<int64_t>();
    m.logical_date = j.at("logical_date").get<std::string>();
    m.created_at = j.value("created_at", "");
    for (const auto& f : j.at("files")) m.files.push_back(FileFromJson(f));
    for (const auto& c : j.at("schema")) {
      m.schema.push_back({c.at("name").get<std::string>(), c.at("type").get<std::string>()});
    }
    if (!j.at("quarantine").is_null()) m.quarantine = FileFromJson(j.at("quarantine"));
    const json& r = j.at("records");
    m.records_received = r.at("received").get<int64_t>();
    m.records_landed = r.at("landed").get<int64_t>();
    m.records_quarantined = r.at("quarantined").get<int64_t>();
    m.state = j.value("state", json::object());
    m.details = j.value("details", json::object());
    return m;
  } catch (const json::exception& e) {
    return Status::Corruption(where + ": malformed manifest: " + e.what());
  }
}

std::string BatchId(int64_t sequence) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "b%08lld", static_cast<long long>(sequence));
  return buf;
}

std::string DataKey(const std::string& source, const std::string& table, const std::string& date,
                    const std::string& batch_id, int part, const std::string& ext) {
  char p[16];
  std::snprintf(p, sizeof p, "%04d", part);
  return "raw/" + source + "/" + table + "/dt=" + date + "/" + batch_id + "-" + p + "." + ext;
}

std::string ManifestPrefix(const std::string& source, const std::string& table) {
  return "raw/" + source + "/" + table + "/_manifests/";
}

std::string ManifestKey(const std::string& source, const std::string& table, const std::string& batch_id) {
  return ManifestPrefix(source, table) + batch_id + ".json";
}

std::string SetAsideKey(const std::string& source, const std::string& table, const std::string& batch_id) {
  return "raw/" + source + "/" + table + "/_set_aside/" + batch_id + ".json";
}

std::string QuarantineKey(const std::string& source, const std::string& table, const std::string& date,
                          const std::string& batch_id) {
  return "quarantine/" + source + "/" + table + "/dt=" + date + "/" + batch_id + ".jsonl";
}

}  // namespace strata::lake
