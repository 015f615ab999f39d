-- Every version's interval is non-empty, and only current versions end at the far future.
select *
from {{ ref('dim_customers') }}
where not (valid_from < valid_to)
   or (is_current and valid_to <> cast('{{ var("scd_far_future") }}' as timestamp))
   or (not is_current and valid_to = cast('{{ var("scd_far_future") }}' as timestamp))
