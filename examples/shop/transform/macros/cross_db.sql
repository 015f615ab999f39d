{#- SQL that DuckDB and PostgreSQL spell differently, dispatched on the target's type
    (duckdb__ / postgres__ variants), plus a few portable helpers. Models stay free of engine
    checks: anything engine-specific goes here. -#}

{#- regexp_group(expression, pattern, group): the text matched by the pattern's group-th
    parenthesized group at its first match (DuckDB: '' when nothing matches; PostgreSQL: null). -#}
{% macro regexp_group(expression, pattern, group=1) -%}
    {{ return(adapter.dispatch('regexp_group')(expression, pattern, group)) }}
{%- endmacro %}

{% macro duckdb__regexp_group(expression, pattern, group) -%}
regexp_extract({{ expression }}, '{{ pattern }}', {{ group }})
{%- endmacro %}

{% macro postgres__regexp_group(expression, pattern, group) -%}
(regexp_match({{ expression }}, '{{ pattern }}'))[{{ group }}]
{%- endmacro %}

{#- round_float(expression, digits): a double rounded to `digits` decimals (half away from
    zero), still a double. PostgreSQL only rounds numerics. -#}
{% macro round_float(expression, digits) -%}
    {{ return(adapter.dispatch('round_float')(expression, digits)) }}
{%- endmacro %}

{% macro duckdb__round_float(expression, digits) -%}
round({{ expression }}, {{ digits }})
{%- endmacro %}

{% macro postgres__round_float(expression, digits) -%}
cast(round(cast({{ expression }} as numeric), {{ digits }}) as double precision)
{%- endmacro %}

{#- json_array_contains(column, key, value): whether the JSON array under the top-level `key`
    of the JSON column holds the string `value` (a SQL expression); null when there is no
    such array. -#}
{% macro json_array_contains(column, key, value) -%}
    {{ return(adapter.dispatch('json_array_contains')(column, key, value)) }}
{%- endmacro %}

{% macro duckdb__json_array_contains(column, key, value) -%}
list_contains(cast(json_extract({{ column }}, '$.{{ key }}') as varchar[]), {{ value }})
{%- endmacro %}

{% macro postgres__json_array_contains(column, key, value) -%}
(cast({{ column }} as jsonb) -> '{{ key }}') @> jsonb_build_array(cast({{ value }} as text))
{%- endmacro %}

{#- English day and month names of a date, the same on every engine (no locale). -#}
{% macro day_name(column) -%}
case cast(extract(isodow from {{ column }}) as integer)
    when 1 then 'Monday'
    when 2 then 'Tuesday'
    when 3 then 'Wednesday'
    when 4 then 'Thursday'
    when 5 then 'Friday'
    when 6 then 'Saturday'
    when 7 then 'Sunday'
end
{%- endmacro %}

{% macro month_name(column) -%}
case cast(extract(month from {{ column }}) as integer)
    when 1 then 'January'
    when 2 then 'February'
    when 3 then 'March'
    when 4 then 'April'
    when 5 then 'May'
    when 6 then 'June'
    when 7 then 'July'
    when 8 then 'August'
    when 9 then 'September'
    when 10 then 'October'
    when 11 then 'November'
    when 12 then 'December'
end
{%- endmacro %}
