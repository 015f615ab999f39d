{#- Snapshots (SCD Type 2). The materialization (C++) stages the snapshot query once, then runs
    these statements in one transaction: close changed versions, insert new versions, handle
    hard deletes. Keys compare null-safely; `keys` and `columns` are quoted identifiers.

    changed: for strategy 'timestamp', s.<updated_at> > t.dbt_updated_at; for 'check', any
    check column IS DISTINCT FROM its current value. -#}

{% macro snapshot_key_match(keys, left, right) -%}
  {%- for k in keys -%}{{ left }}.{{ k }} is not distinct from {{ right }}.{{ k }}{% if not loop.last %} and {% endif %}{%- endfor -%}
{%- endmacro %}

{% macro snapshot_scd_id(keys, updated_expr, alias) -%}
  md5({%- for k in keys -%}coalesce(cast({{ alias }}.{{ k }} as varchar), '') || '|' || {% endfor -%}coalesce(cast({{ updated_expr }} as varchar), ''))
{%- endmacro %}

{% macro snapshot_changed(strategy, updated_at, check_cols) -%}
  {%- if strategy == 'timestamp' -%}
    s.{{ updated_at }} > t.dbt_updated_at
  {%- else -%}
    ({%- for c in check_cols -%}s.{{ c }} is distinct from t.{{ c }}{% if not loop.last %} or {% endif %}{%- endfor -%})
  {%- endif -%}
{%- endmacro %}

{% macro snapshot_create_sql(target, staging, keys, columns, updated_expr, hard_deletes) -%}
  {{ return(adapter.dispatch('snapshot_create_sql')(target, staging, keys, columns, updated_expr, hard_deletes)) }}
{%- endmacro %}
{% macro default__snapshot_create_sql(target, staging, keys, columns, updated_expr, hard_deletes) -%}
create table {{ target }} as
select
    {{ columns | join(', ') }},
    {{ snapshot_scd_id(keys, updated_expr, 's') }} as dbt_scd_id,
    {{ updated_expr }} as dbt_updated_at,
    {{ updated_expr }} as dbt_valid_from,
    cast(null as timestamp) as dbt_valid_to
    {%- if hard_deletes == 'new_record' %},
    'False' as dbt_is_deleted
    {%- endif %}
from {{ staging }} as s
{%- endmacro %}

{#- With hard_deletes='new_record', a key that comes back also closes its deletion record. -#}
{% macro snapshot_close_changed_sql(target, staging, keys, changed, new_valid_from, hard_deletes) -%}
  {{ return(adapter.dispatch('snapshot_close_changed_sql')(target, staging, keys, changed, new_valid_from, hard_deletes)) }}
{%- endmacro %}
{% macro default__snapshot_close_changed_sql(target, staging, keys, changed, new_valid_from, hard_deletes) -%}
update {{ target }} as t
set dbt_valid_to = {{ new_valid_from }}
from {{ staging }} as s
where {{ snapshot_key_match(keys, 's', 't') }}
  and t.dbt_valid_to is null
  and ({{ changed }}{% if hard_deletes == 'new_record' %} or t.dbt_is_deleted = 'True'{% endif %})
{%- endmacro %}

{% macro snapshot_insert_sql(target, staging, keys, columns, updated_expr, hard_deletes) -%}
  {{ return(adapter.dispatch('snapshot_insert_sql')(target, staging, keys, columns, updated_expr, hard_deletes)) }}
{%- endmacro %}
{% macro default__snapshot_insert_sql(target, staging, keys, columns, updated_expr, hard_deletes) -%}
insert into {{ target }} ({{ columns | join(', ') }}, dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to
    {%- if hard_deletes == 'new_record' %}, dbt_is_deleted{% endif %})
select
    {% for c in columns %}s.{{ c }}, {% endfor -%}
    {{ snapshot_scd_id(keys, updated_expr, 's') }},
    {{ updated_expr }},
    {{ updated_expr }},
    cast(null as timestamp)
    {%- if hard_deletes == 'new_record' %}, 'False'{% endif %}
from {{ staging }} as s
where not exists (
    select 1 from {{ target }} as t
    where {{ snapshot_key_match(keys, 's', 't') }} and t.dbt_valid_to is null
)
{%- endmacro %}

{% macro snapshot_hard_delete_sql(target, staging, keys, now, hard_deletes, columns) -%}
  {{ return(adapter.dispatch('snapshot_hard_delete_sql')(target, staging, keys, now, hard_deletes, columns)) }}
{%- endmacro %}
{% macro default__snapshot_hard_delete_sql(target, staging, keys, now, hard_deletes, columns) -%}
{%- if hard_deletes == 'new_record' -%}
insert into {{ target }} ({{ columns | join(', ') }}, dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to, dbt_is_deleted)
select
    {% for c in columns %}t.{{ c }}, {% endfor -%}
    {{ snapshot_scd_id(keys, now, 't') }},
    {{ now }},
    {{ now }},
    cast(null as timestamp),
    'True'
from {{ target }} as t
where t.dbt_valid_to is null
  and t.dbt_is_deleted = 'False'
  and not exists (select 1 from {{ staging }} as s where {{ snapshot_key_match(keys, 's', 't') }});
{% endif -%}
update {{ target }} as t
set dbt_valid_to = {{ now }}
where t.dbt_valid_to is null
  {%- if hard_deletes == 'new_record' %}
  and t.dbt_is_deleted = 'False'
  and t.dbt_valid_from < {{ now }}
  {%- endif %}
  and not exists (select 1 from {{ staging }} as s where {{ snapshot_key_match(keys, 's', 't') }})
{%- endmacro %}
