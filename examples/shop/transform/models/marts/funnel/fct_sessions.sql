-- One row per clickstream session, with the funnel steps it reached (cumulative).
with events as (

    select * from {{ ref('stg_clickstream__events') }}

),

sessions as (

    select
        session_id,
        min(occurred_at)                                            as session_started_at,
        max(occurred_at)                                            as session_ended_at,
        -- Events without customer_id belong to the session's customer too (omitted field);
        -- anonymous sessions have none at all.
        max(customer_id)                                            as customer_id,
        arg_min(device, occurred_at) filter (where device is not null)      as device,
        arg_min(referrer, occurred_at)                              as entry_referrer,
        arg_min(page_url, occurred_at)                              as landing_page_url,
        count(*)                                                    as event_count,
        count(*) filter (where event_type = 'page_view')            as page_view_count,
        count(*) filter (where event_type = 'product_view')         as product_view_count,
        count(*) filter (where event_type = 'add_to_cart')          as add_to_cart_count,
        max(funnel_step)                                            as max_funnel_step,
        max(order_id) filter (where event_type = 'purchase')        as order_id,
        sum(revenue) filter (where event_type = 'purchase')         as revenue,
        bool_or(is_late)                                            as has_late_events
    from events
    group by session_id

)

select
    session_id,
    cast(session_started_at as date)                        as session_date,
    {{ to_date_key('session_started_at') }}                 as session_date_key,
    session_started_at,
    session_ended_at,
    cast(date_diff('second', session_started_at, session_ended_at) as integer) as duration_seconds,
    customer_id,
    customer_id is null                                     as is_anonymous,
    device,
    entry_referrer,
    landing_page_url,
    event_count,
    page_view_count,
    product_view_count,
    add_to_cart_count,
    max_funnel_step,
    max_funnel_step >= 2                                    as reached_product_view,
    max_funnel_step >= 3                                    as reached_add_to_cart,
    max_funnel_step >= 4                                    as reached_checkout,
    max_funnel_step >= 5                                    as reached_purchase,
    order_id,
    coalesce(revenue, 0)                                    as revenue,
    has_late_events
from sessions
