-- Catalog API products: typed (text timestamps parsed, price as money), JSON attributes
-- flattened, one row per product (the latest version landed).
with source as (

    select * from {{ source('catalog', 'products') }}

),

renamed as (

    select
        id                                                  as product_id,
        upper(trim(sku))                                    as sku,
        trim(name)                                          as product_name,
        lower(trim(category))                               as category,
        nullif(trim(brand), '')                             as brand,
        cast({{ round_float('price', 2) }} as decimal(12, 2)) as list_price,
        upper(trim(currency))                               as currency,
        nullif(trim(description), '')                       as description,
        rating,
        lower(attributes ->> 'color')                       as color,
        upper(attributes ->> 'size')                        as size,
        lower(attributes ->> 'material')                    as material,
        cast(attributes -> 'dimensions' ->> 'width_cm' as integer)  as width_cm,
        cast(attributes -> 'dimensions' ->> 'height_cm' as integer) as height_cm,
        cast(attributes -> 'dimensions' ->> 'depth_cm' as integer)  as depth_cm,
        coalesce({{ json_array_contains('attributes', 'tags', "'bestseller'") }}, false)
                                                            as is_bestseller,
        is_active,
        cast(created_at as timestamp)                       as created_at,
        cast(updated_at as timestamp)                       as updated_at,
        {{ lake_ingested_date() }}                          as ingested_date,
        {{ lake_batch_seq() }}                              as ingestion_batch,
        _lake_file                                          as lake_file
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
    list_price,
    currency,
    description,
    rating,
    color,
    size,
    material,
    width_cm,
    height_cm,
    depth_cm,
    is_bestseller,
    is_active,
    created_at,
    updated_at,
    ingested_date,
    ingestion_batch
from latest
