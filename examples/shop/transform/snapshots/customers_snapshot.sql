{% snapshot customers_snapshot %}

{{
    config(
        target_schema='snapshots',
        unique_key='customer_id',
        strategy='timestamp',
        updated_at='updated_at',
        invalidate_hard_deletes=True
    )
}}

-- Type-2 history of the customers' attributes (segment above all): every run compares the
-- latest staged version of each customer with the current snapshot row.
select
    customer_id,
    email,
    first_name,
    last_name,
    full_name,
    country_code,
    city,
    segment,
    created_at,
    updated_at
from {{ ref('stg_shopdb__customers') }}

{% endsnapshot %}
