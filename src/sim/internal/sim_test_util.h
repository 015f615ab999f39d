// Helpers for the simulator's tests only (header-only; not part of the library).
#pragma once

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/file.h"
#include "db/sqlite.h"
#include "sim/shop_simulator.h"

namespace strata::sim::testutil {

inline constexpr const char* kTables[] = {"customers", "products", "orders", "order_items"};

// Every row of every table, one text line per row with typed values, ordered by primary key.
inline std::string DumpDb(const std::string& path) {
  auto db = db::SqliteDb::Open(path, /*read_only=*/true, /*create=*/false);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return "";
  std::string out;
  std::vector<std::string> tables(std::begin(kTables), std::end(kTables));
  tables.push_back("sim_segment_changes");  // the simulator's own record is compared too
  for (const std::string& table : tables) {
    out += "## " + table + "\n";
    auto stmt = db->Prepare("SELECT * FROM " + table + " ORDER BY 1, 3");
    EXPECT_TRUE(stmt.ok());
    for (;;) {
      auto row = stmt->Step();
      EXPECT_TRUE(row.ok());
      if (!row.ok() || !*row) break;
      for (int i = 0; i < stmt->ColumnCount(); ++i) {
        if (stmt->ColumnIsNull(i)) {
          out += "NULL|";
        } else {
          out += std::to_string(stmt->ColumnType(i)) + ":" + std::string(stmt->ColumnText(i)) + "|";
        }
      }
      out += "\n";
    }
  }
  return out;
}

// Relative path -> bytes of every file under events/, plus "DB" -> DumpDb and "STATE" -> state.
inline std::map<std::string, std::string> Snapshot(const std::string& out_dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(ShopSimulator::EventsDir(out_dir))) {
    auto text = ReadFile(e.path().string());
    files["events/" + e.path().filename().string()] = text.ok() ? *text : "<unreadable>";
  }
  files["DB"] = DumpDb(ShopSimulator::DbPath(out_dir));
  auto state = ReadFile(ShopSimulator::StatePath(out_dir));
  files["STATE"] = state.ok() ? *state : "<missing>";
  return files;
}

struct EventLine {
  std::string file;  // file name
  std::string text;
};

// All lines of all event files, files in name order (= arrival order).
inline std::vector<EventLine> ReadEventLines(const std::string& out_dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(ShopSimulator::EventsDir(out_dir))) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::vector<EventLine> lines;
  for (const std::string& name : names) {
    auto text = ReadFile(ShopSimulator::EventsDir(out_dir) + "/" + name);
    if (!text.ok()) continue;
    size_t pos = 0;
    while (pos < text->size()) {
      size_t nl = text->find('\n', pos);
      if (nl == std::string::npos) nl = text->size();
      lines.push_back({name, text->substr(pos, nl - pos)});
      pos = nl + 1;
    }
  }
  return lines;
}

// The lines still held back in sim_state.json.
inline std::vector<std::string> PendingLines(const std::string& out_dir) {
  std::vector<std::string> out;
  auto text = ReadFile(ShopSimulator::StatePath(out_dir));
  if (!text.ok()) return out;
  auto j = nlohmann::json::parse(*text);
  for (const auto& p : j.at("pending")) out.push_back(p.at("line").get<std::string>());
  return out;
}

inline bool IsKnownType(const std::string& t) {
  static const std::set<std::string> kKnown = {"page_view", "product_view", "add_to_cart", "checkout_started",
                                               "purchase"};
  return kKnown.count(t) > 0;
}

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string headers;
};

inline size_t CurlAppend(char* p, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(p, size * n);
  return size * n;
}

inline HttpResponse HttpGet(const std::string& url) {
  HttpResponse r;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CurlAppend);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &CurlAppend);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_cleanup(curl);
  return r;
}

inline std::string UrlEscape(const std::string& s) {
  CURL* curl = curl_easy_init();
  char* e = curl_easy_escape(curl, s.c_str(), static_cast<int>(s.size()));
  std::string out = e;
  curl_free(e);
  curl_easy_cleanup(curl);
  return out;
}

}  // namespace strata::sim::testutil
