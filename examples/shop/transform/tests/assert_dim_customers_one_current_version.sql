-- No customer has more than one current version.
select
    customer_id,
    count(*) as current_versions
from {{ ref('dim_customers') }}
where is_current
group by customer_id
having count(*) > 1
