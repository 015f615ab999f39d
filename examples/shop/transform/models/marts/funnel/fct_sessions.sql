-- One row per clickstream session, with the funnel steps it reached (cumulative).
with events as (

    select * from {{ ref('stg_clickstream__events') }}

),

-- The session's first non-null device, referrer and page URL (in occurred_at order; event_id
-- breaks ties), carried on every event of the session so the aggregation below can pick it
-- with max(). Same values as DuckDB's arg_min(x, occurred_at), which skips null x.
firsts as (

    select
        events.*,
        first_value(device) over (
            partition by session_id
            order by device is null, occurred_at, event_id
        )                                                           as first_device,
        first_value(referrer) over (
            partition by session_id
            order by referrer is null, occurred_at, event_id
        )                                                           as first_referrer,
        first_value(page_url) over (
            partition by session_id
            order by page_url is null, occurred_at, event_id
        )                                                           as first_page_url
    from events

),

sessions as (

    select
        session_id,
        min(occurred_at)                                            as session_started_at,
        max(occurred_at)                                            as session_ended_at,
        -- Events without customer_id belong to the session's customer too (omitted field);
        -- anonymous sessions have none at all.
        max(customer_id)                                            as customer_id,
        max(first_device)                                           as device,
        max(first_referrer)                                         as entry_referrer,
        max(first_page_url)                                         as landing_page_url,
        count(*)                                                    as event_count,
        count(*) filter (where event_type = 'page_view')            as page_view_count,
        count(*) filter (where event_type = 'product_view')         as product_view_count,
        count(*) filter (where event_type = 'add_to_cart')          as add_to_cart_count,
        max(funnel_step)                                            as max_funnel_step,
        max(order_id) filter (where event_type = 'purchase')        as order_id,
        sum(revenue) filter (where event_type = 'purchase')         as revenue,
        bool_or(is_late)                                            as has_late_events
    from firsts
    group by session_id

)

select
    session_id,
    cast(session_started_at as date)                        as session_date,
    {{ to_date_key('session_started_at') }}                 as session_date_key,
    session_started_at,
    session_ended_at,
    -- Whole seconds between the (truncated) first and last event, like date_diff('second').
    cast(extract(epoch from date_trunc('second', session_ended_at) - date_trunc('second', session_started_at)) as integer)
                                                            as duration_seconds,
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
