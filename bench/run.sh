#!/usr/bin/env bash
# make bench: whole-command timings, each against a reference measured or cited in the same
# report. Writes bench/results/latest.md.
#
#   1. Transform compile (once): bench/gen_dbt_project.py writes a deterministic 1,000-model
#      dbt project (staging/intermediate/marts, sources, macros, YAML properties with ~3,000
#      generic tests) in a temp dir; `strata ls` (parse only) and `strata compile` (parse +
#      render every model/test + artifacts) are timed as whole processes, median of
#      BENCH_COMPILE_REPS. Target < 0.5 s; reference: dbt-core's published parse times (cited).
#   1b. The same project on dbt_utils (gen_dbt_project.py --dbt-utils, `strata deps`): compile
#      against the plain project, alternating; target: same league (< 2x).
#   2. Per scale in BENCH_SCALES: sim, ingest, the warehouse load against DuckDB's own readers
#      over the same lake files (bench/load_bench), then `strata load` leaves a loaded
#      warehouse and the shop's dbt project (examples/shop/transform, copied to the temp dir)
#      is built on a copy of it with `strata build`, against the SQL that build executed,
#      rewritten as one plain DuckDB script (bench/build_baseline.py) and run by DuckDB's C
#      API alone (bench/duckdb_script) on another copy. Medians of BENCH_REPS alternating
#      repetitions, whole-process wall time (bench/reps.py). Target <= 1.1x.
#   2b. PostgreSQL, at the largest scale (a throwaway cluster from scripts/pg_test_cluster.sh):
#      bench/pg_bench times the raw load (LoadRawToPostgres: DuckDB reads the lake, binary COPY)
#      and the marts' COPY from the DuckDB warehouse against `psql \copy` of the same rows as
#      CSV (psql's own \timing, one psql process), medians of BENCH_REPS, target >= 0.9x
#      psql's rows/s, plus one whole lakehouse publish; then `strata load` and one `strata
#      build` of the shop on PostgreSQL against the DuckDB build's median above. At scale 100
#      this adds about 13 minutes, most of it the PostgreSQL build (9-11 min).
#   2d. At the first scale: the lake on S3 (s3rver behind tests/s3/front.cjs on loopback) against
#      local disk, bench/s3_bench: upload and download of every lake object, and the warehouse
#      load with a cold and a warm read cache; medians of BENCH_REPS alternating repetitions.
#   2c. Per scale: the shop's overview dashboard (bench/serve_bench): each card's queries run by
#      DuckDB alone against `strata serve`'s API without its cache (target <= 1.2x), and over
#      HTTP with wrk, cached and uncached, 1 and 50 connections (target: cached p99 < 10 ms).
#   3. Orchestrator overhead (once): bench/orchestrate_bench runs 1,000-task no-op DAGs (a
#      chain and a layered DAG) through the real executor alone, and through RunPipeline with
#      the run history (runs.db) with and without PlatformTasks' per-attempt log files; µs per
#      task (median of 3) and, on the chain, the latency from a task's success to its
#      downstream task's start. Run again with the temp dir in RAM (/dev/shm) to separate
#      the CPU cost from waiting for the disk's flushes. Target < 1 ms per task; reference:
#      Airflow's published task latency and task start-up figures (cited).
#   4. The shop's `daily` pipeline over 10 days at scale 1 (once): `strata pipeline backfill`
#      of 2024-01-01..10 after simulating all 10 days (one catch-up run covering the other 9
#      dates), and the same dates day by day
#      (`strata sim --day D`, then `strata pipeline run --date D`); wall time, runs'
#      states and per-task times from each project's runs.db. Failed runs are reported,
#      not fatal.
#
#   5. Quality (once): bench/quality_bench validates a 20-expectation suite on a 10M-row table
#      (BENCH_QUALITY_ROWS) in DuckDB and in a throwaway PostgreSQL cluster, against one
#      hand-written aggregate query (target <= 1.3x) and one query per expectation (speed-up).
#
#   6. The event collector (once): `strata collect` under wrk (bench/collect_post.lua, 100 events per
#      POST, fsync on) at 1, 10 and 100 connections, BENCH_COLLECT_SECONDS (10) each: events/s and
#      p50/p90/p99; baseline: `strata ingest` of BENCH_FILE_EVENTS (2M) events as one file through
#      the events connector. Goal: >= 100,000 events/s with p99 < 20 ms.
#
#   0. (first) The build from scratch: the strata program, then everything, in a fresh build
#      folder with ccache off (BENCH_BUILD=0 skips it; it adds about 8 minutes on 2 cores).
#
# BENCH_SCALES (default "1 100"), BENCH_REPS (3), BENCH_COMPILE_REPS (7).
# Runtime on the shared 2-core bench machine with the defaults: 31 minutes, everything
# included (measured 2026-11-27; before section 2b: 19.6-31.0 minutes, depending on what else
# runs there). Scale 100's DuckDB transform builds (6 of 1.2-4.7 min: the shop's tests re-read
# the 5M-event staging view) and the PostgreSQL section (about 13 min) are most of it; sim +
# ingest + load benchmark + strata load about 5 min; sections 3 and 4 take 2-7 minutes
# (section 3 under a minute on a quiet disk, up to 5 when other processes write to it).
# BENCH_SCALES=1 takes 2-5 minutes with sections 3 and 4 (measured: 2.0 on a quiet machine).
set -euo pipefail

build="${1:-build}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
strata="$root/$build/strata"
load_bench="$root/$build/bench/load_bench"
duckdb_script="$root/$build/bench/duckdb_script"
orchestrate_bench="$root/$build/bench/orchestrate_bench"
pg_bench="$root/$build/bench/pg_bench"
quality_bench="$root/$build/bench/quality_bench"
scales="${BENCH_SCALES:-1 100}"
reps="${BENCH_REPS:-3}"
compile_reps="${BENCH_COMPILE_REPS:-7}"
orch_reps=3
out="$root/bench/results/latest.md"
mkdir -p "$root/bench/results"
work="$(mktemp -d)"
api_pid=""
pg_started=""
cleanup() {
  [[ -n "$api_pid" ]] && kill "$api_pid" 2>/dev/null
  [[ -n "$pg_started" ]] && bash "$root/scripts/pg_test_cluster.sh" stop "$work/pg" > /dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }  # the shared machine's load: context for the timings
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }

{
  echo "# Strata benchmarks"
  echo
  echo "- date: $(date -u +%FT%TZ)"
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -sr)"
  echo "- commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- DuckDB: 1.4.4 (libduckdb.so from npm); load ratios are medians of $reps alternating repetitions"
  echo
} > "$out.tmp"


# --- 0. The build from scratch ----------------------------------------------------------------
# What a newcomer waits for: `make demo` builds the strata program, `make test` everything.
# A fresh build folder, ccache off, the machine's cores; one pass each (a build is long enough
# that its noise is small next to it).
if [[ "${BENCH_BUILD:-1}" == "1" ]]; then
  echo "bench: building from scratch (strata, then everything)" >&2
  bdir="$work/build-from-scratch"
  load_before="$(loadavg)"
  cmake -S "$root" -B "$bdir" -G Ninja > "$work/build-cfg.log" 2>&1
  t0="$(now)"
  CCACHE_DISABLE=1 cmake --build "$bdir" -j "$(nproc)" --target strata > "$work/build1.log" 2>&1
  t1="$(now)"
  CCACHE_DISABLE=1 cmake --build "$bdir" -j "$(nproc)" > "$work/build2.log" 2>&1
  t2="$(now)"
  {
    echo "## The build from scratch"
    echo
    echo "A fresh build folder, $(nproc) cores, ccache off (load average before: $load_before, after: $(loadavg))."
    echo "Targets: at most 5 minutes for what \`make demo\` builds, 8 for what \`make test\` builds."
    echo
    echo "| what | seconds |"
    echo "|---|---:|"
    echo "| \`strata\` (what \`make demo\` builds) | $(secs "$t0" "$t1") |"
    echo "| everything (what \`make test\` builds) | $(secs "$t0" "$t2") |"
    echo
  } >> "$out.tmp"
  rm -rf "$bdir"
