-- A calendar from var('calendar_start') to var('calendar_end'), inclusive.
with days as (

    select cast(generated.day_ts as date) as date_day
    from generate_series(
        cast('{{ var("calendar_start") }}' as timestamp),
        cast('{{ var("calendar_end") }}' as timestamp),
        interval '1 day'
    ) as generated(day_ts)

),

holidays as (

    select * from {{ ref('holidays') }}

)

select
    {{ to_date_key('days.date_day') }}             as date_key,
    days.date_day,
    cast(extract(isodow from days.date_day) as integer) as day_of_week,
    {{ day_name('days.date_day') }}                 as day_name,
    cast(extract(day from days.date_day) as integer) as day_of_month,
    cast(extract(doy from days.date_day) as integer) as day_of_year,
    cast(extract(week from days.date_day) as integer) as week_of_year,
    cast(extract(isoyear from days.date_day) as integer) as iso_year,
    cast(date_trunc('week', cast(days.date_day as timestamp)) as date) as week_start_date,
    cast(extract(month from days.date_day) as integer) as month,
    {{ month_name('days.date_day') }}               as month_name,
    cast(date_trunc('month', cast(days.date_day as timestamp)) as date) as month_start_date,
    cast(extract(quarter from days.date_day) as integer) as quarter,
    cast(extract(year from days.date_day) as integer) as year,
    cast(extract(isodow from days.date_day) as integer) in (6, 7) as is_weekend,
    holidays.holiday_date is not null               as is_holiday,
    holidays.holiday_name
from days
left join holidays
    on holidays.holiday_date = days.date_day
