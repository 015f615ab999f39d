{#- deduplicate(relation, partition_by, order_by): the rows of `relation` (a CTE or relation
    name) that come first in `order_by` within each `partition_by` group, as a select (the
    signature of dbt_utils.deduplicate). Portable: a row_number() subquery, where DuckDB alone
    would allow QUALIFY. The extra column row_rank is always 1; callers select their columns. -#}
{% macro deduplicate(relation, partition_by, order_by) -%}
select *
    from (
        select
            {{ relation }}.*,
            row_number() over (
                partition by {{ partition_by }}
                order by {{ order_by }}
            ) as row_rank
        from {{ relation }}
    ) as ranked
    where row_rank = 1
{%- endmacro %}

{#- latest_version(relation, key): the newest version of each `key` among the landed rows of
    an operational table: the latest updated_at, then the latest ingestion batch and lake file
    (nulls last, as DuckDB orders by default). -#}
{% macro latest_version(relation, key) -%}
{{ deduplicate(relation, key, 'updated_at desc nulls last, ingestion_batch desc nulls last, lake_file desc nulls last') }}
{%- endmacro %}
