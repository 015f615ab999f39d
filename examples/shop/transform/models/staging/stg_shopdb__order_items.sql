-- Order items: one row per order item, its latest version.
with source as (

    select * from {{ source('shopdb', 'order_items') }}

),

renamed as (

    select
        order_item_id,
        order_id,
        product_id,
        quantity,
        cast(unit_price as decimal(12, 2))      as unit_price,
        cast(coalesce(discount_amount, 0) as decimal(12, 2)) as discount_amount,
        created_at,
        updated_at,
        {{ lake_ingested_date() }}              as ingested_date,
        {{ lake_batch_seq() }}                  as ingestion_batch,
        _lake_file                              as lake_file
    from source

),

latest as (

    {{ latest_version('renamed', 'order_item_id') }}

)

select
    order_item_id,
    order_id,
    product_id,
    quantity,
    unit_price,
    discount_amount,
    created_at,
    updated_at,
    ingested_date,
    ingestion_batch
from latest
