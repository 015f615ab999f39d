{{ config(severity='warn') }}

-- Every order has a purchase session in the clickstream, except orders recent enough for
-- their purchase event to still be on its way (events arrive up to 3 days late).
with latest_arrival as (

    select max(arrived_date) as last_arrived_date
    from {{ ref('stg_clickstream__events') }}

)

select orders.order_id, orders.placed_at
from {{ ref('stg_shopdb__orders') }} as orders
cross join latest_arrival
left join {{ ref('fct_sessions') }} as sessions
    on sessions.order_id = orders.order_id
where sessions.order_id is null
  and orders.placed_at < latest_arrival.last_arrived_date - interval '3 days'