fi

# --- 1. Transform compile of a generated 1,000-model project ---------------------------------
echo "bench: transform compile: generating a 1,000-model dbt project" >&2
gen="$work/dbt1k"
python3 "$root/bench/gen_dbt_project.py" "$gen" --models 1000 > /dev/null
export BENCH_WAREHOUSE="$work/dbt1k.duckdb"  # the profile's path: compile opens it (introspection), empty
"$strata" ls --project-dir "$gen" --json > "$work/ls.json"  # warm-up, and the node counts
echo "bench: transform compile: strata ls and strata compile, $compile_reps reps" >&2
load_before="$(loadavg)"
python3 "$root/bench/reps.py" --reps "$compile_reps" --log "$work/compile.log" \
  --side ls --cmd "'$strata' ls --project-dir '$gen' > /dev/null" \
  --side compile --cmd "'$strata' compile --project-dir '$gen'" > "$work/compile_times.json"

python3 - "$gen" "$work/ls.json" "$work/compile_times.json" "$work/compile.log" "$load_before" "$(loadavg)" \
  >> "$out.tmp" <<'PY'
import collections, json, os, re, statistics, sys
gen, ls, times, log = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), open(sys.argv[4]).read()
load_before, load_after = sys.argv[5], sys.argv[6]
files = [os.path.join(d, f) for d, _, fs in os.walk(gen) if "/target" not in d for f in fs]
nbytes = sum(os.path.getsize(f) for f in files)
kinds = collections.Counter(n["resource_type"] for n in ls["nodes"])
models = [n for n in ls["nodes"] if n["resource_type"] == "model"]
layers = collections.Counter(n["fqn"].split(".")[1] for n in models)
ymls = sum(f.endswith(".yml") for f in files) - 2
macros = sum(open(f).read().count("{% macro") for f in files if "/macros/" in f)
parse = [float(x) for x in re.findall(r"parsed in ([0-9.]+)s", log)]
render = [float(x) for x in re.findall(r"^Done in ([0-9.]+)s", log, re.M)]
ls_s, comp_s = times["ls"]["median"], times["compile"]["median"]
print("## Transform compile: a generated 1,000-model dbt project\n")
print(f"`bench/gen_dbt_project.py` (deterministic): {len(files)} files, {nbytes/1e6:.1f} MB: "
      f"{kinds['model']:,} models ({', '.join(f'{v} {k}' for k, v in sorted(layers.items()))}), "
      f"{kinds['source']} sources, {kinds['test']:,} tests (generic from {ymls} YAML files, and singular), "
      f"{kinds['snapshot']} snapshots, {kinds['seed']} seed, {macros} project macros, docs blocks. Models use "
      "`config()`, `ref()` (1-4 each), `source()`, `var()`, `if`/`for`, `is_incremental()`, `{{ this }}` and "
      "macros (one dispatched per adapter); YAML has descriptions (some `{{ doc() }}`), columns and "
      "unique/not_null/accepted_values/relationships/custom generic tests.\n")
print(f"Whole-process wall time, median of {len(times['ls']['times'])} runs (min-max), and the CPU time "
      "(user + system) the process used (on a shared machine, wall time above CPU time is mostly waiting: for "
      f"the disk, or for a core; load average 1/5/15 min before: {load_before}, after: {load_after}):\n")
print("| command | what it does | wall s | CPU s |")
print("|---|---|---:|---:|")
for k, what in [("ls", "parse: read files, YAML, parse-render every node, DAG; print the node list"),
                ("compile", "parse, then render every model, test and snapshot; write target/ "
                            "(compiled SQL files, manifest.json, run_results.json)")]:
    t = times[k]["times"]
    print(f"| `strata {k}` | {what} | **{times[k]['median']:.3f}** ({min(t):.3f}-{max(t):.3f}) | "
          f"{times[k]['cpu_median']:.3f} |")
if parse and render:
    print(f"\nInside `strata compile` (its own log lines, medians): parse {statistics.median(parse):.3f} s, "
          f"rendering {kinds['model'] + kinds['test'] + kinds['snapshot']:,} nodes {statistics.median(render):.3f} s; "
          f"the rest ({comp_s - statistics.median(parse) - statistics.median(render):.3f} s) is process start, "
          "writing target/ and exit.\n")
verdict = "meets" if comp_s < 0.5 else "MISSES"
print(f"**`strata compile`: {comp_s:.3f} s (target < 0.5 s: {verdict}).**\n")
print("Reference (cited, not measured: dbt is not installed here, and these are other, unpublished "
      "synthetic projects on other hardware): dbt Labs, *Parser, Better, Faster, Stronger: A peek at the "
      "new dbt engine* (2025-02-19), <https://docs.getdbt.com/blog/faster-project-parsing-with-rust>: "
      "for a 20,000-model project dbt-core's cold parse \"takes well over a minute\" and a partial parse "
      "with no changed files \"about 12 seconds\"; 100,000 models take dbt-core \"almost 20 minutes\"; the "
      "Rust-based dbt Fusion engine parses 10,000 models \"in under 600ms\" and 20,000 in \"about a second\". "
      "The post's text gives no 1,000-model figure (only its charts do). Scaled linearly to 1,000 models "
      "(an assumption): dbt-core cold parse > 3 s (> 60 s / 20), no-change partial parse ~0.6 s, Fusion "
      "< 0.06 s. A real project for scale: dbt-core issue "
      "<https://github.com/dbt-labs/dbt-core/issues/10374> reports a full parse of a 2,367-file project in "
      "25.0 s (`load_all_elapsed`, dbt 1.7).\n")
print(f"| comparison | ratio |")
print("|---|---:|")
print(f"| `strata ls` / dbt-core cold parse (> 3 s, scaled) | < {ls_s / 3:.2f}x |")
print(f"| `strata ls` / dbt-core partial parse, nothing changed (~0.6 s, scaled) | {ls_s / 0.6:.2f}x |")
print(f"| `strata ls` / dbt Fusion parse (< 0.06 s, scaled) | > {ls_s / 0.06:.1f}x |\n")
PY

# --- 1b. The same project using dbt_utils where a dbt user would ----------------------------
# Same generator and seed with --dbt-utils: generate_surrogate_key, safe_divide, pivot, star
# (warehouse introspection while compiling) and dbt_utils generic tests, installed by
# `strata deps` from the shared copy. Timed alternating with the plain project: the ratio is
# what dbt_utils costs to compile.
dbt_utils_dir=""
for d in "${STRATA_DBT_PACKAGES_DIR:-}" "$root/../shared/dbt-packages" /work/shared/dbt-packages; do
  if [[ -n "$d" && -f "$d/dbt_utils-1.3.3/dbt_project.yml" ]]; then dbt_utils_dir="$d/dbt_utils-1.3.3"; break; fi
done
if [[ -n "$dbt_utils_dir" ]]; then
  echo "bench: transform compile with dbt_utils" >&2
  genu="$work/dbt1k_utils"
  python3 "$root/bench/gen_dbt_project.py" "$genu" --models 1000 --dbt-utils "$dbt_utils_dir" > /dev/null
  "$strata" deps --project-dir "$genu" > /dev/null
  "$strata" compile --project-dir "$genu" > /dev/null  # warm-up
  python3 "$root/bench/reps.py" --reps "$compile_reps" --log "$work/compile_utils.log" \
    --side plain --cmd "'$strata' compile --project-dir '$gen'" \
    --side dbt_utils --cmd "'$strata' compile --project-dir '$genu'" > "$work/compile_utils.json"
  python3 - "$work/compile_utils.json" "$genu" >> "$out.tmp" <<'PY'
