{#- Fails for rows whose text value does not fully match the regular expression (nulls pass). -#}
{% test matches_pattern(model, column_name, pattern) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not regexp_full_match({{ column_name }}, '{{ pattern }}')

{% endtest %}
