-- One row per customer version (type 2) from customers_snapshot. See the model's docs for
-- the validity interval conventions.
with snapshot_rows as (

    select * from {{ ref('customers_snapshot') }}

),

versions as (

    select
        *,
        row_number() over (partition by customer_id order by dbt_valid_from) as version_number,
        count(*) over (partition by customer_id) as version_count
    from snapshot_rows

)

select
    {{ surrogate_key(['customer_id', 'dbt_valid_from']) }} as customer_sk,
    customer_id,
    email,
    first_name,
    last_name,
    full_name,
    country_code,
    city,
    segment,
    created_at                                              as customer_created_at,
    -- The first version also covers the time before the snapshot first saw the customer.
    case
        when version_number = 1 then least(created_at, dbt_valid_from)
        else dbt_valid_from
    end                                                     as valid_from,
    coalesce(dbt_valid_to, cast('{{ var("scd_far_future") }}' as timestamp)) as valid_to,
    dbt_valid_to is null                                    as is_current,
    (version_number = version_count and dbt_valid_to is not null) as is_deleted,
    version_number,
    updated_at,
    dbt_scd_id                                              as snapshot_scd_id
from versions
