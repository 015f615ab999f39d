// s3_bench: the lake on S3 against the same lake on local disk, in one process.
//
//   s3_bench --project DIR --endpoint URL [--reps N]
//
// DIR is a project whose local lake holds ingested batches; URL an S3 endpoint (make bench
// starts s3rver behind tests/s3/front.cjs, which checks every signature). Per repetition,
// alternating local and S3, medians reported as JSON on stdout:
//   upload:   every lake object copied into a fresh store (local folder / S3 prefix)
//   download: every object read back whole (Get)
//   load:     Warehouse::LoadRaw of the whole lake into a fresh DuckDB file; on S3 with a cold
//             cache (every file downloaded) and with a warm one (the cache from the run before)
// Credentials: the front's test keys.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "core/project.h"
#include "lake/lake.h"
#include "lake/s3_object_store.h"
#include "warehouse/warehouse.h"

namespace fs = std::filesystem;
using namespace strata;
using nlohmann::json;

namespace {

[[noreturn]] void Die(const Status& s) { bench::Die("s3_bench", s); }

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) Die(r.status());
  return std::move(*r);
}

// Copies every object of `from` into `to`; returns the bytes copied.
int64_t CopyAll(lake::ObjectStore* from, lake::ObjectStore* to) {
  int64_t bytes = 0;
  for (const auto& o : Must(from->List(""))) {
    std::string data = Must(from->Get(o.key));
    bytes += static_cast<int64_t>(data.size());
    Must(to->Put(o.key, data));
  }
  return bytes;
}

int64_t ReadAll(lake::ObjectStore* store) {
  int64_t bytes = 0;
  for (const auto& o : Must(store->List(""))) bytes += static_cast<int64_t>(Must(store->Get(o.key)).size());
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  std::string project_dir, endpoint;
  int reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--project") project_dir = argv[i + 1];
    if (a == "--endpoint") endpoint = argv[i + 1];
    if (a == "--reps") reps = std::atoi(argv[i + 1]);
  }
  auto project = Must(Project::Load(project_dir));
  auto source = Must(lake::OpenObjectStore(project.lake_location));
  const std::string scratch = fs::temp_directory_path() / ("s3_bench_" + std::to_string(::getpid()));
  fs::create_directories(scratch);

  auto s3_options = [&](const std::string& prefix, const std::string& cache) {
    lake::S3Options o;
    o.bucket = "bench";
    o.prefix = prefix;
    o.endpoint = endpoint;
    o.path_style = true;
    o.credentials = {"strata-test-key", "strata-test-secret", ""};
    o.cache_dir = cache;
    return o;
  };

  std::vector<double> up_local, up_s3, down_local, down_s3, load_local, load_s3_cold, load_s3_warm;
  int64_t bytes = 0, objects = static_cast<int64_t>(Must(source->List("")).size()), rows = 0;
  for (int rep = 0; rep < reps; ++rep) {
    const std::string tag = std::to_string(rep);
    auto local = Must(lake::OpenObjectStore(scratch + "/local" + tag));
    auto s3 = Must(lake::OpenS3ObjectStore(s3_options("rep" + tag, scratch + "/cache" + tag)));

    double t0 = bench::Now();
    bytes = CopyAll(source.get(), local.get());
    up_local.push_back(bench::Now() - t0);
    t0 = bench::Now();
    CopyAll(source.get(), s3.get());
    up_s3.push_back(bench::Now() - t0);

    t0 = bench::Now();
    ReadAll(local.get());
    down_local.push_back(bench::Now() - t0);
    t0 = bench::Now();
    ReadAll(s3.get());
    down_s3.push_back(bench::Now() - t0);

    {
      lake::Lake l(std::move(local));
      WarehouseConfig cfg;
      cfg.path = scratch + "/local" + tag + ".duckdb";
      auto wh = Must(warehouse::Warehouse::Open(cfg));
      std::vector<warehouse::LoadResult> results;
      double t = bench::Now();
      Status s = wh->LoadRaw(&l, &results);
      load_local.push_back(bench::Now() - t);
      if (!s.ok()) Die(s);
      rows = 0;
      for (const auto& r : results) rows += r.rows;
    }
    for (int pass = 0; pass < 2; ++pass) {
      auto store = Must(lake::OpenS3ObjectStore(s3_options("rep" + tag, scratch + "/cache" + tag)));
      lake::Lake l(std::move(store));
      WarehouseConfig cfg;
      cfg.path = scratch + "/s3" + tag + "_" + std::to_string(pass) + ".duckdb";
      auto wh = Must(warehouse::Warehouse::Open(cfg));
      std::vector<warehouse::LoadResult> results;
      double t = bench::Now();
      Status s = wh->LoadRaw(&l, &results);
      (pass == 0 ? load_s3_cold : load_s3_warm).push_back(bench::Now() - t);
      if (!s.ok()) Die(s);
    }
  }
  fs::remove_all(scratch);
  json out = {{"objects", objects},
              {"bytes", bytes},
              {"rows", rows},
              {"reps", reps},
              {"upload_local_s", bench::Median(up_local)},
              {"upload_s3_s", bench::Median(up_s3)},
              {"download_local_s", bench::Median(down_local)},
              {"download_s3_s", bench::Median(down_s3)},
              {"load_local_s", bench::Median(load_local)},
              {"load_s3_cold_s", bench::Median(load_s3_cold)},
              {"load_s3_warm_s", bench::Median(load_s3_warm)}};
  std::cout << out.dump(2) << "\n";
  return 0;
}
