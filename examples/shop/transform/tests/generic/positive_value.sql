{#- Fails for rows whose value is zero or negative (nulls pass: use not_null for those). -#}
{% test positive_value(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} <= 0

{% endtest %}
