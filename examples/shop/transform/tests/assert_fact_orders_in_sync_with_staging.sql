-- The incremental fact holds every staged order line with its order's current status: a
-- line missing or stale here means the incremental filter missed a change.
with staged as (

    select
        order_items.order_item_id,
        orders.order_status,
        greatest(order_items.updated_at, orders.updated_at) as updated_at
    from {{ ref('stg_shopdb__order_items') }} as order_items
    inner join {{ ref('stg_shopdb__orders') }} as orders
        on orders.order_id = order_items.order_id

)

select
    staged.order_item_id,
    staged.order_status,
    fact.order_status as fact_order_status
from staged
left join {{ ref('fact_orders') }} as fact
    on fact.order_item_id = staged.order_item_id
where fact.order_item_id is null
   or fact.order_status <> staged.order_status
   or fact.updated_at <> staged.updated_at