import json, os, sys
t, genu = json.load(open(sys.argv[1])), sys.argv[2]
calls = sum(open(os.path.join(d, f)).read().count("dbt_utils.") for d, _, fs in os.walk(genu + "/models") for f in fs)
p, u = t["plain"]["median"], t["dbt_utils"]["median"]
print("### The same project on dbt_utils\n")
print(f"The generator's `--dbt-utils` variant: {calls:,} `dbt_utils.` calls in models and YAML (generate_surrogate_key, "
      "safe_divide, pivot, star with warehouse introspection, accepted_range, expression_is_true, "
      "not_null_proportion), dbt_utils 1.3.3 installed by `strata deps`. Medians, alternating runs:\n")
print("| project | `strata compile` wall s | CPU s |")
print("|---|---:|---:|")
print(f"| plain | {p:.3f} | {t['plain']['cpu_median']:.3f} |")
print(f"| on dbt_utils | {u:.3f} | {t['dbt_utils']['cpu_median']:.3f} |")
print(f"\n**dbt_utils / plain: {u / p:.2f}x** (same league: < 2x).\n")
PY
else
  echo "bench: the shared dbt packages are missing: the dbt_utils compile section is skipped" >&2
  echo -e "### The same project on dbt_utils\n\nSkipped: no shared dbt packages (set STRATA_DBT_PACKAGES_DIR).\n" >> "$out.tmp"
fi

# --- 2. Per scale: sim, ingest, load, transform build -------------------------------------
for scale in $scales; do
  dir="$work/s$scale"
  mkdir -p "$dir/project"
  cp "$root/examples/shop/strata.yml" "$dir/project/"
  echo "bench: scale $scale: simulating" >&2
  t0=$(now)
  "$strata" sim --out "$dir/sim" --scale "$scale" --days 30 --json > "$dir/sim.json"
  t1=$(now)
  sim_s=$(secs "$t0" "$t1")
  sim_bytes=$(du -sb "$dir/sim" | cut -f1)

  "$strata" sim serve-api --out "$dir/sim" --port 0 --port-file "$dir/port" > /dev/null 2>&1 &
  api_pid=$!
  for _ in $(seq 100); do [[ -s "$dir/port" ]] && break; sleep 0.1; done
  export SHOP_API_URL="http://127.0.0.1:$(cat "$dir/port")" SHOP_DB="$dir/sim/shop.db" SHOP_EVENTS="$dir/sim/events"

  echo "bench: scale $scale: ingesting" >&2
  "$strata" ingest --project "$dir/project" --date 2024-01-30 --json > "$dir/ingest.json"
  kill "$api_pid"; wait "$api_pid" 2>/dev/null || true; api_pid=""

  echo "bench: scale $scale: loading (strata vs DuckDB alone, $reps reps)" >&2
  "$load_bench" --project "$dir/project" --reps "$reps" > "$dir/load.json"

  python3 - "$scale" "$sim_s" "$sim_bytes" "$dir/ingest.json" "$dir/load.json" >> "$out.tmp" <<'PY'
import json, sys
scale, sim_s, sim_bytes = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
ingest = json.load(open(sys.argv[4]))
load = json.load(open(sys.argv[5]))
print(f"## Scale {scale}\n")
print(f"`strata sim --scale {scale} --days 30`: **{sim_s:.2f} s** ({sim_bytes/1e6:.0f} MB of sources)\n")
print("### Ingest (all 30 days in one batch per table)\n")
print("| source | type | records | seconds | records/s | lake MB |")
print("|---|---|---:|---:|---:|---:|")
for s in ingest["sources"]:
    n = sum(t["received"] for t in s["tables"])
    b = sum(t["bytes"] for t in s["tables"])
    print(f"| {s['source']} | {s['type']} | {n:,} | {s['seconds']:.2f} | {n / max(s['seconds'], 1e-9):,.0f} | {b/1e6:.1f} |")
print("\n### Warehouse load vs DuckDB's own read over the same lake files\n")
print("| relation | rows | strata load s | DuckDB CTAS s (same schema) | ratio | DuckDB CTAS s (auto-detect) |")
print("|---|---:|---:|---:|---:|---:|")
for t in load["tables"]:
    ratio = t["strata_s"] / max(t["duckdb_s"], 1e-9)
    auto = f"{t['duckdb_auto_s']:.3f}" if "duckdb_auto_s" in t else "-"
    print(f"| {t['relation']} | {t['rows']:,} | {t['strata_s']:.3f} | {t['duckdb_s']:.3f} | {ratio:.2f}x | {auto} |")
total = load["strata_total_s"] / max(load["duckdb_total_s"], 1e-9)
verdict = "meets" if total <= 1.2 else "MISSES"
print(f"\n**Total: strata {load['strata_total_s']:.2f} s vs DuckDB {load['duckdb_total_s']:.2f} s = {total:.2f}x** "
      f"(target <= 1.2x: {verdict}). Small tables are dominated by fixed per-table costs "
      f"(transaction, bookkeeping insert, commit).\n")
PY

  # 2d. The lake on S3 (at the first scale only): s3rver behind tests/s3/front.cjs, which
  # checks every request's signature, on loopback; upload, download and the warehouse load
  # against the same lake on local disk (bench/s3_bench).
  if [[ "$scale" == "${scales%% *}" ]]; then
    echo "bench: scale $scale: the lake on S3 vs local disk ($reps reps)" >&2
    mkdir -p "$dir/s3data"
    node --openssl-legacy-provider "$root/tests/s3/front.cjs" --dir "$dir/s3data" --port 0 --bucket bench \
      > "$dir/s3front.log" 2>&1 &
    s3_pid=$!
    for _ in $(seq 100); do grep -q '"port"' "$dir/s3front.log" 2>/dev/null && break; sleep 0.1; done
    s3_port=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["port"])' "$dir/s3front.log")
    "$root/$build/bench/s3_bench" --project "$dir/project" --endpoint "http://127.0.0.1:$s3_port" --reps "$reps" \
      > "$dir/s3.json"
    kill "$s3_pid"; wait "$s3_pid" 2>/dev/null || true
    python3 - "$dir/s3.json" >> "$out.tmp" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
mb = r["bytes"] / 1e6
print("### The lake on S3 vs local disk\n")
print(f"{r['objects']} lake objects, {mb:.1f} MB, {r['rows']:,} rows loaded; s3rver (Node.js) behind the "
      "signature-checking front on loopback, every request signed (SigV4) and checked; medians of "
      f"{r['reps']} alternating repetitions.\n")
print("| operation | local s | S3 s | S3 MB/s | S3 / local |")
print("|---|---:|---:|---:|---:|")
for name, key in [("upload every object (conditional PUT)", "upload"), ("download every object (Get, SHA-256 checked)", "download")]:
    l, s = r[f"{key}_local_s"], r[f"{key}_s3_s"]
    print(f"| {name} | {l:.2f} | {s:.2f} | {mb / max(s, 1e-9):.1f} | {s / max(l, 1e-9):.1f}x |")
l = r["load_local_s"]
for name, key in [("warehouse load, cold cache (downloads every file)", "load_s3_cold_s"), ("warehouse load, warm cache", "load_s3_warm_s")]:
    s = r[key]
    print(f"| {name} | {l:.2f} | {s:.2f} | - | {s / max(l, 1e-9):.1f}x |")
print("\nThe S3 side is bounded by the test server (a single-threaded Node.js process writing each object "
      "to disk), not by S3's own throughput; the ratio shows what an S3 lake costs here, with the load "
      "reading local copies (DuckDB has no httpfs).\n")
