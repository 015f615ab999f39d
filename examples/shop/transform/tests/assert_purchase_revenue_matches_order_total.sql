-- A purchase session's revenue is its order's total (the shop records both at checkout).
select
    sessions.session_id,
    sessions.order_id,
    sessions.revenue,
    orders.order_total
from {{ ref('fct_sessions') }} as sessions
inner join {{ ref('stg_shopdb__orders') }} as orders
    on orders.order_id = sessions.order_id
where sessions.revenue <> orders.order_total
