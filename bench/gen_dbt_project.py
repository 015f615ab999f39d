#!/usr/bin/env python3
"""Writes a synthetic but realistic dbt project for parse/compile benchmarks.

    gen_dbt_project.py OUT_DIR [--models 1000] [--seed 7] [--dbt-utils DBT_UTILS_DIR]

Deterministic: the same arguments always write the same files. The project has the usual
staging -> intermediate -> marts shape:

  * sources: 20 source systems x 10 tables, declared in one _<source>__sources.yml per
    staging folder (descriptions, loaded_at_field, freshness, column tests);
  * staging (20% of the models, views): one per source table, `source()`, column loops,
    project macros (cents_to_dollars, ...), a `var()`-guarded filter;
  * intermediate (40%, views, every 10th ephemeral): 1-4 `ref()`s of earlier staging or
    intermediate models (some also read a source), a `surrogate_key` macro dispatched per
    adapter, `for` loops over a list var, `if` blocks;
  * marts (40%, tables; every 5th incremental with `is_incremental()` and `{{ this }}`):
    1-4 `ref()`s of earlier intermediate/mart models;
  * a YAML properties file per model folder with descriptions (some `{{ doc() }}`), columns
    and generic tests (unique, not_null, accepted_values, relationships, a custom generic
    test, a few with `config: severity/where`);
  * macros/, tests/generic/, a few singular tests, one seed, two snapshots, docs blocks.

With --dbt-utils, the same project uses dbt_utils 1.3.3 (installed by `strata deps` from a
`local:` entry) where a dbt user would: generate_surrogate_key, safe_divide, pivot, star on a
third of the staging models, dbt.date_trunc, and dbt_utils generic tests (accepted_range,
expression_is_true, not_null_proportion, unique_combination_of_columns) in place of the
project's own.

The SQL is not meant to run (compile and ls never touch the warehouse); it is meant to look
and render like a real project's.
"""
import argparse
import os
import random

SOURCES = ["erp", "crm", "billing", "web", "app", "support", "ads", "email", "inventory", "shipping",
           "payments", "hr", "finance_gl", "catalog", "reviews", "loyalty", "partners", "pos", "returns", "surveys"]
TABLES = ["accounts", "users", "orders", "order_lines", "invoices", "events", "sessions", "products",
          "transactions", "tickets"]
DOMAINS = ["finance", "marketing", "product", "sales", "support", "operations"]
STATUSES = ["active", "pending", "closed", "cancelled"]
ATTRS = ["status", "channel", "region", "currency", "segment", "device", "plan", "source_system"]
METRICS = ["gross", "net", "refunded", "discounted"]


