-- A calendar from var('calendar_start') to var('calendar_end'), inclusive.
with days as (

    select cast(generated.day_ts as date) as date_day
    from generate_series(
        cast('{{ var("calendar_start") }}' as timestamp),
        cast('{{ var("calendar_end") }}' as timestamp),
        interval 1 day
    ) as generated(day_ts)

),

holidays as (

    select * from {{ ref('holidays') }}

)

select
    {{ to_date_key('days.date_day') }}             as date_key,
    days.date_day,
    cast(isodow(days.date_day) as integer)          as day_of_week,
    dayname(days.date_day)                          as day_name,
    cast(day(days.date_day) as integer)             as day_of_month,
    cast(dayofyear(days.date_day) as integer)       as day_of_year,
    cast(weekofyear(days.date_day) as integer)      as week_of_year,
    cast(isoyear(days.date_day) as integer)         as iso_year,
    cast(date_trunc('week', days.date_day) as date) as week_start_date,
    cast(month(days.date_day) as integer)           as month,
    monthname(days.date_day)                        as month_name,
    cast(date_trunc('month', days.date_day) as date) as month_start_date,
    cast(quarter(days.date_day) as integer)         as quarter,
    cast(year(days.date_day) as integer)            as year,
    isodow(days.date_day) in (6, 7)                 as is_weekend,
    holidays.holiday_date is not null               as is_holiday,
    holidays.holiday_name
from days
left join holidays
    on holidays.holiday_date = days.date_day
