#!/usr/bin/env bash
# The shop platform end to end on the embedded default: simulate the sources, start the
# catalog API, then run the pipeline day by day (ingest the three sources, load the raw
# schema, build the dbt project: staging, snapshot, marts) and print what landed where.
set -euo pipefail

strata="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$root/examples/shop"
days="${DEMO_DAYS:-5}"
start="2024-01-01"

cd "$project"
rm -rf data lake warehouse .strata
echo "== strata sim: day 1 of the shop's sources (scale 1, dirt on); one more day before each run"
"$strata" sim --out data/sim --scale 1 --start "$start" --days 1

port_file="$(mktemp)"
"$strata" sim serve-api --out data/sim --port 0 --port-file "$port_file" > .api.log 2>&1 &
api_pid=$!
trap 'kill $api_pid 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 100); do [[ -s "$port_file" ]] && break; sleep 0.1; done
[[ -s "$port_file" ]] || { echo "catalog API did not start:"; cat .api.log; exit 1; }
export SHOP_API_URL="http://127.0.0.1:$(cat "$port_file")"
echo "== catalog API on $SHOP_API_URL"

for ((i = 0; i < days; i++)); do
  day="$(date -u -d "$start + $i day" +%F)"
  if ((i > 0)); then "$strata" sim --out data/sim --day "$day" > /dev/null; fi
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
echo "lake:      $project/lake  ($(find lake -type f -not -name '.*' | wc -l) files)"
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
echo "quarantine: $(find lake/quarantine -type f 2>/dev/null | wc -l) file(s); e.g.:"
find lake/quarantine -type f 2>/dev/null | head -n 1 | xargs -r head -n 2

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
