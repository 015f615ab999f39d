-- The conversion funnel per day (the day a session started).
with sessions as (

    select * from {{ ref('fct_sessions') }}

),

daily as (

    select
        session_date                                            as date_day,
        session_date_key                                        as date_key,
        count(*)                                                as sessions,
        count(*) filter (where not is_anonymous)                as identified_sessions,
        count(distinct customer_id)                             as distinct_customers,
        count(*) filter (where reached_product_view)            as product_view_sessions,
        count(*) filter (where reached_add_to_cart)             as add_to_cart_sessions,
        count(*) filter (where reached_checkout)                as checkout_sessions,
        count(*) filter (where reached_purchase)                as purchase_sessions,
        count(order_id)                                         as orders,
        cast(sum(revenue) as decimal(14, 2))                    as revenue,
        count(*) filter (where has_late_events)                 as sessions_with_late_events
    from sessions
    group by session_date, session_date_key

)

select
    date_day,
    date_key,
    sessions,
    identified_sessions,
    distinct_customers,
    product_view_sessions,
    add_to_cart_sessions,
    checkout_sessions,
    purchase_sessions,
    orders,
    revenue,
    sessions_with_late_events,
    {{ round_float('cast(product_view_sessions as double precision) / nullif(sessions, 0)', 4) }}          as product_view_rate,
    {{ round_float('cast(add_to_cart_sessions as double precision) / nullif(product_view_sessions, 0)', 4) }} as cart_rate,
    {{ round_float('cast(checkout_sessions as double precision) / nullif(add_to_cart_sessions, 0)', 4) }}  as checkout_rate,
    {{ round_float('cast(purchase_sessions as double precision) / nullif(checkout_sessions, 0)', 4) }}     as purchase_rate,
    {{ round_float('cast(purchase_sessions as double precision) / nullif(sessions, 0)', 4) }}              as conversion_rate,
    cast(round(revenue / nullif(purchase_sessions, 0), 2) as decimal(14, 2))       as average_order_value
from daily
