-- One row per product (current state): the operational database's product enriched with
-- the catalog API's attributes.
with products as (

    select * from {{ ref('stg_shopdb__products') }}

),

catalog as (

    select * from {{ ref('stg_catalog__products') }}

)

select
    {{ surrogate_key(['products.product_id']) }}   as product_sk,
    products.product_id,
    products.sku,
    products.product_name,
    products.category,
    coalesce(products.brand, catalog.brand)         as brand,
    products.unit_price,
    catalog.list_price                              as catalog_price,
    catalog.currency                                as catalog_currency,
    products.is_active,
    catalog.color,
    catalog.size,
    catalog.material,
    catalog.width_cm,
    catalog.height_cm,
    catalog.depth_cm,
    catalog.is_bestseller,
    catalog.rating,
    catalog.description,
    catalog.product_id is not null                  as has_catalog_entry,
    products.created_at,
    products.updated_at,
    catalog.updated_at                              as catalog_updated_at
from products
left join catalog
    on catalog.product_id = products.product_id
