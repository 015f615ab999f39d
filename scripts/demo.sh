#!/usr/bin/env bash
# The shop platform end to end on the embedded default: simulate the sources, start the
# catalog API, then run the pipeline day by day (ingest the three sources, load the raw
# schema, build the dbt project: staging, snapshot, marts) and print what landed where.
#
# DEMO_LAKE=s3: the lake in an S3 bucket (s3rver behind tests/s3/front.cjs, which checks every
# request's signature, started here). DEMO_EVENTS=collector: the clickstream posted over HTTP
# to `strata collect` (by `strata sim post-events`) instead of dropped as files. `make demo-s3`
# runs both, after a local run, and compares the marts.
set -euo pipefail

strata="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$root/examples/shop"
days="${DEMO_DAYS:-5}"
start="2024-01-01"

cd "$project"
rm -rf data lake warehouse .strata .collect.port .collect.log
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
if [[ "${DEMO_LAKE:-local}" == "s3" ]]; then
  rm -rf .s3
  mkdir -p .s3/data
  node --openssl-legacy-provider "$root/tests/s3/front.cjs" --dir .s3/data --port 0 --bucket shop > .s3/front.log 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q '"port"' .s3/front.log 2>/dev/null && break; sleep 0.1; done
  s3_port="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["port"])' .s3/front.log)"
  export AWS_ACCESS_KEY_ID=strata-test-key AWS_SECRET_ACCESS_KEY=strata-test-secret
  export SHOP_LAKE="s3://shop/lake?endpoint=http://127.0.0.1:$s3_port&cache=$project/.s3/cache"
  echo "== the lake on S3: $SHOP_LAKE (s3rver; every request's SigV4 signature checked)"
fi
echo "== strata sim: day 1 of the shop's sources (scale 1, dirt on); one more day before each run"
"$strata" sim --out data/sim --scale 1 --start "$start" --days 1

port_file="$(mktemp)"
"$strata" sim serve-api --out data/sim --port 0 --port-file "$port_file" > .api.log 2>&1 &
api_pid=$!
pids+=("$api_pid")
for _ in $(seq 100); do [[ -s "$port_file" ]] && break; sleep 0.1; done
[[ -s "$port_file" ]] || { echo "catalog API did not start:"; cat .api.log; exit 1; }
export SHOP_API_URL="http://127.0.0.1:$(cat "$port_file")"
rm -f "$port_file"
echo "== catalog API on $SHOP_API_URL"

if [[ "${DEMO_EVENTS:-files}" == "collector" ]]; then
  export SHOP_EVENTS_VIA=collector SHOP_COLLECT_LISTEN=127.0.0.1:0
  export STRATA_COLLECT_TOKENS="demo-$RANDOM$RANDOM" STRATA_COLLECT_TOKEN
  STRATA_COLLECT_TOKEN="$STRATA_COLLECT_TOKENS"
  rm -f .collect.port  # a stale one from an earlier run would name a port no one listens on
  "$strata" collect -p "$project" --port-file .collect.port > .collect.log 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [[ -s .collect.port ]] && break; sleep 0.1; done
  [[ -s .collect.port ]] || { echo "strata collect did not start:"; cat .collect.log; exit 1; }
  collector="http://127.0.0.1:$(cat .collect.port)"
  echo "== strata collect on $collector/v1/events; the simulator posts the clickstream there"
fi

for ((i = 0; i < days; i++)); do
  day="$(date -u -d "$start + $i day" +%F)"
  if ((i > 0)); then "$strata" sim --out data/sim --day "$day" > /dev/null; fi
  if [[ -n "${collector:-}" ]]; then "$strata" sim post-events --out data/sim --url "$collector" --day "$day"; fi
  echo
  echo "== strata pipeline run --date $day"
  "$strata" pipeline run --date "$day"
done

echo
echo "== run history (strata runs; details: strata runs show <run_id>, strata logs <run_id> <task>)"
"$strata" runs --limit 5

echo
echo "== rerun of the last day: lands nothing new"
"$strata" pipeline run --date "$day" | grep -E "nothing new|landed" || true

echo
echo "== what landed, and where"
echo "lake:      $("$strata" lake verify | tail -n 1)"
echo "warehouse: $project/warehouse/shop.duckdb"
printf "%-24s %10s\n" "raw table" "rows"
for t in $("$strata" query "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name NOT LIKE '\_%' ESCAPE '\' ORDER BY 1" | tail -n +2); do
  printf "%-24s %10s\n" "raw.$t" "$("$strata" query "SELECT count(*) FROM raw.$t" | tail -n 1)"
done
echo
echo "marts are built in 'marts' and, once their tests pass, published to 'analytics' (what dashboards read)"
printf "%-24s %10s %12s\n" "mart" "built" "published"
for t in dim_customers dim_products dim_date fact_orders fct_sessions mart_funnel_daily; do
  printf "%-24s %10s %12s\n" "$t" "$("$strata" query "SELECT count(*) FROM marts.$t" | tail -n 1)" \
    "$("$strata" query "SELECT count(*) FROM analytics.$t" | tail -n 1)"
done
echo "last publications (analytics._strata_publications):"
"$strata" query "SELECT logical_date, count(*) AS relations, sum(row_count) AS row_count FROM analytics._strata_publications GROUP BY 1 ORDER BY 1 DESC LIMIT 3"
echo
echo "quarantined: $("$strata" lake ls --json | python3 -c 'import json,sys; print(sum(b["quarantined"] for b in json.load(sys.stdin)["batches"]))') record(s), with their reasons, under quarantine/ in the lake"
# What compares runs of the demo (make demo-s3): a checksum of each mart built from the
# database and the API.
if [[ -n "${DEMO_FINGERPRINT:-}" ]]; then
  for t in dim_customers dim_products fact_orders; do
    echo "$t $("$strata" query "SELECT count(*) || ' ' || md5(string_agg(CAST(x AS VARCHAR), chr(10) ORDER BY CAST(x AS VARCHAR))) FROM analytics.$t x" | tail -n 1)"
  done > "$DEMO_FINGERPRINT"
fi

echo
echo "== data quality: dbt tests and the shop's expectation suites (quality/, Great Expectations' format)"
"$strata" quality report | tail -n 3
echo "data docs: $project/.strata/quality/docs/index.html"

echo
echo "== dashboards: the shop's overview, funnel, customers and data health"
echo "   $strata serve -p $project    then open http://127.0.0.1:8080/"
if [[ "${DEMO_SERVE:-0}" == "1" ]]; then
  "$strata" serve -p "$project" --port "${DEMO_PORT:-8080}"
fi
