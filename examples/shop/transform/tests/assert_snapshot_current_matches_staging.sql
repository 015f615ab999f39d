{{ config(severity='warn') }}

-- Right after a snapshot run, the current snapshot row of every staged customer carries the
-- staged version (same updated_at and segment).
select
    staged.customer_id,
    staged.updated_at,
    staged.segment,
    snap.updated_at as snapshot_updated_at,
    snap.segment as snapshot_segment
from {{ ref('stg_shopdb__customers') }} as staged
left join {{ ref('customers_snapshot') }} as snap
    on snap.customer_id = staged.customer_id
    and snap.dbt_valid_to is null
where snap.customer_id is null
   or snap.updated_at <> staged.updated_at
   or snap.segment <> staged.segment
