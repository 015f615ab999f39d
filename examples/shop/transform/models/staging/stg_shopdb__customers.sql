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

    select *
    from (
        select
            renamed.*,
            row_number() over (
                partition by customer_id
                order by updated_at desc nulls last, ingestion_batch desc nulls last, lake_file desc nulls last
            ) as row_rank
        from renamed
    ) as ranked
    where row_rank = 1

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