def w(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def project_files(out):
    w(f"{out}/dbt_project.yml", """\
name: bench_1k
version: "1.0.0"
config-version: 2
profile: bench_1k

model-paths: ["models"]
seed-paths: ["seeds"]
snapshot-paths: ["snapshots"]
test-paths: ["tests"]
macro-paths: ["macros"]
target-path: "target"
clean-targets: ["target"]

vars:
  lookback_days: 3
  exclude_test_rows: true
  reporting_currency: "USD"
  revenue_metrics: ["gross", "net", "refunded", "discounted"]
  active_statuses: ["active", "pending"]

models:
  bench_1k:
    +materialized: view
    staging:
      +schema: staging
      +tags: ["staging"]
    intermediate:
      +schema: intermediate
      +tags: ["intermediate"]
    marts:
      +materialized: table
      +schema: marts
      +tags: ["marts"]
      finance:
        +tags: ["finance", "pii"]
      marketing:
        +tags: ["marketing"]

seeds:
  bench_1k:
    +schema: seeds

snapshots:
  bench_1k:
    +tags: ["snapshots"]
""")
    w(f"{out}/profiles.yml", """\
bench_1k:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('BENCH_WAREHOUSE', 'bench.duckdb') }}"
      schema: main
      threads: 4
""")


def macros(out):
    w(f"{out}/macros/generate_schema_name.sql", """\
{#- Custom schemas as-is in production-like targets, prefixed in dev. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif target.name == 'prod' -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
""")
    w(f"{out}/macros/money.sql", """\
{% macro cents_to_dollars(column_name, scale=2) -%}
    round(cast({{ column_name }} as decimal(18, 4)) / 100, {{ scale }})
{%- endmacro %}

{% macro safe_divide(numerator, denominator) -%}
    case when {{ denominator }} is null or {{ denominator }} = 0 then null
         else cast({{ numerator }} as double) / {{ denominator }} end
{%- endmacro %}

{% macro convert_currency(amount, currency_column) -%}
    {%- set target_currency = var('reporting_currency', 'USD') -%}
    case when {{ currency_column }} = '{{ target_currency }}' then {{ amount }}
         else {{ amount }} * {{ var('fx_default_rate', 1.0) }} end
{%- endmacro %}
""")
    w(f"{out}/macros/keys.sql", """\
{#- surrogate_key(['a', 'b']): md5 of the columns as text, nulls replaced by a marker. -#}
{% macro surrogate_key(field_list) -%}
    {{ return(adapter.dispatch('surrogate_key')(field_list)) }}
{%- endmacro %}

{% macro default__surrogate_key(field_list) -%}
md5(
    {%- for field in field_list %}
    coalesce(cast({{ field }} as {{ string_type() }}), '_null_'){% if not loop.last %} || '-' ||{% endif %}
    {%- endfor %}
)
{%- endmacro %}

{% macro duckdb__surrogate_key(field_list) -%}
md5(concat(
    {%- for field in field_list %}
    coalesce(cast({{ field }} as varchar), '_null_'){% if not loop.last %}, '-',{% endif %}
    {%- endfor %}
))
{%- endmacro %}

{% macro string_type() -%}
    {{ return(adapter.dispatch('string_type')()) }}
{%- endmacro %}

{% macro default__string_type() -%}
varchar
{%- endmacro %}
""")
    w(f"{out}/macros/pivots.sql", """\
{#- One aggregate column per value: sum(case when col = 'v' then amount end) as v_amount. -#}
{% macro pivot_sum(column_name, values, amount='amount', suffix='_amount') -%}
    {%- for v in values %}
    sum(case when {{ column_name }} = '{{ v }}' then {{ amount }} else 0 end) as {{ v | replace(' ', '_') | lower }}{{ suffix }}
    {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{% macro day(column_name) -%}
    date_trunc('day', {{ column_name }})
{%- endmacro %}

{% macro in_list(column_name, values) -%}
    {{ column_name }} in ({% for v in values %}'{{ v }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}
""")


def tests_dir(out):
    w(f"{out}/tests/generic/is_non_negative.sql", """\
{% test is_non_negative(model, column_name) %}
select *
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
""")
    w(f"{out}/tests/generic/not_in_future.sql", """\
{% test not_in_future(model, column_name, grace_days=1) %}
select *
from {{ model }}
where {{ column_name }} > current_timestamp + interval '{{ grace_days }} days'
{% endtest %}
""")


def docs(out):
    w(f"{out}/models/docs.md", """\
{% docs surrogate_key %}
A hash of the row's natural key columns (see `macros/keys.sql`), stable across runs.
{% enddocs %}

{% docs status %}
The lifecycle status of the record: one of active, pending, closed or cancelled.
{% enddocs %}

{% docs amount %}
The amount in the record's currency, in dollars (converted from cents in staging).
{% enddocs %}
""")


def sources_and_staging(out, rng, models):
    """One staging folder per source system, with its sources YAML and properties YAML."""
    for src in SOURCES:
        d = f"{out}/models/staging/{src}"
        y = ["version: 2", "", "sources:", f"  - name: {src}",
             f"    description: Raw tables of the {src} system, landed by the loader every hour.",
             f"    schema: raw_{src}", "    loaded_at_field: _loaded_at",
             "    freshness:", "      warn_after: {count: 12, period: hour}",
             "      error_after: {count: 36, period: hour}", "    tables:"]
        p = ["version: 2", "", "models:"]
        for table in TABLES:
            entity = table.rstrip("s")
            y += [f"      - name: {table}", f"        identifier: {src}_{table}",
                  f"        description: One row per {entity} version in {src}.", "        columns:",
                  "          - name: id", "            description: Primary key in the source system.",
                  "            data_tests:", "              - not_null"]
            name = f"stg_{src}__{table}"
            attrs = rng.sample(ATTRS, 3)
            filt = rng.random() < 0.5
            sql = [f"{{{{ config(materialized='view', tags=['{src}']) }}}}", "",
                   f"-- {entity.capitalize()}s from {src}: renamed, typed, deduplicated.",
                   "with source as (", "", f"    select * from {{{{ source('{src}', '{table}') }}}}", "", "),", "",
                   "renamed as (", "", "    select",
                   f"        id as {entity}_id,",
                   "        {%- for col in " + repr(attrs) + " %}",
                   "        nullif(lower(trim({{ col }})), '') as {{ col }},",
                   "        {%- endfor %}",
                   "        {{ cents_to_dollars('amount_cents') }} as amount,",
                   "        cast(created_at as timestamp) as created_at,",
                   "        cast(updated_at as timestamp) as updated_at,",
                   "        _loaded_at",
                   "    from source"]
            if filt:
                sql += ["    {% if var('exclude_test_rows', true) %}", "    where not coalesce(is_test, false)",
                        "    {% endif %}"]
            sql += ["", "),", "", "deduplicated as (", "", "    select *", "    from renamed",
                    f"    qualify row_number() over (partition by {entity}_id order by updated_at desc) = 1", "", ")",
                    "", "select * from deduplicated", ""]
            w(f"{d}/{name}.sql", "\n".join(sql))
            cols = [f"{entity}_id"] + attrs + ["amount", "created_at", "updated_at"]
            models.append({"name": name, "layer": "staging", "key": f"{entity}_id", "cols": cols})
            p += [f"  - name: {name}",
                  f"    description: Latest version of each {entity} from {src}.{table}, typed and cleaned.",
                  "    columns:",
                  f"      - name: {entity}_id", f"        description: The {entity}'s id (key).",
                  "        data_tests:", "          - unique", "          - not_null"]
            for a in attrs:
                p += [f"      - name: {a}",
                      "        description: '{{ doc(\"status\") }}'" if a == "status"
                      else f"        description: The {a.replace('_', ' ')}, lower case."]
                if a == "status":
                    p += ["        data_tests:", "          - accepted_values:",
                          f"              values: {STATUSES!r}".replace("'", '"')]
            p += ["      - name: amount", "        description: '{{ doc(\"amount\") }}'",
                  "        data_tests:", "          - is_non_negative:", "              config:",
                  "                severity: warn",
                  "      - name: created_at", "        description: When the record was created.",
                  "      - name: updated_at", "        description: Last change in the source system.",
                  "        data_tests:", "          - not_null"]
        w(f"{d}/_{src}__sources.yml", "\n".join(y) + "\n")
        w(f"{d}/_{src}__models.yml", "\n".join(p) + "\n")


def layer(out, rng, models, layer_name, count, pick_from):
    """Intermediate or marts models, per domain folder, each with refs to 1-4 earlier models."""
    per_domain = {d: [] for d in DOMAINS}
    for i in range(count):
        domain = DOMAINS[i % len(DOMAINS)]
        prefix = "int" if layer_name == "intermediate" else ("fct" if i % 3 else "dim")
        name = f"{prefix}_{domain}__{rng.choice(TABLES)}_{i:04d}"
        pool = pick_from()
        k = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
        parents = rng.sample(pool, min(k, len(pool)))
        materialized = None
        if layer_name == "intermediate" and i % 10 == 9:
            materialized = "ephemeral"
            parents = [p for p in parents if p["layer"] == "staging"] or [rng.choice(
                [m for m in models if m["layer"] == "staging"])]
        incremental = layer_name == "marts" and i % 5 == 4
        src = rng.choice(SOURCES) if layer_name == "intermediate" and rng.random() < 0.1 else None
        key = f"{name.split('__')[0].split('_', 1)[1]}_{i:04d}_sk"
        attr_cols = sorted({c for p in parents for c in p["cols"] if c in ATTRS})[:3]
        cfg = []
        if materialized:
            cfg.append(f"materialized='{materialized}'")
        if incremental:
            cfg += ["materialized='incremental'", f"unique_key='{key}'", "incremental_strategy='merge'",
                    "on_schema_change='append_new_columns'"]
        if rng.random() < 0.3:
            cfg.append(f"tags=['{rng.choice(['daily', 'hourly', 'critical', 'finance_review'])}']")
        sql = []
        if cfg:
            sql += ["{{", "    config(", "        " + ",\n        ".join(cfg), "    )", "}}", ""]
        sql.append(f"-- {layer_name.capitalize()} {domain} model {i}: joins {', '.join(p['name'] for p in parents)}.")
        sql.append("with")
        ctes = []
        for j, p in enumerate(parents):
            ctes.append(f"p{j} as (\n\n    select * from {{{{ ref('{p['name']}') }}}}\n\n)")
        if src:
            ctes.append(f"raw_extra as (\n\n    select * from {{{{ source('{src}', '{rng.choice(TABLES)}') }}}}\n\n)")
        sql.append(",\n\n".join(ctes) + ",")
        base = parents[0]
        joins = []
        for j, p in enumerate(parents[1:], start=1):
            joins.append(f"    left join p{j}\n        on p{j}.{p['key']} = p0.{base['key']}")
        inc = []
        if incremental:
            inc = ["    {% if is_incremental() %}",
                   "    where p0.updated_at >= (select max(updated_at) from {{ this }})"
                   " - interval '{{ var(\"lookback_days\") }} days'",
                   "    {% endif %}"]
        sql += ["", "joined as (", "", "    select", f"        p0.{base['key']},"]
        sql += [f"        p0.{c}," for c in attr_cols]
        sql += [f"        p{j}.{p['key']} as {p['key']}_{j}," for j, p in enumerate(parents[1:], start=1)]
        sql += ["        p0.amount,", "        p0.created_at,", "        p0.updated_at", "    from p0"] + joins + inc
        sql += ["", ")", "", "select",
                "    {{ surrogate_key(['" + base["key"] + "'" + "".join(f", '{c}'" for c in attr_cols[:1]) +
                "]) }} as " + key + ","]
        group = [base["key"]] + attr_cols
        sql += [f"    {c}," for c in group]
        if "status" in attr_cols:
            sql += ["    {{ pivot_sum('status', var('active_statuses')) }},",
                    "    sum(case when {{ in_list('status', var('active_statuses')) }} then 1 else 0 end) as active_rows,"]
        if "currency" in attr_cols and rng.random() < 0.5:
            sql += ["    sum({{ convert_currency('amount', 'currency') }}) as amount_reporting,"]
        if layer_name == "marts" and rng.random() < 0.5:
            sql += ["    {%- for metric in var('revenue_metrics') %}",
                    "    sum(case when '{{ metric }}' = 'net' then amount else amount * {{ loop.index }} end)"
                    " as {{ metric }}_revenue,",
                    "    {%- endfor %}"]
        sql += ["    sum(amount) as amount,",
                "    {{ safe_divide('sum(amount)', 'count(*)') }} as avg_amount,",
                "    count(*) as row_count,", "    min(created_at) as created_at,",
                "    max(updated_at) as updated_at", "from joined", "group by " +
                ", ".join(str(n) for n in range(2, len(group) + 2)), ""]
        folder = f"{out}/models/{layer_name}/{domain}"
        w(f"{folder}/{name}.sql", "\n".join(sql))
        m = {"name": name, "layer": layer_name, "key": key, "cols": [key] + group + ["amount", "updated_at"],
             "parents": parents, "ephemeral": materialized == "ephemeral", "incremental": incremental}
        models.append(m)
        per_domain[domain].append(m)
    for domain, ms in per_domain.items():
        p = ["version: 2", "", "models:"]
        for m in ms:
            p += [f"  - name: {m['name']}",
                  f"    description: >", f"      {m['layer'].capitalize()} {domain} model built from "
                  f"{', '.join(x['name'] for x in m['parents'])}.",
                  f"      Grain: one row per {m['cols'][1]}."]
            if m["layer"] == "marts" and rng.random() < 0.3:
                p += ["    config:", "      contract:", "        enforced: false",
                      f"      meta:", f"        owner: team_{domain}"]
            p += ["    columns:", f"      - name: {m['key']}", "        description: '{{ doc(\"surrogate_key\") }}'"]
            if not m["ephemeral"]:
                p += ["        data_tests:", "          - unique", "          - not_null"]
            p += [f"      - name: {m['cols'][1]}", f"        description: The natural key of the grain."]
            refable = [x for x in m["parents"] if not x.get("ephemeral")]
            if not m["ephemeral"] and refable and rng.random() < 0.5:
                parent = refable[0]
                p += ["        data_tests:", "          - relationships:",
                      f"              to: ref('{parent['name']}')", f"              field: {parent['key']}"]
                if rng.random() < 0.3:
                    p += ["              config:", "                severity: warn",
                          "                where: \"updated_at > current_date - interval '30 days'\""]
            if "status" in m["cols"] and not m["ephemeral"]:
                p += ["      - name: status", "        description: '{{ doc(\"status\") }}'",
                      "        data_tests:", "          - accepted_values:",
                      f"              values: {STATUSES!r}".replace("'", '"')]
            p += ["      - name: amount", "        description: Sum of the grain's amounts."]
            if not m["ephemeral"] and m["layer"] == "marts":
                p += ["        data_tests:", "          - is_non_negative"]
            p += ["      - name: updated_at", "        description: Latest change among the grain's rows."]
            if not m["ephemeral"] and rng.random() < 0.2:
                p += ["        data_tests:", "          - not_in_future:", "              grace_days: 2"]
        w(f"{out}/models/{layer_name}/{domain}/_{layer_name}_{domain}__models.yml", "\n".join(p) + "\n")


def extras(out, models):
    w(f"{out}/seeds/country_codes.csv", "country_code,country_name\nUS,United States\nDE,Germany\nFR,France\n")
    w(f"{out}/seeds/_seeds.yml", """\
version: 2

seeds:
  - name: country_codes
    description: ISO country codes.
    columns:
      - name: country_code
        data_tests: [unique, not_null]
""")
    for name, stg in [("accounts_snapshot", "stg_crm__accounts"), ("products_snapshot", "stg_catalog__products")]:
        key = next(m["key"] for m in models if m["name"] == stg)
        w(f"{out}/snapshots/{name}.sql", f"""\
{{% snapshot {name} %}}

{{{{
    config(
        target_schema='snapshots',
        unique_key='{key}',
        strategy='timestamp',
        updated_at='updated_at'
    )
}}}}

select * from {{{{ ref('{stg}') }}}}

{{% endsnapshot %}}
""")
    marts = [m for m in models if m["layer"] == "marts" and not m["ephemeral"]]
    for i, m in enumerate(marts[:: max(1, len(marts) // 8)][:8]):
        w(f"{out}/tests/assert_{m['name']}_amount_consistent.sql", f"""\
-- The mart's total equals the sum over its first parent.
select count(*) as n
from {{{{ ref('{m['name']}') }}}}
where amount < 0
having count(*) > {i}
""")


def use_dbt_utils(out, dbt_utils_dir):
    """Rewrites the generated project to call dbt_utils where the project had its own macros."""
    w(f"{out}/packages.yml", f"packages:\n  - local: {dbt_utils_dir}\n")
    for d, _, fs in os.walk(f"{out}/models"):
        for f in fs:
            path = os.path.join(d, f)
            text = open(path).read()
            if f.endswith(".sql"):
                text = text.replace("{{ surrogate_key(", "{{ dbt_utils.generate_surrogate_key(")
                text = text.replace("{{ safe_divide(", "{{ dbt_utils.safe_divide(")
                text = text.replace("{{ pivot_sum('status', var('active_statuses')) }}",
                                    "{{ dbt_utils.pivot('status', var('active_statuses'), agg='sum', "
                                    "then_value='amount', suffix='_amount') }}")
            elif f.endswith(".yml"):
                text = text.replace("          - is_non_negative\n",
                                    "          - dbt_utils.accepted_range:\n              min_value: 0\n")
                text = text.replace("          - not_in_future:\n              grace_days: 2\n",
                                    "          - dbt_utils.expression_is_true:\n"
                                    "              expression: \"<= current_timestamp + interval '2 days'\"\n"
                                    "          - dbt_utils.not_null_proportion:\n              at_least: 0.95\n")
            open(path, "w").write(text)
    pivots = open(f"{out}/macros/pivots.sql").read()
    w(f"{out}/macros/pivots.sql", pivots.replace("    date_trunc('day', {{ column_name }})",
                                                 "    {{ dbt.date_trunc('day', column_name) }}"))
    # star() over a third of the staging models' parents: `select {{ dbt_utils.star(...) }}`.
    staging = sorted(os.path.join(d, f) for d, _, fs in os.walk(f"{out}/models/staging") for f in fs
                     if f.endswith(".sql"))
    for path in staging[::3]:
        name = os.path.basename(path)[:-4]
        w(f"{out}/models/staging/star_{name}.sql",
          f"select {{{{ dbt_utils.star(ref('{name}'), except=['updated_at']) }}}},\n"
          f"    {{{{ dbt_utils.generate_surrogate_key(['created_at', 'updated_at']) }}}} as row_key\n"
          f"from {{{{ ref('{name}') }}}}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dbt-utils", default="", help="dbt_utils folder: the project uses it (see above)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    out = a.out
    models = []
    project_files(out)
    macros(out)
    tests_dir(out)
    docs(out)
    sources_and_staging(out, rng, models)  # 200 staging models
    n_rest = max(0, a.models - len(models))
    n_int = n_rest // 2
    staging = list(models)

    def int_pool():
        ints = [m for m in models if m["layer"] == "intermediate"]
        return staging + ints[-150:]  # refs reach back over recent intermediates and all staging

    layer(out, rng, models, "intermediate", n_int, int_pool)
    ints = [m for m in models if m["layer"] == "intermediate"]

    def mart_pool():
        marts = [m for m in models if m["layer"] == "marts"]
        return [m for m in ints if not m["ephemeral"] or rng.random() < 0.2] + marts[-100:]

    layer(out, rng, models, "marts", n_rest - n_int, mart_pool)
    extras(out, models)
    if a.dbt_utils:
        use_dbt_utils(out, a.dbt_utils)
    print(f"{len(models)} models in {out}")


if __name__ == "__main__":
    main()
