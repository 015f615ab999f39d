#!/usr/bin/env bash
# Browser tests of `strata serve` on the shop, run by ctest:
#   1. a fresh copy of examples/shop (strata.yml and dashboards/) in a temp dir; three days of
#      simulated sources, and the daily pipeline run for each (publishing the marts);
#   2. expect.json: the overview's KPIs under its default filters, computed here with plain
#      SQL on the warehouse (not the dashboards' SQL);
#   3. `strata serve` on a free port, and tests/web/dashboards.mjs in headless Chromium
#      (every dashboard loads with no console errors, KPIs equal expect.json, filters reload
#      exactly their cards, drill-through, CSV, URL state, the explorer). Screenshots go to $2;
#   4. the same project with logins (`strata serve --auth`, an editor and a viewer) and
#      tests/web/auth.mjs;
#   5. tests/web/embed.mjs on that server: the overview embedded with a signed token in another
#      site's frame (no login needed).
#
#   tests/web/run_browser_tests.sh <strata binary> <screenshot dir>
set -euo pipefail

strata="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shots="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

project="$work/shop"
mkdir -p "$project" "$shots"
cp "$root/examples/shop/strata.yml" "$project/"
cp -r "$root/examples/shop/dashboards" "$project/"
export SHOP_TRANSFORM="$root/examples/shop/transform"
export SHOP_QUALITY="$root/examples/shop/quality"
export STRATA_WAREHOUSE="$project/warehouse/shop.duckdb"
cd "$project"

"$strata" sim --out data/sim --scale 1 --start 2024-01-01 --days 1 > /dev/null
"$strata" sim serve-api --out data/sim --port 0 --port-file "$work/api.port" > "$work/api.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s "$work/api.port" ]] && break; sleep 0.1; done
[[ -s "$work/api.port" ]] || { echo "the catalog API did not start:"; cat "$work/api.log"; exit 1; }
export SHOP_API_URL="http://127.0.0.1:$(cat "$work/api.port")"
for day in 2024-01-01 2024-01-02 2024-01-03; do
  [[ "$day" == 2024-01-01 ]] || "$strata" sim --out data/sim --day "$day" > /dev/null
  "$strata" pipeline run --date "$day" > "$work/run-$day.log" 2>&1 || { cat "$work/run-$day.log"; exit 1; }
done

# The overview's default period: the 30 days ending on the newest order day.
q() { "$strata" query "$1" | tail -n +2; }
last="$(q "SELECT max(CAST(placed_at AS DATE)) FROM analytics.fact_orders")"
first="$(date -u -d "$last - 29 days" +%F)"
in_period="NOT is_cancelled AND CAST(placed_at AS DATE) BETWEEN DATE '$first' AND DATE '$last'"
revenue="$(q "SELECT sum(line_revenue) FROM analytics.fact_orders WHERE $in_period")"
orders="$(q "SELECT count(DISTINCT order_id) FROM analytics.fact_orders WHERE $in_period")"
customers="$(q "SELECT count(DISTINCT customer_id) FROM analytics.fact_orders WHERE $in_period")"
by_category="$(q "SELECT '\"' || coalesce(p.category, '(none)') || '\": {\"revenue\": ' || sum(f.line_revenue) || '}'
  FROM (SELECT * FROM analytics.fact_orders WHERE $in_period) f
  LEFT JOIN analytics.dim_products p USING (product_sk) GROUP BY p.category" | paste -sd, -)"
cat > "$work/expect.json" <<JSON
{"overview": {"kpis": {"revenue": $revenue, "orders": $orders, "customers": $customers},
              "kpis_by_category": {$by_category}}}
JSON

# Signed embeds: the servers and tests/web/embed.mjs share a secret made for this run.
STRATA_EMBED_SECRET="$(openssl rand -hex 32)"
export STRATA_EMBED_SECRET

"$strata" serve --port 0 --port-file "$work/serve.port" > "$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s "$work/serve.port" ]] && break; sleep 0.1; done
[[ -s "$work/serve.port" ]] || { echo "strata serve did not start:"; cat "$work/serve.log"; exit 1; }

node "$root/tests/web/dashboards.mjs" --url "http://127.0.0.1:$(cat "$work/serve.port")" \
  --expect "$work/expect.json" --screenshots "$shots"

# Logins: the same project served with --auth, an editor and a viewer.
STRATA_USER_PASSWORD='correct horse battery' "$strata" users add ana --role editor > /dev/null
STRATA_USER_PASSWORD='another long secret' "$strata" users add bo --role viewer > /dev/null
"$strata" serve --auth --port 0 --port-file "$work/auth.port" > "$work/auth.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s "$work/auth.port" ]] && break; sleep 0.1; done
[[ -s "$work/auth.port" ]] || { echo "strata serve --auth did not start:"; cat "$work/auth.log"; exit 1; }
node "$root/tests/web/auth.mjs" --url "http://127.0.0.1:$(cat "$work/auth.port")" \
  --editor 'ana:correct horse battery' --viewer 'bo:another long secret' --screenshots "$shots"

# Embeds need no login: the overview in another site's frame, from the server with logins.
node "$root/tests/web/embed.mjs" --url "http://127.0.0.1:$(cat "$work/auth.port")" \
  --expect "$work/expect.json" --screenshots "$shots"
