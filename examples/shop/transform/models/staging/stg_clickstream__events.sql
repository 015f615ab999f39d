-- Clickstream events: typed, one row per event_id. Duplicate lines keep their earliest
-- arrival; late events are kept and flagged.
with source as (

    select * from {{ source('clickstream', 'events') }}

),

typed as (

    select
        trim(event_id)                              as event_id,
        lower(trim(event_type))                     as event_type,
        cast(occurred_at as timestamp)              as occurred_at,
        trim(session_id)                            as session_id,
        customer_id,
        product_id,
        quantity,
        order_id,
        cast({{ round_float('revenue', 2) }} as decimal(12, 2)) as revenue,
        nullif(trim(page_url), '')                  as page_url,
        nullif(trim(referrer), '')                  as referrer,
        lower(nullif(trim(device), ''))             as device,
        nullif(trim(user_agent), '')                as user_agent,
        {{ lake_ingested_date() }}                  as arrived_date,
        {{ lake_batch_seq() }}                      as ingestion_batch,
        _lake_file                                  as lake_file
    from source

),

first_arrival as (

    {{ deduplicate('typed', 'event_id', 'ingestion_batch asc nulls last, lake_file asc nulls last') }}

)

select
    event_id,
    event_type,
    case event_type
        when 'page_view' then 1
        when 'product_view' then 2
        when 'add_to_cart' then 3
        when 'checkout_started' then 4
        when 'purchase' then 5
    end                                             as funnel_step,
    occurred_at,
    cast(occurred_at as date)                       as occurred_date,
    session_id,
    customer_id,
    product_id,
    quantity,
    order_id,
    revenue,
    page_url,
    referrer,
    device,
    user_agent,
    arrived_date,
    ingestion_batch,
    arrived_date > cast(occurred_at as date)        as is_late,
    cast(arrived_date - cast(occurred_at as date) as bigint) as arrival_delay_days
from first_arrival
