-- Customers: typed, cleaned, one row per customer (the latest version landed).
with source as (

    select * from {{ source('shopdb', 'customers') }}

),

renamed as (

    select
        customer_id,
        lower(trim(email))                  as email,
        nullif(trim(first_name), '')        as first_name,
        nullif(trim(last_name), '')         as last_name,
        upper(nullif(trim(country), ''))    as country_code,
        nullif(trim(city), '')              as city,
        lower(trim(segment))                as segment,
        created_at,
        updated_at,
        {{ lake_ingested_date() }}          as ingested_date,
        {{ lake_batch_seq() }}              as ingestion_batch,
        _lake_file                          as lake_file
    from source

),

latest as (

    {{ latest_version('renamed', 'customer_id') }}

)

select
    customer_id,
    email,
    first_name,
    last_name,
    nullif(concat_ws(' ', first_name, last_name), '') as full_name,
    country_code,
    city,
    segment,
    created_at,
    updated_at,
    ingested_date,
    ingestion_batch
from latest
