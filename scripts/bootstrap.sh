#!/usr/bin/env bash
# Installs what Strata needs to build and test, idempotently:
#   1. Debian packages (only the missing ones),
#   2. DuckDB 1.4.4 (libduckdb.so + duckdb.h) from the npm registry into third_party/duckdb/,
#      checked against pinned integrity hashes.
# Safe to run many times; does nothing when everything is already in place.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# --- 1. Debian packages -------------------------------------------------------------------
packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libyaml-dev nlohmann-json3-dev libsimdjson-dev
  libcurl4-openssl-dev libsqlite3-dev libzstd-dev libssl-dev libcpp-httplib-dev zlib1g-dev libbrotli-dev
  libabsl-dev tzdata libpq-dev
  sqlite3 zstd postgresql-15 clang-format ccache
)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js/npm only fetch DuckDB; any install that provides the commands will do (the machine
# image may carry a non-Debian build that conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- 2. DuckDB from npm ---------------------------------------------------------------------
# Pinned: package, version, npm integrity (sha512 of the tarball), file inside the tarball.
duck_dir="$root/third_party/duckdb"
lib_pkg="@duckdb/node-bindings-linux-x64@1.4.4-r.4"
lib_integrity="sha512-jBTL/WvfwxLToFa/pVHfT6elMtltJGnc3wSuxZD9OfMltit9YUdVFS37vBFQzXMT1Z8OWjtSjMh+zPKxOwHLHA=="
hdr_pkg="duckdb@1.4.4"
hdr_integrity="sha512-hEJJ5hyVF0VLj3dmOLpsWrQR0b3d4Ykqtygm6iUXjHJDDnSqg/USKxcb5qvNrOhFYPgktayU6dXCtgPqcmmpog=="
stamp="$duck_dir/.stamp"
want_stamp="$lib_integrity $hdr_integrity"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" && -f "$duck_dir/lib/libduckdb.so" && -f "$duck_dir/include/duckdb.h" ]]; then
  exit 0
fi

echo "bootstrap: fetching DuckDB 1.4.4 from the npm registry"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() {  # fetch <package@version> <integrity> -> prints tarball path
  local pkg="$1" integrity="$2"
  (cd "$work" && npm pack --silent "$pkg" >/dev/null)
  local tgz
  tgz="$(ls -t "$work"/*.tgz | head -n1)"
  local got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [[ "$got" != "$integrity" ]]; then
    echo "bootstrap: integrity mismatch for $pkg: expected $integrity, got $got" >&2
    exit 1
  fi
  mv "$tgz" "$work/$(echo "$pkg" | tr '/@' '__').tgz"
  echo "$work/$(echo "$pkg" | tr '/@' '__').tgz"
}

lib_tgz="$(fetch "$lib_pkg" "$lib_integrity")"
hdr_tgz="$(fetch "$hdr_pkg" "$hdr_integrity")"

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
echo "bootstrap: DuckDB installed in third_party/duckdb"
