{#- DDL and DML that materializations run, one dispatchable macro per statement so each
    warehouse can override it (duckdb__..., postgres__...). -#}

{% macro create_table_as(relation, sql) -%}
  {{ return(adapter.dispatch('create_table_as')(relation, sql)) }}
{%- endmacro %}
{% macro default__create_table_as(relation, sql) -%}
create table {{ relation }} as (
{{ sql }}
)
{%- endmacro %}

{% macro create_view_as(relation, sql) -%}
  {{ return(adapter.dispatch('create_view_as')(relation, sql)) }}
{%- endmacro %}
{% macro default__create_view_as(relation, sql) -%}
create or replace view {{ relation }} as (
{{ sql }}
)
{%- endmacro %}

{% macro create_schema(schema) -%}
  {{ return(adapter.dispatch('create_schema')(schema)) }}
{%- endmacro %}
{% macro default__create_schema(schema) -%}
create schema if not exists {{ schema }}
{%- endmacro %}
{#- PostgreSQL's `create schema if not exists` is not safe against itself: two sessions that
    create the same schema at once (two models of a build on --threads 2) make one fail with a
    unique violation on pg_namespace. The loser's error means the schema exists. -#}
{% macro postgres__create_schema(schema) -%}
do $strata$ begin
  create schema if not exists {{ schema }};
exception when unique_violation or duplicate_schema then null;
end $strata$
{%- endmacro %}

{% macro drop_relation(relation, kind) -%}
  {{ return(adapter.dispatch('drop_relation')(relation, kind)) }}
{%- endmacro %}
{% macro default__drop_relation(relation, kind) -%}
drop {{ kind }} if exists {{ relation }} cascade
{%- endmacro %}

{% macro rename_relation(relation, kind, new_name) -%}
  {{ return(adapter.dispatch('rename_relation')(relation, kind, new_name)) }}
{%- endmacro %}
{% macro default__rename_relation(relation, kind, new_name) -%}
alter {{ kind }} {{ relation }} rename to {{ new_name }}
{%- endmacro %}

{#- Incremental strategies. `source` holds the new rows; `columns` the target's columns. -#}

{% macro get_incremental_append_sql(target, source, columns) -%}
  {{ return(adapter.dispatch('get_incremental_append_sql')(target, source, columns)) }}
{%- endmacro %}
{% macro default__get_incremental_append_sql(target, source, columns) -%}
insert into {{ target }} ({{ columns | join(', ') }})
select {{ columns | join(', ') }} from {{ source }}
{%- endmacro %}

{#- Keys compare tuple-wise and null-safely: a composite key deletes exactly its own rows. -#}
{% macro get_incremental_delete_sql(target, source, unique_key) -%}
  {{ return(adapter.dispatch('get_incremental_delete_sql')(target, source, unique_key)) }}
{%- endmacro %}
{% macro default__get_incremental_delete_sql(target, source, unique_key) -%}
delete from {{ target }} as dbt_target
where exists (
    select 1 from {{ source }} as dbt_source
    where {% for key in unique_key -%}
        dbt_source.{{ key }} is not distinct from dbt_target.{{ key }}{% if not loop.last %} and {% endif %}
    {%- endfor %}
)
{%- endmacro %}

{% macro get_duplicate_keys_sql(source, unique_key) -%}
  {{ return(adapter.dispatch('get_duplicate_keys_sql')(source, unique_key)) }}
{%- endmacro %}
{% macro default__get_duplicate_keys_sql(source, unique_key) -%}
select {{ unique_key | join(', ') }}, count(*) as n_records
from {{ source }}
group by {{ unique_key | join(', ') }}
having count(*) > 1
limit 5
{%- endmacro %}

{#- A test's failing rows, counted, with its warn_if / error_if conditions. -#}
{% macro get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
  {{ return(adapter.dispatch('get_test_sql')(main_sql, fail_calc, warn_if, error_if, limit)) }}
{%- endmacro %}
{% macro default__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
select
    {{ fail_calc }} as failures,
    {{ fail_calc }} {{ warn_if }} as should_warn,
    {{ fail_calc }} {{ error_if }} as should_error
from (
{{ main_sql }}
{% if limit is not none %}limit {{ limit }}{% endif %}
) dbt_internal_test
{%- endmacro %}

{#- Source freshness: the newest loaded_at value of a source table, as "YYYY-MM-DD HH:MM:SS". -#}
{% macro collect_freshness(source, loaded_at_field, filter) -%}
  {{ return(adapter.dispatch('collect_freshness')(source, loaded_at_field, filter)) }}
{%- endmacro %}
{% macro default__collect_freshness(source, loaded_at_field, filter) -%}
select cast(cast(max({{ loaded_at_field }}) as timestamp) as varchar) as max_loaded_at, count(*) as row_count
from {{ source }}
{%- if filter %}
where {{ filter }}
{%- endif %}
{%- endmacro %}

{#- PostgreSQL cannot "create or replace" a view whose columns changed: replace it in one
    implicit transaction (both statements are sent together), so readers never miss it. -#}
{% macro postgres__create_view_as(relation, sql) -%}
drop view if exists {{ relation }} cascade;
create view {{ relation }} as (
{{ sql }}
)
{%- endmacro %}
