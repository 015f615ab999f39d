-- A customer's versions neither overlap nor leave gaps: each version ends exactly when the
-- next one starts, and only the last version may be current.
with ordered as (

    select
        customer_id,
        version_number,
        valid_from,
        valid_to,
        is_current,
        lead(valid_from) over (partition by customer_id order by valid_from) as next_valid_from
    from {{ ref('dim_customers') }}

)

select *
from ordered
where (next_valid_from is not null and next_valid_from <> valid_to)
   or (next_valid_from is not null and is_current)
