#!/usr/bin/env bash
# Installs what Strata needs to build and test, idempotently:
#   1. Debian packages (only the missing ones),
#   2. DuckDB 1.4.4 (libduckdb.so + duckdb.h) from the npm registry into third_party/duckdb/,
#      checked against pinned integrity hashes,
#   3. web assets from the npm registry into third_party/web/, checked the same way: ECharts
#      (the web UI's charts) and playwright-core (drives Debian's chromium in browser tests).
# Safe to run many times; each section has its own stamp and does nothing when already in place.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# --- 1. Debian packages -------------------------------------------------------------------
# chromium: headless browser for tests/web (driven by playwright-core, section 3);
# fonts-dejavu-core: so pages render text in headless chromium (installed without recommends);
# wrk: HTTP load generator for benchmarks.
packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libyaml-dev nlohmann-json3-dev libsimdjson-dev
  libcurl4-openssl-dev libsqlite3-dev libzstd-dev libssl-dev libcpp-httplib-dev zlib1g-dev libbrotli-dev
  libabsl-dev tzdata libpq-dev libsodium-dev
  sqlite3 zstd postgresql-15 clang-format ccache
  chromium fonts-dejavu-core wrk
)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js/npm fetch DuckDB and the web assets and run the browser tests; any install that
# provides the commands will do (the machine image may carry a non-Debian build that conflicts
# with Debian's npm package).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  start=$SECONDS
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  echo "bootstrap: Debian packages installed ($((SECONDS - start)) s)"
fi

# --- npm fetch helper (sections 2 and 3) --------------------------------------------------------
# One scratch directory for the whole run, made only when a section has something to fetch.
work=""
trap 'if [[ -n "$work" ]]; then rm -rf "$work"; fi' EXIT

fetch() {  # fetch <package@version> <integrity> -> prints tarball path
  local pkg="$1" integrity="$2"
  [[ -n "$work" ]] || { echo "bootstrap: fetch called before the scratch directory exists" >&2; exit 1; }
  # npm pack prints the name of the tarball it wrote.
  local name tgz got
  name="$(cd "$work" && npm pack --silent "$pkg" | tail -n1)"
  tgz="$work/$name"
  [[ -n "$name" && -f "$tgz" ]] || { echo "bootstrap: npm pack $pkg wrote no tarball" >&2; exit 1; }
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [[ "$got" != "$integrity" ]]; then
    echo "bootstrap: integrity mismatch for $pkg: expected $integrity, got $got" >&2
    exit 1
  fi
  mv "$tgz" "$work/$(echo "$pkg" | tr '/@' '__').tgz"
  echo "$work/$(echo "$pkg" | tr '/@' '__').tgz"
}

# --- 2. DuckDB from npm ---------------------------------------------------------------------
# Pinned: package, version, npm integrity (sha512 of the tarball), file inside the tarball.
install_duckdb() {
  local duck_dir="$root/third_party/duckdb"
  local lib_pkg="@duckdb/node-bindings-linux-x64@1.4.4-r.4"
  local lib_integrity="sha512-jBTL/WvfwxLToFa/pVHfT6elMtltJGnc3wSuxZD9OfMltit9YUdVFS37vBFQzXMT1Z8OWjtSjMh+zPKxOwHLHA=="
  local hdr_pkg="duckdb@1.4.4"
  local hdr_integrity="sha512-hEJJ5hyVF0VLj3dmOLpsWrQR0b3d4Ykqtygm6iUXjHJDDnSqg/USKxcb5qvNrOhFYPgktayU6dXCtgPqcmmpog=="
  local stamp="$duck_dir/.stamp"
  local want_stamp="$lib_integrity $hdr_integrity"

  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" && -f "$duck_dir/lib/libduckdb.so" && -f "$duck_dir/include/duckdb.h" ]]; then
    return 0
  fi

  echo "bootstrap: fetching DuckDB 1.4.4 from the npm registry"
  local start=$SECONDS
  [[ -n "$work" ]] || work="$(mktemp -d)"
  local lib_tgz hdr_tgz
  lib_tgz="$(fetch "$lib_pkg" "$lib_integrity")"
  hdr_tgz="$(fetch "$hdr_pkg" "$hdr_integrity")"

  rm -rf "${work:?}/lib" "${work:?}/hdr"
  mkdir -p "$work/lib" "$work/hdr"
  tar -xzf "$lib_tgz" -C "$work/lib"
  tar -xzf "$hdr_tgz" -C "$work/hdr" package/src/duckdb/src/include/duckdb.h

  rm -rf "$duck_dir.new"
  mkdir -p "$duck_dir.new/lib" "$duck_dir.new/include"
  cp "$(find "$work/lib" -name libduckdb.so | head -n1)" "$duck_dir.new/lib/libduckdb.so"
  cp "$work/hdr/package/src/duckdb/src/include/duckdb.h" "$duck_dir.new/include/duckdb.h"
  echo "$want_stamp" > "$duck_dir.new/.stamp"
  rm -rf "$duck_dir"
  mv "$duck_dir.new" "$duck_dir"
  echo "bootstrap: DuckDB installed in third_party/duckdb ($((SECONDS - start)) s)"
}

