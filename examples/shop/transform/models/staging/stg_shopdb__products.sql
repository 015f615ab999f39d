-- Products of the operational database: one row per product (the latest version landed).
with source as (

    select * from {{ source('shopdb', 'products') }}

),

renamed as (

    select
        product_id,
        upper(trim(sku))                    as sku,
        trim(name)                          as product_name,
        lower(trim(category))               as category,
        nullif(trim(brand), '')             as brand,
        cast(unit_price as decimal(12, 2))  as unit_price,
        is_active = 1                       as is_active,
        created_at,
        updated_at,
        {{ lake_ingested_date() }}          as ingested_date,
        {{ lake_batch_seq() }}              as ingestion_batch,
        _lake_file                          as lake_file
    from source

),

latest as (

    {{ latest_version('renamed', 'product_id') }}

)

select
    product_id,
    sku,
    product_name,
    category,
    brand,
    unit_price,
    is_active,
    created_at,
    updated_at,
    ingested_date,
    ingestion_batch
from latest
