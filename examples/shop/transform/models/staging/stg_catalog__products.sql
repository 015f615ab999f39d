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
        cast(round(price, 2) as decimal(12, 2))             as list_price,
        upper(trim(currency))                               as currency,
        nullif(trim(description), '')                       as description,
        rating,
        lower(json_extract_string(attributes, '$.color'))   as color,
        upper(json_extract_string(attributes, '$.size'))    as size,
        lower(json_extract_string(attributes, '$.material')) as material,
        cast(json_extract(attributes, '$.dimensions.width_cm') as integer)  as width_cm,
        cast(json_extract(attributes, '$.dimensions.height_cm') as integer) as height_cm,
        cast(json_extract(attributes, '$.dimensions.depth_cm') as integer)  as depth_cm,
        coalesce(list_contains(cast(json_extract(attributes, '$.tags') as varchar[]), 'bestseller'), false)
                                                            as is_bestseller,
        is_active,
        strptime(created_at, '%Y-%m-%d %H:%M:%S')           as created_at,
        strptime(updated_at, '%Y-%m-%d %H:%M:%S')           as updated_at,
        {{ lake_ingested_date() }}                          as ingested_date,
        {{ lake_batch_seq() }}                              as ingestion_batch,
        _lake_file                                          as lake_file
    from source

),

latest as (

    select *
    from renamed
    qualify row_number() over (
        partition by product_id
        order by updated_at desc, ingestion_batch desc, lake_file desc
    ) = 1

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
