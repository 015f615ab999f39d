-- Orders: one row per order, its latest version (status changes land a new version).
with source as (

    select * from {{ source('shopdb', 'orders') }}

),

renamed as (

    select
        order_id,
        customer_id,
        lower(trim(status))                     as order_status,
        cast(order_total as decimal(12, 2))     as order_total,
        upper(trim(currency))                   as currency,
        nullif(lower(trim(payment_method)), '') as payment_method,
        upper(nullif(trim(shipping_country), '')) as shipping_country_code,
        placed_at,
        created_at,
        updated_at,
        {{ lake_ingested_date() }}              as ingested_date,
        {{ lake_batch_seq() }}                  as ingestion_batch,
        _lake_file                              as lake_file
    from source

),

latest as (

    {{ latest_version('renamed', 'order_id') }}

)

select
    order_id,
    customer_id,
    order_status,
    order_total,
    currency,
    payment_method,
    shipping_country_code,
    placed_at,
    created_at,
    updated_at,
    ingested_date,
    ingestion_batch
from latest
