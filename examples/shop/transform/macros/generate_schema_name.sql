{#- Custom schemas are used as-is (staging, marts, seeds) instead of dbt's default
    "<target schema>_<custom schema>"; nodes without one go to the target's schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
