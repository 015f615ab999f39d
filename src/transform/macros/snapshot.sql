{#- Snapshots (SCD Type 2). The materialization (C++) stages the snapshot query once, then runs
    these statements in one transaction: close changed versions, insert new versions, handle
    hard deletes. Keys compare null-safely; `keys` and `columns` are quoted identifiers.

    meta: the snapshot's own columns as quoted identifiers (scd_id, updated_at, valid_from,
    valid_to, is_deleted: dbt's dbt_* names unless snapshot_meta_column_names renames them),
    and current_to, the dbt_valid_to of current versions ("cast(null as timestamp)", or the
    dbt_valid_to_current expression).

    changed: for strategy 'timestamp', s.<updated_at> > t.<meta.updated_at>; for 'check', any
    check column IS DISTINCT FROM its current value. -#}

{% macro snapshot_key_match(keys, left, right) -%}
  {%- for k in keys -%}{{ left }}.{{ k }} is not distinct from {{ right }}.{{ k }}{% if not loop.last %} and {% endif %}{%- endfor -%}
{%- endmacro %}

{% macro snapshot_scd_id(keys, updated_expr, alias) -%}
  md5({%- for k in keys -%}coalesce(cast({{ alias }}.{{ k }} as varchar), '') || '|' || {% endfor -%}coalesce(cast({{ updated_expr }} as varchar), ''))
{%- endmacro %}

{#- Whether the row `alias` is a current version: a NULL valid_to, or dbt_valid_to_current's value. -#}
{% macro snapshot_is_current(alias, meta) -%}
  {%- if meta.has_current_to -%}
    ({{ alias }}.{{ meta.valid_to }} is null or {{ alias }}.{{ meta.valid_to }} = {{ meta.current_to }})
  {%- else -%}
    {{ alias }}.{{ meta.valid_to }} is null
  {%- endif -%}
{%- endmacro %}

{% macro snapshot_changed(strategy, updated_at, check_cols, meta) -%}
  {%- if strategy == 'timestamp' -%}
    s.{{ updated_at }} > t.{{ meta.updated_at }}
  {%- else -%}
    ({%- for c in check_cols -%}s.{{ c }} is distinct from t.{{ c }}{% if not loop.last %} or {% endif %}{%- endfor -%})
  {%- endif -%}
{%- endmacro %}

{% macro snapshot_create_sql(target, staging, keys, columns, updated_expr, hard_deletes, meta) -%}
  {{ return(adapter.dispatch('snapshot_create_sql')(target, staging, keys, columns, updated_expr, hard_deletes, meta)) }}
{%- endmacro %}
{% macro default__snapshot_create_sql(target, staging, keys, columns, updated_expr, hard_deletes, meta) -%}
create table {{ target }} as
select
    {{ columns | join(', ') }},
    {{ snapshot_scd_id(keys, updated_expr, 's') }} as {{ meta.scd_id }},
    {{ updated_expr }} as {{ meta.updated_at }},
    {{ updated_expr }} as {{ meta.valid_from }},
    cast({{ meta.current_to }} as timestamp) as {{ meta.valid_to }}
    {%- if hard_deletes == 'new_record' %},
    'False' as {{ meta.is_deleted }}
    {%- endif %}
from {{ staging }} as s
{%- endmacro %}

{#- With hard_deletes='new_record', a key that comes back also closes its deletion record. -#}
{% macro snapshot_close_changed_sql(target, staging, keys, changed, new_valid_from, hard_deletes, meta) -%}
  {{ return(adapter.dispatch('snapshot_close_changed_sql')(target, staging, keys, changed, new_valid_from, hard_deletes, meta)) }}
{%- endmacro %}
{% macro default__snapshot_close_changed_sql(target, staging, keys, changed, new_valid_from, hard_deletes, meta) -%}
update {{ target }} as t
set {{ meta.valid_to }} = {{ new_valid_from }}
from {{ staging }} as s
where {{ snapshot_key_match(keys, 's', 't') }}
  and {{ snapshot_is_current('t', meta) }}
  and ({{ changed }}{% if hard_deletes == 'new_record' %} or t.{{ meta.is_deleted }} = 'True'{% endif %})
{%- endmacro %}

{% macro snapshot_insert_sql(target, staging, keys, columns, updated_expr, hard_deletes, meta) -%}
  {{ return(adapter.dispatch('snapshot_insert_sql')(target, staging, keys, columns, updated_expr, hard_deletes, meta)) }}
{%- endmacro %}
{% macro default__snapshot_insert_sql(target, staging, keys, columns, updated_expr, hard_deletes, meta) -%}
insert into {{ target }} ({{ columns | join(', ') }}, {{ meta.scd_id }}, {{ meta.updated_at }}, {{ meta.valid_from }}, {{ meta.valid_to }}
    {%- if hard_deletes == 'new_record' %}, {{ meta.is_deleted }}{% endif %})
select
    {% for c in columns %}s.{{ c }}, {% endfor -%}
    {{ snapshot_scd_id(keys, updated_expr, 's') }},
    {{ updated_expr }},
    {{ updated_expr }},
    cast({{ meta.current_to }} as timestamp)
    {%- if hard_deletes == 'new_record' %}, 'False'{% endif %}
from {{ staging }} as s
where not exists (
    select 1 from {{ target }} as t
    where {{ snapshot_key_match(keys, 's', 't') }} and {{ snapshot_is_current('t', meta) }}
)
{%- endmacro %}

{% macro snapshot_hard_delete_sql(target, staging, keys, now, hard_deletes, columns, meta) -%}
  {{ return(adapter.dispatch('snapshot_hard_delete_sql')(target, staging, keys, now, hard_deletes, columns, meta)) }}
{%- endmacro %}
{% macro default__snapshot_hard_delete_sql(target, staging, keys, now, hard_deletes, columns, meta) -%}
{%- if hard_deletes == 'new_record' -%}
insert into {{ target }} ({{ columns | join(', ') }}, {{ meta.scd_id }}, {{ meta.updated_at }}, {{ meta.valid_from }}, {{ meta.valid_to }}, {{ meta.is_deleted }})
select
    {% for c in columns %}t.{{ c }}, {% endfor -%}
    {{ snapshot_scd_id(keys, now, 't') }},
    {{ now }},
    {{ now }},
    cast({{ meta.current_to }} as timestamp),
    'True'
from {{ target }} as t
where {{ snapshot_is_current('t', meta) }}
  and t.{{ meta.is_deleted }} = 'False'
  and not exists (select 1 from {{ staging }} as s where {{ snapshot_key_match(keys, 's', 't') }});
{% endif -%}
update {{ target }} as t
set {{ meta.valid_to }} = {{ now }}
where {{ snapshot_is_current('t', meta) }}
  {%- if hard_deletes == 'new_record' %}
  and t.{{ meta.is_deleted }} = 'False'
  and t.{{ meta.valid_from }} < {{ now }}
  {%- endif %}
  and not exists (select 1 from {{ staging }} as s where {{ snapshot_key_match(keys, 's', 't') }})
{%- endmacro %}
