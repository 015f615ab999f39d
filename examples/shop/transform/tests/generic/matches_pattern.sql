{#- Fails for rows whose text value does not fully match the regular expression (nulls pass).
    `~` anchored on both ends: a full match on DuckDB (where `~` is regexp_full_match) and on
    PostgreSQL (where it finds a match anywhere). -#}
{% test matches_pattern(model, column_name, pattern) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not ({{ column_name }} ~ '^(?:{{ pattern }})$')

{% endtest %}
