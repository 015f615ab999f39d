{{
    config(
        materialized='incremental',
        unique_key='order_item_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns'
    )
}}

-- Order lines with keys to every dimension. Incremental: a line is (re)merged when its item
-- or its order changed, i.e. on the later of the two updated_at (a status change bumps only
-- orders.updated_at).
with order_items as (

    select * from {{ ref('stg_shopdb__order_items') }}

),

orders as (

    select * from {{ ref('stg_shopdb__orders') }}

),

lines as (

    select
        order_items.order_item_id,
        order_items.order_id,
        order_items.product_id,
        orders.customer_id,
        order_items.quantity,
        order_items.unit_price,
        order_items.discount_amount,
        orders.order_status,
        orders.currency,
        orders.payment_method,
        orders.placed_at,
        greatest(order_items.updated_at, orders.updated_at) as updated_at
    from order_items
    inner join orders
        on orders.order_id = order_items.order_id

),

changed as (

    select * from lines
    {% if is_incremental() %}
    where updated_at >= (select max(updated_at) from {{ this }}) - interval '{{ var("lookback_days") }} days'
    {% endif %}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

products as (

    select * from {{ ref('dim_products') }}

)

select
    changed.order_item_id,
    changed.order_id,
    customers.customer_sk,
    products.product_sk,
    {{ to_date_key('changed.placed_at') }}                 as order_date_key,
    changed.customer_id,
    changed.product_id,
    changed.quantity,
    changed.unit_price,
    changed.discount_amount,
    cast(changed.quantity * changed.unit_price as decimal(12, 2)) as gross_amount,
    cast(changed.quantity * changed.unit_price - changed.discount_amount as decimal(12, 2)) as line_revenue,
    changed.order_status,
    changed.order_status = 'cancelled'                      as is_cancelled,
    changed.currency,
    changed.payment_method,
    changed.placed_at,
    changed.updated_at
from changed
-- The customer version valid when the order was placed: [valid_from, valid_to).
left join customers
    on customers.customer_id = changed.customer_id
    and changed.placed_at >= customers.valid_from
    and changed.placed_at < customers.valid_to
left join products
    on products.product_id = changed.product_id