PY
  fi

  # The transform build needs a loaded warehouse: load_bench leaves none, `strata load` does.
  echo "bench: scale $scale: strata load, then the transform build (strata vs DuckDB script, $reps reps)" >&2
  t0=$(now)
  "$strata" load --project "$dir/project" --json > "$dir/load_cli.json"
  t1=$(now)
  wh_load_s=$(secs "$t0" "$t1")
  wh="$dir/project/warehouse/shop.duckdb"
  cp -r "$root/examples/shop/transform" "$dir/transform"
  rm -rf "$dir/transform/target" "$dir/transform/logs"
  fresh() { rm -f "$1" "$1.wal"; cp "$wh" "$1"; }
  # Alternating strata, DuckDB, strata, DuckDB, ...; strata's first build also writes the
  # artifacts (target/run_results.json) the baseline script is made from.
  timed() {  # SIDE REP SETUP CMD
    python3 "$root/bench/reps.py" --reps 1 --log "$dir/build.log" --side "$1" --setup "$3" --cmd "$4" \
      > "$dir/t_$1_$(printf %02d "$2").json"
  }
  load_before="$(loadavg)"
  for ((rep = 0; rep < reps; rep++)); do
    timed strata "$rep" "$(declare -f fresh); wh='$wh'; fresh '$dir/strata.duckdb'" \
      "STRATA_WAREHOUSE='$dir/strata.duckdb' '$strata' build --project-dir '$dir/transform' --json > '$dir/build.json'"
    if ((rep == 0)); then
      python3 "$root/bench/build_baseline.py" "$dir/transform/target" "$dir/baseline.sql" "$dir/baseline_labels.json"
    fi
    timed duckdb "$rep" "$(declare -f fresh); wh='$wh'; fresh '$dir/duck.duckdb'" \
      "'$duckdb_script' --db '$dir/duck.duckdb' --script '$dir/baseline.sql' > '$dir/duck.json'"
  done
  python3 -c 'import glob, json, statistics, sys
d = sys.argv[1]
out = {}
for side in ("strata", "duckdb"):
    runs = [json.load(open(f))[side] for f in sorted(glob.glob(f"{d}/t_{side}_*.json"))]
    t = [r["times"][0] for r in runs]
    c = [r["cpu"][0] for r in runs]
    out[side] = {"times": t, "median": statistics.median(t), "cpu": c, "cpu_median": statistics.median(c)}
print(json.dumps(out))' "$dir" > "$dir/build_times.json"

  python3 - "$scale" "$wh_load_s" "$(du -b "$wh" | cut -f1)" "$dir/build_times.json" "$dir/build.json" \
    "$dir/duck.json" "$dir/baseline_labels.json" "$dir/transform/target" "$load_before" "$(loadavg)" \
    >> "$out.tmp" <<'PY'
import collections, json, statistics, sys
scale, load_s, wh_bytes = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
times, build, duck = json.load(open(sys.argv[4])), json.load(open(sys.argv[5])), json.load(open(sys.argv[6]))
s_t, d_t = times["strata"], times["duckdb"]
ratio = s_t["median"] / max(d_t["median"], 1e-9)
labels, target = json.load(open(sys.argv[7])), sys.argv[8]
load_before, load_after = sys.argv[9], sys.argv[10]
_m = json.load(open(f"{target}/manifest.json"))
manifest = {**_m["nodes"], **_m.get("unit_tests", {})}
run = {r["unique_id"]: r for r in json.load(open(f"{target}/run_results.json"))["results"]}
kinds = collections.Counter()
for uid in run:
    n = manifest[uid]
    kinds[n["resource_type"] if n["resource_type"] != "model" else n["config"].get("materialized") + " model"] += 1
status = collections.Counter(r["status"] for r in build["results"])
# The baseline's test counts must equal strata's failures: both did the same work.
base_counts = {labels[i]: v for i, v in enumerate(duck["first_values"]) if labels[i].startswith(("test.", "unit_test."))}
mismatch = [u for u, v in base_counts.items() if run[u].get("failures") is not None and run[u]["failures"] != v]
print(f"### Transform build: `strata build` vs the same SQL as one DuckDB script\n")
print(f"`strata load` of the lake into a fresh warehouse: {load_s:.2f} s ({wh_bytes/1e6:.0f} MB). Then "
      f"{len(s_t['times'])} alternating repetitions (strata, DuckDB, strata, ...), each side on its own fresh copy "
      "of that file (copied before the timer starts); strata's first build also writes the run_results.json "
      "the baseline script is made from.\n")
print(f"The shop's dbt project (examples/shop/transform): {len(run)} nodes run ("
      + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())) + "); strata: "
      + ", ".join(f"{v} {k}" for k, v in sorted(status.items()))
      + f"; baseline: {duck['statements']} statements, test counts "
      + ("equal to strata's failures" if not mismatch else f"DIFFER for {len(mismatch)} tests") + ".\n")
print("| side | median wall s (whole process) | runs | CPU s (median) | inside the process (last run) |")
print("|---|---:|---|---:|---|")
print(f"| `strata build` (profile threads: 2) | **{s_t['median']:.2f}** | "
      f"{', '.join(f'{t:.2f}' for t in s_t['times'])} | {s_t['cpu_median']:.2f} | "
      f"runner {build['elapsed']:.2f} s |")
print(f"| DuckDB C API, one script, one connection | **{d_t['median']:.2f}** | "
      f"{', '.join(f'{t:.2f}' for t in d_t['times'])} | {d_t['cpu_median']:.2f} | open {duck['open_s']:.2f} s, "
      f"statements {duck['execute_s']:.2f} s, close {duck['close_s']:.2f} s |")
verdict = "meets" if ratio <= 1.1 else "MISSES"
pairs = [a / max(b, 1e-9) for a, b in zip(s_t["times"], d_t["times"])]
cpu_ratio = s_t["cpu_median"] / max(d_t["cpu_median"], 1e-9)
print(f"\n**Ratio: {ratio:.2f}x** (medians of wall time; target <= 1.1x: {verdict}). Run by run (each strata "
      f"build against the DuckDB run right after it): {', '.join(f'{p:.2f}x' for p in pairs)}, median "
      f"{statistics.median(pairs):.2f}x. CPU time: {cpu_ratio:.2f}x. Load average 1/5/15 min before: "
      f"{load_before}, after: {load_after} (2 cores, shared: the spread between runs is mostly other work on "
      "the machine).\n")
print("What the baseline includes: process start, opening the file, and the statements a hand-written "
      "script needs for the same result, with strata's compiled SQL verbatim (`bench/build_baseline.py`, "
      "from target/run_results.json): CREATE SCHEMA, CREATE OR REPLACE VIEW/TABLE AS <compiled select> in the "
      "order strata finished the nodes (the incremental model's first build is a full build), the seed's "
      "read_csv, the snapshot's first version (CREATE TABLE AS the compiled select plus dbt's four SCD2 "
      "columns), every test as `select count(*) from (<compiled test>)`, on one connection, one after "
      "another; and closing the file (DuckDB checkpoints). What it leaves out, which `strata build` also "
      "does: parsing the project and rendering Jinja; information_schema lookups before each relation; "
      "building tables beside the old one and swapping them in a transaction (create, drop, rename); the "
      "snapshot's staging table and duplicate-key check; the tests' warn/error thresholds; scheduling two "
      "nodes at a time (profile threads: 2) on two connections; writing target/ (manifest.json, "
      "run_results.json, compiled SQL). DuckDB parallelizes each statement itself on both sides.\n")
per_node = collections.defaultdict(float)
for i, sec in enumerate(duck["statement_seconds"]):
    per_node[labels[i]] += sec
top = sorted(run.values(), key=lambda r: -r["execution_time"])[:6]
print("Slowest nodes (last runs): " + "; ".join(
    f"{manifest[r['unique_id']]['name']} {r['execution_time']:.2f} s vs {per_node.get(r['unique_id'], 0):.2f} s"
    for r in top) + ".\n")
PY

  # --- 2c. Dashboards: the shop's overview through strata serve ----------------------------
  echo "bench: scale $scale: dashboards (the overview's cards: strata serve vs DuckDB alone; wrk)" >&2
  cp "$dir/strata.duckdb" "$dir/serve.duckdb"
  mkdir -p "$dir/serve"
  load_before="$(loadavg)"
  "$root/$build/bench/serve_bench" --warehouse "$dir/serve.duckdb" --dashboards "$root/examples/shop/dashboards" \
    --dashboard overview --work "$dir/serve" --reps 20 --seconds 3 > "$dir/serve.json" 2> "$dir/serve.log"
  python3 - "$scale" "$dir/serve.json" "$load_before" "$(loadavg)" >> "$out.tmp" <<'PY'
