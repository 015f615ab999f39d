#!/usr/bin/env python3
"""The baseline of the transform build benchmark: the SQL `strata build` executed, as one
plain DuckDB script.

    build_baseline.py TARGET_DIR OUT.sql OUT_labels.json

Reads TARGET_DIR/manifest.json and TARGET_DIR/run_results.json of a `strata build` on a
freshly loaded warehouse and writes, in the order the nodes finished (a topological order:
a node starts only after its parents finished), the DDL a hand-written script would use:

  * view model:         CREATE SCHEMA IF NOT EXISTS s; CREATE OR REPLACE VIEW s.a AS (<compiled>)
  * table/incremental:  CREATE SCHEMA IF NOT EXISTS s; CREATE OR REPLACE TABLE s.a AS (<compiled>)
                        (a first build of an incremental model is a full build)
  * seed:               CREATE OR REPLACE TABLE s.a AS SELECT * FROM read_csv(<the seed>, <its types>)
  * snapshot:           CREATE TABLE s.a AS <compiled> plus dbt's four SCD2 columns (the first
                        version; the warehouse has no snapshot yet)
  * test:               SELECT count(*) FROM (<compiled>)
  * ephemeral:          nothing (inlined where referenced)

The compiled SQL is taken verbatim from run_results.json (`compiled_code`). The labels file
lists, per statement, the node it belongs to, for per-node comparisons.
"""
import json
import sys


def q(ident):
    return '"' + ident.replace('"', '""') + '"'


def rel(node):
    parts = [node["schema"], node["alias"] or node["name"]]
    if node.get("database"):
        parts.insert(0, node["database"])
    return ".".join(q(p) for p in parts)


def main():
    target, out_sql, out_labels = sys.argv[1:4]
    manifest = json.load(open(f"{target}/manifest.json"))
    results = json.load(open(f"{target}/run_results.json"))
    nodes = dict(manifest["nodes"])
    nodes.update(manifest.get("unit_tests", {}))  # dbt 1.8 keeps unit tests apart
    stmts, labels = [], []
    schemas = set()

    def add(sql, uid):
        stmts.append(sql.rstrip().rstrip(";"))
        labels.append(uid)

    def schema(node, uid):
        s = (q(node["database"]) + "." if node.get("database") else "") + q(node["schema"])
        if s not in schemas:
            schemas.add(s)
            add(f"CREATE SCHEMA IF NOT EXISTS {s}", uid)

    for r in results["results"]:
        uid = r["unique_id"]
        if r["status"] not in ("success", "pass", "warn", "fail"):
            raise SystemExit(f"build_baseline: {uid} ended '{r['status']}': the build must succeed")
        node = nodes[uid]
        sql = r.get("compiled_code") or ""
        kind = node["resource_type"]
        cfg = node.get("config", {})
        m = cfg.get("materialized", "view")
        if kind in ("test", "unit_test"):
            # A unit test's compiled code is its whole comparison query (fixtures included).
            add(f"SELECT count(*) FROM (\n{sql}\n) dbt_internal_test", uid)
        elif kind == "seed":
            # strata records "-- seed <csv path>" and loads it with DuckDB's read_csv, typed
            # by the seed's column_types (warehouse/session.cc); the script does the same.
            schema(node, uid)
            path = sql.strip()[len("-- seed "):] if sql.strip().startswith("-- seed ") else node["original_file_path"]
            types = cfg.get("column_types") or {}
            typed = ", ".join(f"'{k}': '{v}'" for k, v in sorted(types.items()))
            delim = cfg.get("delimiter", ",")
            add(f"CREATE OR REPLACE TABLE {rel(node)} AS SELECT * FROM read_csv('{path}', header = true, "
                f"delim = '{delim}'" + (f", types = {{{typed}}}" if typed else "") + ")", uid)
        elif kind == "snapshot":
            schema(node, uid)
            keys = cfg["unique_key"] if isinstance(cfg["unique_key"], list) else [cfg["unique_key"]]
            updated = f's.{q(cfg["updated_at"])}' if cfg.get("strategy", "timestamp") == "timestamp" \
                else "cast(current_timestamp as timestamp)"
            scd = " || '|' || ".join(f"coalesce(cast(s.{q(k)} as varchar), '')" for k in keys)
            scd += f" || '|' || coalesce(cast({updated} as varchar), '')"
            extra = ",\n    'False' AS dbt_is_deleted" if cfg.get("hard_deletes") == "new_record" else ""
            add(f"CREATE TABLE {rel(node)} AS\nSELECT s.*,\n    md5({scd}) AS dbt_scd_id,\n"
                f"    {updated} AS dbt_updated_at,\n    {updated} AS dbt_valid_from,\n"
                f"    CAST(NULL AS TIMESTAMP) AS dbt_valid_to{extra}\nFROM (\n{sql}\n) s", uid)
        elif kind == "model":
            if m == "ephemeral":
                continue
            schema(node, uid)
            what = "VIEW" if m == "view" else "TABLE"
            add(f"CREATE OR REPLACE {what} {rel(node)} AS (\n{sql}\n)", uid)
        else:
            raise SystemExit(f"build_baseline: unexpected node type {kind} ({uid})")
    with open(out_sql, "w") as f:
        f.write(";\n\n".join(stmts) + ";\n")
    json.dump(labels, open(out_labels, "w"))


if __name__ == "__main__":
    main()