# --- 3. Web assets from npm -------------------------------------------------------------------
# ECharts: only the prebuilt UMD bundle (dist/echarts.min.js bundles zrender, its one runtime
# dependency) and its LICENSE/NOTICE, into third_party/web/echarts/, for the web UI's charts.
# playwright-core: the whole package, into third_party/web/node_modules/playwright-core, so tests
# can `import` it without npm install; it has no npm dependencies and downloads no browser by
# itself. 1.64.1 is pinned because it was built against Chromium 156, the version Debian 12 ships
# (tests launch /usr/bin/chromium through executablePath; playwright's own browser downloads are
# not reachable here).
install_web_assets() {
  local web_dir="$root/third_party/web"
  local echarts_pkg="echarts@5.6.0"
  local echarts_integrity="sha512-oTbVTsXfKuEhxftHqL5xprgLoc0k7uScAwtryCgWF6hPYFLRwOUHiFmHGCBKP5NPFNkDVopOieyUqYGH8Fa3kA=="
  local pw_pkg="playwright-core@1.64.1"
  local pw_integrity="sha512-BC4s8y6SEVA6Q1rSxZTto8hI1KUI3xXlHGZgvGqP4IqPdI/a6FX9H29IDNz7vKo9l21b6LfYosScPL6M3xxyDQ=="
  local stamp="$web_dir/.stamp"
  local want_stamp="$echarts_integrity $pw_integrity"

  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" && -f "$web_dir/echarts/echarts.min.js" \
        && -f "$web_dir/node_modules/playwright-core/package.json" ]]; then
    return 0
  fi

  echo "bootstrap: fetching ECharts 5.6.0 and playwright-core 1.64.1 from the npm registry"
  local start=$SECONDS
  [[ -n "$work" ]] || work="$(mktemp -d)"
  local echarts_tgz pw_tgz
  echarts_tgz="$(fetch "$echarts_pkg" "$echarts_integrity")"
  pw_tgz="$(fetch "$pw_pkg" "$pw_integrity")"

  rm -rf "${work:?}/echarts" "${work:?}/pw"
  mkdir -p "$work/echarts" "$work/pw"
  # LICENSE and NOTICE are both in echarts 5.6.0's tarball (Apache-2.0 asks for NOTICE to travel).
  tar -xzf "$echarts_tgz" -C "$work/echarts" package/dist/echarts.min.js package/LICENSE package/NOTICE
  tar -xzf "$pw_tgz" -C "$work/pw"

  rm -rf "$web_dir.new"
  mkdir -p "$web_dir.new/echarts" "$web_dir.new/node_modules"
  cp "$work/echarts/package/dist/echarts.min.js" "$work/echarts/package/LICENSE" \
     "$work/echarts/package/NOTICE" "$web_dir.new/echarts/"
  mv "$work/pw/package" "$web_dir.new/node_modules/playwright-core"
  echo "$want_stamp" > "$web_dir.new/.stamp"
  rm -rf "$web_dir"
  mv "$web_dir.new" "$web_dir"
  echo "bootstrap: ECharts and playwright-core installed in third_party/web ($((SECONDS - start)) s)"
}

# --- 4. The S3 test harness from npm -----------------------------------------------------------
# s3rver (an S3 protocol server) and AWS's SigV4 signer (@smithy/signature-v4), which
# tests/s3/front.cjs puts in front of it to verify every request's signature. Exact versions and
# every transitive package's integrity hash are pinned in tests/s3/package-lock.json; `npm ci`
# refuses a tarball that does not match. Test-only: nothing here is linked into Strata.
install_s3_harness() {
  local s3_dir="$root/third_party/s3"
  local lock="$root/tests/s3/package-lock.json"
  local stamp="$s3_dir/.stamp"
  local want_stamp
  want_stamp="$(sha256sum "$lock" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" && -f "$s3_dir/node_modules/s3rver/package.json" ]]; then
    return 0
  fi
  echo "bootstrap: installing the S3 test harness (s3rver, @smithy/signature-v4) from the npm registry"
  local start=$SECONDS
  rm -rf "$s3_dir.new"
  mkdir -p "$s3_dir.new"
  cp "$root/tests/s3/package.json" "$lock" "$s3_dir.new/"
  (cd "$s3_dir.new" && npm ci --ignore-scripts --no-audit --no-fund --silent)
  echo "$want_stamp" > "$s3_dir.new/.stamp"
  rm -rf "$s3_dir"
  mv "$s3_dir.new" "$s3_dir"
  echo "bootstrap: S3 test harness installed in third_party/s3 ($((SECONDS - start)) s)"
}

install_duckdb
install_web_assets
install_s3_harness
