{#- The statement machinery and adapter wrappers dbt's macros and packages call. The work is
    done by adapter.* (adapter_context.cc); these keep dbt's names and signatures. -#}

{#- {% call statement('name', fetch_result=True) %}SQL{% endcall %} runs SQL when executing and
    keeps its result for load_result('name'). Nothing runs while parsing. -#}
{% macro statement(name=None, fetch_result=False, auto_begin=True, language='sql') -%}
  {%- if execute -%}
    {%- if language != 'sql' -%}
      {{ exceptions.raise_compiler_error("statement: only language='sql' runs here, not '" ~ language ~ "'") }}
    {%- endif -%}
    {%- set compiled_code = caller() -%}
    {%- set res, table = adapter.execute(compiled_code, auto_begin=auto_begin, fetch=fetch_result) -%}
    {%- if name is not none -%}
      {{ store_result(name, response=res, agate_table=table) }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

{% macro noop_statement(name=None, message=None, code=None, rows_affected=None, res=None) -%}
  {%- set sql = caller() -%}
  {%- if name is not none -%}
    {{ store_result(name, response={'_message': message, 'code': code, 'rows_affected': rows_affected}, agate_table=res) }}
  {%- endif -%}
{%- endmacro %}

{#- run_query(sql): the result table of a query (None while parsing). -#}
{% macro run_query(sql) %}
  {% call statement("run_query_statement", fetch_result=true, auto_begin=false) %}
    {{ sql }}
  {% endcall %}
  {% do return(load_result("run_query_statement").table) %}
{% endmacro %}

{% macro get_columns_in_relation(relation) -%}
  {{ return(adapter.get_columns_in_relation(relation)) }}
{%- endmacro %}

{% macro load_relation(relation) -%}
  {{ return(adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier)) }}
{%- endmacro %}

{% macro load_cached_relation(relation) -%}
  {{ return(load_relation(relation)) }}
{%- endmacro %}

{% macro list_relations_without_caching(schema_relation) -%}
  {{ return(adapter.list_relations(schema_relation.database, schema_relation.schema)) }}
{%- endmacro %}

{% macro check_schema_exists(information_schema, schema) -%}
  {{ return(adapter.check_schema_exists(information_schema.database, schema)) }}
{%- endmacro %}

{#- dbt's should_* helpers: a node's own config wins over the invocation's flag. -#}
{% macro should_full_refresh() %}
  {% set config_full_refresh = config.get('full_refresh') %}
  {% if config_full_refresh is none %}
    {% set config_full_refresh = flags.FULL_REFRESH %}
  {% endif %}
  {% do return(config_full_refresh) %}
{% endmacro %}

{% macro should_store_failures() %}
  {% set config_store_failures = config.get('store_failures') %}
  {% if config_store_failures is none %}
    {% set config_store_failures = flags.STORE_FAILURES %}
  {% endif %}
  {% do return(config_store_failures) %}
{% endmacro %}

{#- A generic test's `model` with its `where` config applied (dbt's get_where_subquery). -#}
{% macro get_where_subquery(relation) -%}
  {% set where = config.get('where') %}
  {% if where %}
    {%- set filtered -%}
      (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {% do return(filtered) %}
  {%- else -%}
    {% do return(relation) %}
  {%- endif -%}
{%- endmacro %}
