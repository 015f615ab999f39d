-- dim_date has exactly one row per day between the calendar vars.
with bounds as (

    select
        min(date_day) as first_day,
        max(date_day) as last_day,
        count(*) as days
    from {{ ref('dim_date') }}

)

select *
from bounds
where first_day <> cast('{{ var("calendar_start") }}' as date)
   or last_day <> cast('{{ var("calendar_end") }}' as date)
   or days <> (last_day - first_day) + 1
