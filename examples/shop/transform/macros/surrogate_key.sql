{#- surrogate_key(['col_a', 'col_b']): an md5 hash (32 hex characters) of the listed columns,
    cast to text, nulls replaced by a marker and joined with '-' (so ('a', null) and
    (null, 'a') differ). Same hashing as dbt_utils.generate_surrogate_key. -#}
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

{#- DuckDB: the same expression; concat_ws would silently skip nulls, so keep the markers. -#}
{% macro duckdb__surrogate_key(field_list) -%}
md5(concat(
    {%- for field in field_list %}
    coalesce(cast({{ field }} as varchar), '_null_'){% if not loop.last %}, '-',{% endif %}
    {%- endfor %}
))
{%- endmacro %}

{% macro postgres__surrogate_key(field_list) -%}
md5(
    {%- for field in field_list %}
    coalesce(cast({{ field }} as text), '_null_'){% if not loop.last %} || '-' ||{% endif %}
    {%- endfor %}
)
{%- endmacro %}

{#- The text type of the warehouse, dispatched like the key. -#}
{% macro string_type() -%}
    {{ return(adapter.dispatch('string_type')()) }}
{%- endmacro %}

{% macro default__string_type() -%}
varchar
{%- endmacro %}

{% macro postgres__string_type() -%}
text
{%- endmacro %}
