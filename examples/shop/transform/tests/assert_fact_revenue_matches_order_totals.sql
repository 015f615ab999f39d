-- For every non-cancelled order, the fact's line revenue adds up to the order's total, and
-- every order has lines in the fact.
with fact as (

    select order_id, sum(line_revenue) as line_revenue_total
    from {{ ref('fact_orders') }}
    group by order_id

),

orders as (

    select order_id, order_total
    from {{ ref('stg_shopdb__orders') }}
    where order_status <> 'cancelled'

)

select
    orders.order_id,
    orders.order_total,
    fact.line_revenue_total
from orders
left join fact
    on fact.order_id = orders.order_id
where fact.line_revenue_total is null
   or fact.line_revenue_total <> orders.order_total
