{#- Model-level: fails for rows where the boolean SQL expression is false or null. -#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
