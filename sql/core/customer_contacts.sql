-- Every customer record of every system with its identifiers normalised,
-- the input of identity resolution (customer_identity_map). Records:
--   customers  a customer record (stg_customers)
--   orders     a customer number of the order system, with the contact
--              details of its latest order that has them
--   surveys    a survey answer, with the customer number it names, if any
--
-- e-mail: white space (spaces, tabs, line breaks) removed and lower-cased;
-- kept only when it looks like an address.
-- phone, by analytics_settings.phone_format (crmwh.yaml identity.phone):
--   digits  the digits of the number, when there are 7 to 15 of them
--   cn      mainland China: digits only; a leading +86 / 0086 / 86 country
--           code removed; a mobile number is 11 digits starting 1[3-9] (a
--           trunk 0 written before it is dropped); a landline is its area
--           code with the leading 0 (restored when a country code dropped
--           it) plus the number, 10 to 12 digits. Anything else is no phone.
with records as (
    select 'customers' as source, customer_id as source_key, cast(null as varchar) as customer_key,
        email, phone, coalesce(signed_up_at, updated_at) as first_seen_at
    from stg_customers
    union all
    select 'orders' as source, customer_id as source_key, cast(null as varchar) as customer_key,
        arg_max(customer_email, ordered_at) filter (where customer_email is not null) as email,
        arg_max(customer_phone, ordered_at) filter (where customer_phone is not null) as phone,
        min(ordered_at) as first_seen_at
    from stg_orders
    group by customer_id
    union all
    select 'surveys' as source, response_id as source_key, customer_id as customer_key, email, phone, submitted_at as first_seen_at
    from stg_surveys
),
cleaned as (
    select
        source, source_key, customer_key, first_seen_at,
        lower(regexp_replace(coalesce(email, ''), '\s', '', 'g')) as email_clean,
        regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') as digits,
        regexp_matches(trim(coalesce(phone, '')), '^(\+|00)?86') and length(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')) >= 11 as has_country_code
    from records
),
national as (
    select *,
        case
            when has_country_code and starts_with(digits, '0086') then substr(digits, 5)
            when has_country_code and starts_with(digits, '86') then substr(digits, 3)
            else digits
        end as national_digits
    from cleaned
)
select
    source,
    source_key,
    customer_key,
    first_seen_at,
    case when regexp_full_match(email_clean, '[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}')
        then email_clean end as email_norm,
    case
        when (select phone_format from analytics_settings) <> 'cn' then
            case when length(digits) between 7 and 15 then digits end
        when regexp_full_match(national_digits, '1[3-9][0-9]{9}') then national_digits
        when regexp_full_match(national_digits, '01[3-9][0-9]{9}') then substr(national_digits, 2)
        when regexp_full_match(national_digits, '0[1-9][0-9]{8,10}') then national_digits
        when has_country_code and regexp_full_match(national_digits, '[1-9][0-9]{8,10}')
            and not starts_with(national_digits, '1') then '0' || national_digits
    end as phone_norm
from national
