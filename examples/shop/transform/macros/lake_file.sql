{#- Every raw row carries the lake file it was loaded from:
        raw/<source>/<table>/dt=YYYY-MM-DD/bNNNNNNNN-PPPP.<ext>
    dt is the ingestion date, bNNNNNNNN the ingestion batch's sequence (increasing). -#}

{% macro lake_ingested_date(column='_lake_file') -%}
cast({{ regexp_group(column, 'dt=([0-9]{4}-[0-9]{2}-[0-9]{2})/', 1) }} as date)
{%- endmacro %}

{% macro lake_batch_seq(column='_lake_file') -%}
cast({{ regexp_group(column, '/b([0-9]+)-', 1) }} as bigint)
{%- endmacro %}

{#- The integer YYYYMMDD key of dim_date for a date or timestamp expression. -#}
{% macro to_date_key(column) -%}
cast(
    extract(year from cast({{ column }} as date)) * 10000
    + extract(month from cast({{ column }} as date)) * 100
    + extract(day from cast({{ column }} as date))
as integer)
{%- endmacro %}