import json, sys
scale, d, before, after = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4]
print(f"### Dashboards: the overview's cards through `strata serve`\n")
print(f"The marts published and written as a serving copy ({d['serving_copy_bytes'] / 1e6:.1f} MB, "
      f"{d['serving_copy_seconds']:.2f} s: what each publication adds). Under the overview's default filters, "
      f"each card's queries (its filters' anchors, the card, and the previous period when it compares) run by "
      f"DuckDB's API alone on that copy, against the API with no cache answering the card, one at a time "
      f"(median of {d['reps']}); then over HTTP on loopback with `wrk` for {d['seconds']} s per line: cached with 1 "
      f"and 50 connections, uncached with 50 (load average before: {before}, after: {after}; wrk shares the "
      f"{__import__('os').cpu_count()} cores with the server).\n")
print("| card | queries | DuckDB ms | serve uncached ms | ratio | cached, 1 client: p50 / p95 / p99 ms, req/s "
      "| cached, 50 clients: p50 / p95 / p99 ms, req/s | uncached, 50 clients: p50 / p99 ms, req/s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
ratios, p99s = [], []
for c in d["cards"]:
    c1, c50, u50 = c["cached_1"], c["cached_50"], c["uncached_50"]
    ratios.append(c["ratio"])
    p99s.append(c1.get("p99_ms", 0))
    print(f"| {c['card']} ({c['viz']}) | {c['queries']} | {c['duckdb']['median_ms']:.2f} | "
          f"{c['uncached']['median_ms']:.2f} | {c['ratio']:.2f}x | "
          f"{c1.get('p50_ms', 0):.2f} / {c1.get('p95_ms', 0):.2f} / {c1.get('p99_ms', 0):.2f}, {c1.get('rps', 0):,.0f} | "
          f"{c50.get('p50_ms', 0):.2f} / {c50.get('p95_ms', 0):.2f} / {c50.get('p99_ms', 0):.2f}, {c50.get('rps', 0):,.0f} | "
          f"{u50.get('p50_ms', 0):.1f} / {u50.get('p99_ms', 0):.1f}, {u50.get('rps', 0):,.0f} |")
ratios.sort()
worst_ratio, worst_p99 = max(ratios), max(p99s)
print(f"\n**Uncached: median ratio {ratios[len(ratios) // 2]:.2f}x, worst {worst_ratio:.2f}x** (target <= 1.2x: "
      f"{'meets' if worst_ratio <= 1.2 else 'MISSES'}). **Cached, 1 client: worst p99 {worst_p99:.2f} ms** (target < 10 ms: "
      f"{'meets' if worst_p99 < 10 else 'MISSES'}). Cached with 50 clients, see the table: with {__import__('os').cpu_count()} "
      f"cores shared by wrk and the server, the tail there is mostly waiting for a core.\n")
PY

  # --- 2b. PostgreSQL, at the largest scale: raw load, marts publish, the shop build ---------
  if [[ "$scale" == "${scales##* }" ]]; then
    echo "bench: scale $scale: PostgreSQL (raw load and publish vs psql \\copy, $reps reps; the shop build)" >&2
    bash "$root/scripts/pg_test_cluster.sh" start "$work/pg" > /dev/null
    pg_started=1
    # shellcheck disable=SC1091
    source "$work/pg/conninfo.env"
    export PGHOST="$STRATA_TEST_PG_HOST" PGPORT="$STRATA_TEST_PG_PORT" PGUSER="$STRATA_TEST_PG_USER" \
      PGPASSWORD="$STRATA_TEST_PG_PASSWORD" PGDATABASE="$STRATA_TEST_PG_DBNAME"
    export PATH="$STRATA_TEST_PG_BIN:$PATH"  # psql
    export SHOP_TRANSFORM="$dir/transform"  # the load follows this dbt project's target
    "$pg_bench" --project "$dir/project" --warehouse "$dir/strata.duckdb" --transform "$dir/transform" \
      --reps "$reps" > "$dir/pg.json"
    # The shop on PostgreSQL: strata load (binary COPY) and strata build, one pass each, into a
    # fresh database; the DuckDB build's median above is the reference.
    psql -X -q -c "create database shop_bench" > /dev/null
    export SHOP_TARGET=pg STRATA_PG_HOST="$PGHOST" STRATA_PG_PORT="$PGPORT" STRATA_PG_USER="$PGUSER" \
      STRATA_PG_PASSWORD="$PGPASSWORD" STRATA_PG_DBNAME=shop_bench
    t0=$(now)
    "$strata" load --project "$dir/project" --json > "$dir/pg_load.json"
    t1=$(now)
    pg_build_rc=0
    "$strata" build --project-dir "$dir/transform" --json > "$dir/pg_build.json" || pg_build_rc=$?
    t2=$(now)
    unset SHOP_TRANSFORM SHOP_TARGET STRATA_PG_HOST STRATA_PG_PORT STRATA_PG_USER STRATA_PG_PASSWORD STRATA_PG_DBNAME
    python3 - "$scale" "$dir/pg.json" "$(secs "$t0" "$t1")" "$(secs "$t1" "$t2")" "$pg_build_rc" \
      "$dir/pg_build.json" "$dir/build_times.json" "$(loadavg)" >> "$out.tmp" <<'PY'
import collections, json, sys
scale, pg = sys.argv[1], json.load(open(sys.argv[2]))
load_s, build_s, rc = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
try:
    build = json.load(open(sys.argv[6]))
except Exception:
    build = {"results": []}
duck = json.load(open(sys.argv[7]))["strata"]
print(f"### PostgreSQL 15 (a local test cluster started by the bench, fsync off): scale {scale}\n")
print("Reference: `psql \\copy ... from 'f.csv' with (format csv)` of the same rows, exported as CSV beforehand "
      "(untimed), into the same pre-created tables, all tables in one psql process; times are psql's own "
      "`\\timing` of each \\copy (process start and connecting excluded). Strata's side includes everything: "
      "reading the lake files with DuckDB, encoding PostgreSQL's binary COPY, the per-table transaction and "
      f"bookkeeping. Medians of the repetitions; load average after: {sys.argv[8]}.\n")
def table(title, d, what):
    print(f"#### {title}\n")
    print(f"| relation | rows | strata s | psql \\copy s | strata rows/s | psql rows/s | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for t in d["tables"]:
        print(f"| {t['relation']} | {t['rows']:,} | {t['strata_s']:.3f} | {t['psql_s']:.3f} | "
              f"{t['rows'] / max(t['strata_s'], 1e-9):,.0f} | {t['rows'] / max(t['psql_s'], 1e-9):,.0f} | "
              f"{t['ratio']:.2f}x |")
    verdict = "meets" if d["ratio"] >= 0.9 else "MISSES"
    print(f"\n**{what}: {d['rows']:,} rows, strata {d['strata_total_s']:.2f} s vs psql \\copy {d['psql_total_s']:.2f} s: "
          f"{d['ratio']:.2f}x psql's rows/s** (target >= 0.9x: {verdict}).\n")
table("Raw load: `LoadRawToPostgres` (what `strata load` runs for a postgres target) vs psql \\copy", pg["raw_load"],
      "Raw load")
table("Marts publish: binary COPY from the DuckDB warehouse vs psql \\copy", pg["publish"], "Marts publish (COPY)")
w = pg["publish"].get("whole_publish")
if w:
    print(f"The whole publish of `{w['relations']}` to PostgreSQL (no audit): COPY, indexes, comments, ANALYZE and "
          f"the swap in one transaction: **{w['strata_s']:.2f} s** for {w['rows']:,} rows.\n")
status = collections.Counter(r["status"] for r in build.get("results", []))
print("#### The shop's build on PostgreSQL vs DuckDB\n")
print(f"`strata load` into a fresh PostgreSQL database: {load_s:.2f} s. `strata build` (one pass, "
      + (", ".join(f"{v} {k}" for k, v in sorted(status.items())) or f"exit code {rc}")
      + f"): **{build_s:.1f} s** vs the DuckDB build's median above {duck['median']:.1f} s = "
      f"**{build_s / max(duck['median'], 1e-9):.1f}x**.\n")
PY
    bash "$root/scripts/pg_test_cluster.sh" stop "$work/pg" > /dev/null
    pg_started=""
  fi
  rm -rf "$dir"
done

# --- 3. Orchestrator overhead: 1,000-task no-op DAGs --------------------------------------
echo "bench: orchestrator overhead: 1,000-task no-op DAGs, $orch_reps reps" >&2
load_before="$(loadavg)"
"$orchestrate_bench" --tasks 1000 --reps "$orch_reps" > "$work/orch.json"
load_after="$(loadavg)"
# The same in RAM (tmpfs): what the history costs without waiting for the disk's flushes.
echo '{"runs": []}' > "$work/orch_tmpfs.json"
if [[ -d /dev/shm && -w /dev/shm ]]; then
  TMPDIR=/dev/shm "$orchestrate_bench" --tasks 1000 --reps "$orch_reps" > "$work/orch_tmpfs.json"
fi
python3 - "$work/orch.json" "$work/orch_tmpfs.json" "$load_before" "$load_after" >> "$out.tmp" <<'PY'
import json, sys
d, ram = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
load_before, load_after = sys.argv[3], sys.argv[4]
n = d["tasks"]
runs = {(r["shape"], r["path"]): r for r in d["runs"]}
in_ram = {(r["shape"], r["path"]): r for r in ram["runs"]}
def ram_us(shape, path):  # "-" when /dev/shm was not there
    r = in_ram.get((shape, path))
    return f"{r['us_per_task']:,.0f}" if r else "-"
def ram_hop(path):
    r = in_ram.get(("chain", path))
    return f"{r['latency_us']['median']:,.0f}" if r else "-"
shapes = {"chain": f"chain: {n:,} tasks, each after the one before",
          "layered": f"layered: 10 layers of {n // 10}, each task after 2-3 of the layer before"}
paths = {"executor": "`Execute` alone, a runner that returns at once",
         "history": "`RunPipeline` with that runner: run history in runs.db (SQLite, synchronous=FULL)",
         "platform": "`RunPipeline` as `strata pipeline run` calls it: `noop` tasks of PlatformTasks "
                     "(history, plus a log file per attempt)"}
print(f"## Orchestrator overhead: {n:,}-task no-op DAGs\n")
print(f"`bench/orchestrate_bench`: DAGs of tasks that do no work, run by the real executor (concurrency "
      f"{d['concurrency']}, the pipelines' default) in one process. Wall time of the `Execute` or `RunPipeline` "
      f"call, median of {d['reps']} repetitions (min-max); each `RunPipeline` repetition is a new run (another "
      f"logical date) in the same runs.db, in a temp dir on the machine's disk. Load average 1/5/15 min before: "
      f"{load_before}, after: {load_after}.\n")
print("`RunPipeline` writes every task's row before the run, then a task row and an attempt row at each state "
      "change (queued, running, success), each write its own transaction, and runs.db (WAL, synchronous=FULL) "
      "waits for the disk to flush at every commit. The last column runs the same with the temp dir in RAM "
      "(/dev/shm, tmpfs; informational): the orchestrator's CPU cost alone. The rest is waiting for the disk, "
      "which on this shared machine depends on what else writes to it at the time (see min-max).\n")
print("| DAG | path | wall s | µs per task | target < 1,000 µs per task | µs per task, runs.db in RAM |")
print("|---|---|---:|---:|---|---:|")
for shape, what in shapes.items():
    for path, how in paths.items():
        r = runs[(shape, path)]
        verdict = "PASS" if r["us_per_task"] < 1000 else "MISS"
        print(f"| {what} | {how} | {r['median_s']:.3f} ({min(r['seconds']):.3f}-{max(r['seconds']):.3f}) | "
              f"**{r['us_per_task']:,.0f}** | {verdict} | {ram_us(shape, path)} |")
worst = {p: max(runs[(s, p)]["us_per_task"] for s in shapes) for p in paths}
ram_worst = max((r["us_per_task"] for k, r in in_ram.items() if k[1] == "platform"), default=None)
print(f"\n**Executor alone: up to {worst['executor']:,.0f} µs per task "
      f"({'PASS' if worst['executor'] < 1000 else 'MISS'}); as `strata pipeline run` pays it (history and log "
      f"files): up to {worst['platform']:,.0f} µs per task ({'PASS' if worst['platform'] < 1000 else 'MISS'})"
      + (f", {ram_worst:,.0f} µs with runs.db in RAM" if ram_worst is not None else "") + ".**")
print("\nLatency from a task's success to its downstream task's start, on the chain (every hop of every "
      "repetition; the executor's TaskEvent timestamps, or the attempt rows `RunPipeline` wrote, which hold "
      "the same timestamps):\n")
print("| path | hops | median µs | p95 µs | max µs | median µs, runs.db in RAM |")
print("|---|---:|---:|---:|---:|---:|")
for path in paths:
    l = runs[("chain", path)]["latency_us"]
    print(f"| {path} | {l['hops']:,} | **{l['median']:,.0f}** | {l['p95']:,.0f} | {l['max']:,.0f} | "
          f"{ram_hop(path)} |")
hop = runs[("chain", "platform")]["latency_us"]["median"] / 1e6
print("\nReference (cited, not measured: Airflow is not installed here; other hardware, and Airflow runs "
      "every task as a process, while these tasks run in-process):\n")
print("- Astronomer, *The Airflow 2.0 Scheduler* (Vikram Koka, 2020-12-17), "
      "<https://www.astronomer.io/blog/airflow-2-scheduler/>: defines task latency as \"the time it takes for a "
      "task to begin executing once its dependencies have been met\"; for 1,000 tasks (trivial BashOperator, "
      "4 Celery workers, PostgreSQL, 1 scheduler) the total task lag was 11.6 s (100 linear DAGs of 10 tasks), "
      "14.3 s (10 linear DAGs of 100) and 12 s (binary trees) on Airflow 2.0 beta, against 200 s, 144 s and "
      "200 s on 1.10.10. The post does not say how the total is formed; if it is a sum over the 1,000 tasks, "
      "that is 11.6-14.3 ms per task (2.0 beta) and 144-200 ms (1.10.10).")
print("- apache/airflow PR #11327 (2020-10-07), <https://github.com/apache/airflow/pull/11327>: LocalExecutor "
      "\"cuts the 'queued time' down from 1.5s to 0.1s on average\" (a 10-task sequential DAG: queued-to-start "
      "1.33-1.48 s before, 0.08-0.11 s after), because spawning \"a whole new python process and then "
      "re-loading all of Airflow is expensive\".")
print("- apache/airflow PR #11372, <https://github.com/apache/airflow/pull/11372>: CeleryExecutor, \"the "
      "average queued to start delay from 1.5s to 0.4s\"; PR #11373, "
      "<https://github.com/apache/airflow/pull/11373>: a Celery worker's `execute_command` for a BashOperator "
      "running `echo 1` took 6.6 s, then 1.7-1.8 s, then 0.54 s with both changes.")
print("- Between a task and its downstream task in Airflow 1.x: \"~4-6 seconds between a task and a dependent "
      "task has been a fairly reasonable lower bound\" in well-tuned environments (a Stack Overflow answer, as "
      "mirrored at <https://newbe.dev/airflow-latency-between-tasks>). No source was found for a figure of "
      "~2 s from upstream success to downstream start in Airflow 2.\n")
print("| comparison | Airflow | strata: median hop on the chain, `RunPipeline` + PlatformTasks | Airflow / strata |")
print("|---|---:|---:|---:|")
for what, airflow_s, shown in [
        ("task latency, Airflow 2.0 beta (if the total is a sum over the 1,000 tasks)", 0.0116, "11.6 ms"),
        ("queued-to-start, LocalExecutor after PR #11327", 0.1, "0.1 s"),
        ("task to dependent task, Airflow 1.x, lower bound (Stack Overflow answer)", 4.0, "4 s")]:
    print(f"| {what} | {shown} | {hop * 1e3:.2f} ms | {airflow_s / hop:,.0f}x |")
print()
PY

# --- 4. The shop's daily pipeline over 10 days at scale 1 ---------------------------------
fresh_shop() {  # DIR: a copy of examples/shop without generated state
  cp -r "$root/examples/shop" "$1"
  rm -rf "$1/"{.strata,data,lake,warehouse,target,.api.log} "$1/transform/"{target,logs}
}
serve_api() {  # SIM_DIR: the catalog API on it, and the shop's source settings pointing at it
  "$strata" sim serve-api --out "$1" --port 0 --port-file "$1.port" > /dev/null 2>&1 &
  api_pid=$!
  for _ in $(seq 100); do [[ -s "$1.port" ]] && break; sleep 0.1; done
  export SHOP_API_URL="http://127.0.0.1:$(cat "$1.port")" SHOP_DB="$1/shop.db" SHOP_EVENTS="$1/events"
}
stop_api() { kill "$api_pid"; wait "$api_pid" 2>/dev/null || true; api_pid=""; }
dir="$work/shop10"
mkdir -p "$dir"
load_before="$(loadavg)"

echo "bench: shop, 10 days: sources simulated, then strata pipeline backfill --from 2024-01-01 --to 2024-01-10" >&2
fresh_shop "$dir/backfill"
"$strata" sim --out "$dir/sim_b" --scale 1 --start 2024-01-01 --days 10 > /dev/null
serve_api "$dir/sim_b"
t0=$(now)
backfill_rc=0
"$strata" pipeline backfill --project "$dir/backfill" --from 2024-01-01 --to 2024-01-10 > "$dir/backfill.log" 2>&1 ||
  backfill_rc=$?
backfill_s=$(secs "$t0" "$(now)")
stop_api

echo "bench: shop, 10 days: day by day (strata sim --day D, then strata pipeline run --date D)" >&2
fresh_shop "$dir/daily"
"$strata" sim --out "$dir/sim_d" --scale 1 --start 2024-01-01 --days 1 > /dev/null
serve_api "$dir/sim_d"
daily_s=0
daily_rc=0
for ((i = 0; i < 10; i++)); do
  day="$(date -u -d "2024-01-01 + $i day" +%F)"
  if ((i > 0)); then "$strata" sim --out "$dir/sim_d" --day "$day" > /dev/null; fi
  t0=$(now)
  rc=0
  "$strata" pipeline run --project "$dir/daily" --date "$day" >> "$dir/daily.log" 2>&1 || rc=$?
  daily_s=$(python3 -c "print($daily_s + $(now) - $t0)")
  ((rc == 0)) || daily_rc=$rc
done
stop_api

python3 - "$backfill_s" "$backfill_rc" "$dir/backfill/.strata/runs.db" "$daily_s" "$daily_rc" \
  "$dir/daily/.strata/runs.db" "$load_before" "$(loadavg)" >> "$out.tmp" <<'PY'
import collections, re, sqlite3, sys
load_before, load_after = sys.argv[7], sys.argv[8]

def report(title, what, wall, rc, path):
    """Prints one way of running the 10 dates from its run history; returns the failing tests."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    runs = db.execute("select run_id, logical_date, state, started_micros, ended_micros from runs "
                      "order by logical_date").fetchall()
    tasks = collections.defaultdict(dict)
    kinds = {}
    by_type = collections.defaultdict(float)
    failing = collections.Counter()
    for run_id, task, kind, state, start, end, rows, message in db.execute(
            "select run_id, task_id, type, state, started_micros, ended_micros, rows, message from task_instances"):
        secs = (end - start) / 1e6 if start and end >= start else 0.0
        tasks[run_id][task] = (secs, rows, state)
        kinds[task] = kind
        by_type[kind] += secs
        if state == "failed":
            m = re.search(r"failing: (.*)", message)
            failing.update(m.group(1).split(", ") if m else [message[:120]])
    ok = sum(r[2] == "success" for r in runs)
    covered = sum(r[2] == "covered" for r in runs)  # by a catch-up run (orchestrator.h)
    in_runs = sum((r[4] - r[3]) / 1e6 for r in runs if r[2] != "covered")
    print(f"### {title}\n\n{what}\n")
    verdict = "all done" if ok + covered == 10 and rc == 0 else "**FAILED**"
    done = f"{ok} of 10 dates run successfully" + (f", {covered} covered by the catch-up run" if covered else "")
    print(f"**{wall:.1f} s, {wall / 10:.2f} s per date**: exit code {rc}, {done} ({verdict}). "
          f"The runs themselves (runs.db, start to end) take {in_runs:.1f} s; the rest is process start, "
          "loading the project and opening the history.\n")
    order = {"ingest": 0, "load": 1, "build": 2, "test": 3}
    names = sorted(kinds, key=lambda t: (order.get(kinds[t], 9), t))
    print("| date | state | run s | " + " | ".join(f"{t} s (rows)" for t in names) + " |")
    print("|---|---|---:|" + "---:|" * len(names))
    for run_id, date, state, start, end in runs:
        cells = []
        for t in names:
            secs, rows, tstate = tasks[run_id].get(t, (0.0, -1, "none"))
            cell = f"{secs:.2f}" + (f" ({rows:,})" if rows >= 0 else "")
            cells.append(cell if tstate == "success" else f"{cell} {tstate}")
        print(f"| {date} | {state} | {(end - start) / 1e6:.2f} | " + " | ".join(cells) + " |")
    total = sum(by_type.values()) or 1
    print("\nTask time by type over the 10 runs (the ingest tasks overlap): "
          + ", ".join(f"{k} {v:.1f} s ({v / total:.0%})" for k, v in sorted(by_type.items(), key=lambda x: -x[1]))
          + ".\n")
    return failing

print("## The shop's daily pipeline over 10 days at scale 1\n")
print("examples/shop (a fresh copy in a temp dir each time), its `daily` pipeline: ingest shopdb, catalog and "
      "clickstream in parallel, load, then build the dbt project with its tests. Whole processes, one pass each; "
      f"load average 1/5/15 min before: {load_before}, after: {load_after}.\n")
failing = report("Backfill: `strata pipeline backfill --from 2024-01-01 --to 2024-01-10`",
                 "The sources are simulated for all 10 days first (`strata sim --scale 1 --days 10`), as after "
                 "an outage; then one backfill process catches up: the shop ingests a sql source (current state "
                 "only), so the 10 dates become one catch-up run for the last, extracting up to its start, and "
                 "the 9 earlier dates are recorded as covered by it (README, 'Catch-up after an outage').",
                 float(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
if failing:
    print("Failing tests (dates): " + ", ".join(f"{t} ({n})" for t, n in failing.most_common()) + ".\n")
report("Day by day: `strata sim --day D`, then `strata pipeline run --date D`",
       "The sources advance one day before each run (as in `make demo`); only the 10 `pipeline run` processes "
       "are timed.", float(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
PY
rm -rf "$dir"

# --- 5. Quality: a 20-expectation suite on a 10M-row table ------------------------------------
quality_rows="${BENCH_QUALITY_ROWS:-10000000}"
echo "bench: quality: a 20-expectation suite on $quality_rows rows, DuckDB then PostgreSQL, $reps reps" >&2
load_before="$(loadavg)"
"$quality_bench" --rows "$quality_rows" --reps "$reps" > "$work/quality_duckdb.json"
bash "$root/scripts/pg_test_cluster.sh" start "$work/pgq" > /dev/null
(
  # shellcheck disable=SC1091
  source "$work/pgq/conninfo.env"
  export PGHOST="$STRATA_TEST_PG_HOST" PGPORT="$STRATA_TEST_PG_PORT" PGUSER="$STRATA_TEST_PG_USER" \
    PGPASSWORD="$STRATA_TEST_PG_PASSWORD" PGDATABASE="$STRATA_TEST_PG_DBNAME"
  "$quality_bench" --rows "$quality_rows" --reps "$reps" --postgres > "$work/quality_pg.json"
)
bash "$root/scripts/pg_test_cluster.sh" stop "$work/pgq" > /dev/null
load_after="$(loadavg)"
python3 - "$work/quality_duckdb.json" "$work/quality_pg.json" "$load_before" "$load_after" >> "$out.tmp" <<'PY'
import json, sys
runs = [json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))]
print("## Quality: a 20-expectation suite on a 10M-row table\n")
print(f"`bench/quality_bench`: a generated table of {runs[0]['rows']:,} rows (7 columns), a suite of "
      f"{runs[0]['expectations']} expectations (nulls, sets, ranges, regex, like, lengths, mean, median, stdev, sum, "
      "min, max, distinct counts, a column pair), all passing. Strata's `Validate` (the columns, then one aggregate "
      "scan) against the same metrics as one hand-written aggregate query, and against one query per expectation, "
      f"the way GE and dbt tests run. Medians of {runs[0]['reps']} alternating repetitions; load average 1/5/15 min "
      f"before: {sys.argv[3]}, after: {sys.argv[4]}. PostgreSQL: a local test cluster (fsync off), the table analyzed.\n")
print("| engine | strata s (queries) | hand-written query s | ratio (goal <= 1.3x) | one query per expectation s | speed-up |")
print("|---|---:|---:|---:|---:|---:|")
for r in runs:
    s, h, e = r["strata_median_s"], r["hand_written_median_s"], r["one_query_each_median_s"]
    verdict = "meets" if s / h <= 1.3 else "MISSES"
    print(f"| {r['engine']} | {s:.2f} ({r['strata_queries']}) | {h:.2f} | **{s / h:.2f}x** ({verdict}) | {e:.2f} | {e / s:.2f}x |")
print(f"\nThe same without the {runs[0]['expectations'] - runs[0]['light_expectations']} expectations whose statistic "
      "sorts or hashes every value or runs a regular expression (median, the two distinct counts, the regex), "
      f"{runs[0]['light_expectations']} expectations where reading the table is the work:\n")
print("| engine | strata s | one query per expectation s | speed-up |")
print("|---|---:|---:|---:|")
for r in runs:
    s, e = r["light_strata_median_s"], r["light_one_query_each_median_s"]
    print(f"| {r['engine']} | {s:.2f} | {e:.2f} | **{e / s:.1f}x** |")
print("\nWith the full suite, those few statistics take most of the time however the queries are split, so one "
      "scan saves little. Without them, what one scan saves is reading the table again for each expectation: "
      "a lot in PostgreSQL, a row store where each query reads whole rows; little in DuckDB, which reads only a "
      "query's columns, from memory here. The ratio against the hand-written query is Strata's own overhead: "
      "planning, the columns query and building GE's result JSON.\n")
PY

# --- 6. The event collector: events/s and latency under wrk, against the file path ----------
echo "bench: the event collector (wrk at 1, 10 and 100 connections) and the events connector's file path" >&2
cdir="$work/collect"
mkdir -p "$cdir/drop"
cat > "$cdir/strata.yml" <<'YML'
name: collectbench
lake: lake
state_dir: .strata
sources:
  clicks:
    type: collector
    table: events
    listen: 127.0.0.1:0
    required_fields: [event_id, event_type, occurred_at]
    known_types: [page_view, purchase]
  files:
    type: events
    path: drop
    table: events
    settle_seconds: 0
    required_fields: [event_id, event_type, occurred_at]
    known_types: [page_view, purchase]
YML
collect_seconds="${BENCH_COLLECT_SECONDS:-10}"
file_events="${BENCH_FILE_EVENTS:-2000000}"
# Baseline: the same events as a file in a drop folder, landed by `strata ingest` (events connector).
python3 - "$cdir/drop/events-0001.jsonl" "$file_events" <<'PY'
import sys
n = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    for i in range(n):
        f.write('{"event_id":"f-%d","event_type":"page_view","occurred_at":"2024-01-01T10:00:00Z","session_id":"s%d","url":"/products/%d"}\n' % (i, i % 97, i % 100))
PY
t0=$(now)
"$strata" ingest -p "$cdir" --source files --date 2024-01-01 --json > "$cdir/file_ingest.json"
t1=$(now)
file_s=$(secs "$t0" "$t1")
export STRATA_COLLECT_TOKENS="bench-token-$$"
"$strata" collect -p "$cdir" --port-file "$cdir/port" > "$cdir/collect.log" 2>&1 &
collect_pid=$!
for _ in $(seq 100); do [[ -s "$cdir/port" ]] && break; sleep 0.1; done
cport=$(cat "$cdir/port")
for c in 1 10 100; do
  t=$((c < 2 ? 1 : 2))
  BENCH_RUN="c$c" wrk -t"$t" -c"$c" -d"${collect_seconds}s" --latency -s "$root/bench/collect_post.lua" \
    "http://127.0.0.1:$cport" > "$cdir/wrk_$c.txt" 2>&1
done
# 10 and 100 connections at a bounded offered load of about 110,000 events/s: each connection
# waits 8 (85) ms between posts. The goal is judged on these (and on one connection, which
# cannot saturate the machine); unbounded runs show the ceiling, with the queueing it brings.
BENCH_RUN="b10" BENCH_DELAY_MS=8 wrk -t2 -c10 -d"${collect_seconds}s" --latency -s "$root/bench/collect_post.lua" \
  "http://127.0.0.1:$cport" > "$cdir/wrk_10b.txt" 2>&1
BENCH_RUN="b100" BENCH_DELAY_MS=85 wrk -t2 -c100 -d"${collect_seconds}s" --latency -s "$root/bench/collect_post.lua" \
  "http://127.0.0.1:$cport" > "$cdir/wrk_100b.txt" 2>&1
curl -s "http://127.0.0.1:$cport/v1/health" > "$cdir/health.json" || true
kill -TERM "$collect_pid"; wait "$collect_pid" 2>/dev/null || true
unset STRATA_COLLECT_TOKENS
python3 - "$cdir" "$file_events" "$file_s" "$collect_seconds" >> "$out.tmp" <<'PY'
import json, re, sys
d, file_events, file_s, dur = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    x = float(m.group(1))
    return x / 1000 if m.group(2) == "us" else x * 1000 if m.group(2) == "s" else x
print("## The event collector (`strata collect`)\n")
print(f"wrk on loopback, each request POSTing 100 NDJSON events with unique ids (bench/collect_post.lua), {dur} s per "
      "run; every answer waits for its events' fsync (group commit across concurrent requests); the collector lands "
      "batches to the local lake meanwhile. wrk and the collector share the machine's 2 cores. Goal: >= 100,000 "
      "events/s with p99 < 20 ms.\n")
print("| connections | requests/s | events/s | p50 ms | p90 ms | p99 ms | non-2xx | goal |")
print("|---:|---:|---:|---:|---:|---:|---:|---|")
for c in (1, 10, "10b", 100, "100b"):
    t = open(f"{d}/wrk_{c}.txt").read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    lat = dict(re.findall(r"\s+(50|75|90|99)%\s+([\d.]+(?:us|ms|s))", t))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    p99 = ms(lat["99"])
    ok = rps * 100 >= 100000 and p99 < 20
    judged = c in (1, "10b", "100b")
    label = f"{str(c)[:-1]}, offered ~110k events/s" if str(c).endswith("b") else f"{c}, unbounded"
    print(f"| {label} | {rps:,.0f} | {rps * 100:,.0f} | {ms(lat['50']):.2f} | {ms(lat['90']):.2f} | {p99:.2f} | "
          f"{bad.group(1) if bad else 0} | {('meets' if ok else 'MISSES') if judged else 'ceiling'} |")
fi = json.load(open(f"{d}/file_ingest.json"))
n = sum(t["received"] for s in fi["sources"] for t in s["tables"])
print(f"\nBaseline, the events connector's file path: `strata ingest` of one {n:,}-event file from a drop folder: "
      f"**{file_s:.2f} s = {n / max(file_s, 1e-9):,.0f} events/s** (whole process; no network, one fsync per batch).\n")
PY

mv "$out.tmp" "$out"
cat "$out"
