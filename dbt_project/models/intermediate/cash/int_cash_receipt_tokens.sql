{#- Grain: one row per receipt and reference token its remittance carries: the numbers it quotes (normalized:
    leading zeros and prefixes such as INV or 发票 dropped, two or three short digit groups written with
    spaces between them joined) and valid RF creditor references (ISO 11649, mod 97) reduced to the reference
    they carry.
    kind: rf (a valid RF reference), structured (camt Strd/RfrdDocInf, CdtrRefInf), text (unstructured
    remittance, the end-to-end id). -#}
{{ config(materialized='table') }}

with

receipts as (select * from {{ ref('int_cash_receipts') }}),

texts as (
    select
        receipts.payment_id,
        sources.kind,
        upper(sources.body) as body
    from receipts
    cross join
        lateral (
            values
            ('structured', receipts.referred_documents),
            ('structured', receipts.creditor_reference),
            ('text', receipts.remittance_unstructured),
            ('text', receipts.end_to_end_id)
        ) as sources (kind, body)
    where sources.body is not null
),

words as (
    select
        texts.payment_id,
        texts.kind,
        split.word,
        split.position
    from texts
    cross join
        lateral regexp_split_to_table(texts.body, '[^0-9A-Z]+') with ordinality as split (word, position)
    where split.word <> ''
),

digit_words as (
    -- a number, possibly glued to a prefix (INV90012345, NO.90012345 splits at the dot anyway)
    select
        payment_id,
        kind,
        position,
        regexp_replace(word, '^[A-Z]+', '') as digits
    from words
    where word ~ '^[A-Z]*[0-9]+$'
),

joined as (
    -- "9001 2345", "900 395 24": two or three short groups that are one number written with spaces
    select
        payment_id,
        kind,
        digits || lead(digits) over by_position as digits,
        lead(position) over by_position = position + 1 as adjacent,
        length(digits) < 7 and length(lead(digits) over by_position) < 7 as all_short
    from digit_words
    window by_position as (partition by payment_id, kind order by position)
    union all
    select
        payment_id,
        kind,
        digits || lead(digits) over by_position || lead(digits, 2) over by_position as digits,
        lead(position, 2) over by_position = position + 2 as adjacent,
        length(digits) < 7
        and length(lead(digits) over by_position) < 7
        and length(lead(digits, 2) over by_position) < 7 as all_short
    from digit_words
    window by_position as (partition by payment_id, kind order by position)
),

rf as (
    select
        payment_id,
        'rf' as kind,
        substring(word from 5) as body
    from words
    where
        word ~ '^RF[0-9]{2}[0-9]{1,21}$'
        and mod(cast(substring(word from 5) || '2715' || substring(word from 3 for 2) as numeric), 97) = 1
),

tokens as (
    select
        payment_id,
        kind,
        digits as token
    from digit_words
    union all
    select
        payment_id,
        kind,
        digits as token
    from joined
    where adjacent and all_short
    union all
    select
        payment_id,
        kind,
        body as token
    from rf
),

final as (
    select distinct
        payment_id,
        kind,
        ltrim(token, '0') as token
    from tokens
    where length(ltrim(token, '0')) between 6 and 12
)

select * from final
