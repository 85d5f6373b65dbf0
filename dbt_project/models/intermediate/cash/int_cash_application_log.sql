{#- Grain: one row per (receipt, customer item, revision): every application the automatic cash application
    has shown, with the date it was first decided and the date a later decision replaced it. Append-only in
    meaning: a receipt's applications never change silently. Each forward run compares what the rules decide
    tonight (int_cash_applications, the receipts of the window) with the receipt's current applications; when
    they differ (a better match once the invoice was posted or the payer learned, the ERP's own clearing
    known, a correction of the inputs) the current rows get superseded_on and the new ones a new revision,
    naming what they replace. A receipt that left the window keeps its last applications. A run for a date
    before the last one decided (a backfill) records nothing: fct_cash_applications reads the log as of its
    date. The same inputs give the same applications, so re-running a night changes nothing. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['payment_id', 'customer_item_id', 'revision'],
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['payment_id']}, {'columns': ['superseded_on']}],
    )
}}
{%- set columns = [
    'payment_id', 'customer_item_id', 'invoice_id', 'customer_id', 'booking_date', 'applied_amount',
    'currency_code', 'residual_amount', 'match_rule', 'confidence', 'settlement', 'difference_amount',
    'returned_on',
] %}

-- depends_on: {{ ref('int_cash_receipts') }}

with

proposed as (select * from {{ ref('int_cash_applications') }}),

{% if is_incremental() %}

    proposed_sets as (
        select
            payment_id,
            {{ application_fingerprint() }} as fingerprint
        from proposed
        group by payment_id
    ),

    last_run as (
        select coalesce(max(greatest(decided_on, superseded_on)), date '0001-01-01') as last_date
        from {{ this }}
    ),

    current_rows as (
        select * from {{ this }}
        where superseded_on is null
    ),

    current_sets as (
        select
            payment_id,
            max(revision) as revision,
            min(decided_on) as decided_on,
            array_to_string(array_agg(distinct match_rule order by match_rule), ', ') as match_rules,
            {{ application_fingerprint() }} as fingerprint
        from current_rows
        group by payment_id
    ),

    revisions as (
        select
            payment_id,
            max(revision) as revision
        from {{ this }}
        group by payment_id
    ),

    window_receipts as (select payment_id from {{ ref('int_cash_receipts') }}),

    changed as (
        select
            coalesce(proposed_sets.payment_id, current_sets.payment_id) as payment_id,
            coalesce(revisions.revision, 0) as revision,
            current_sets.decided_on as previous_decided_on,
            current_sets.match_rules as previous_match_rules
        from proposed_sets
        full outer join current_sets on proposed_sets.payment_id = current_sets.payment_id
        left join
            revisions
            on coalesce(proposed_sets.payment_id, current_sets.payment_id) = revisions.payment_id
        where
            proposed_sets.fingerprint is distinct from current_sets.fingerprint
            -- a receipt out of the window keeps what it has
            and (
                proposed_sets.payment_id is not null
                or current_sets.payment_id in (select window_receipts.payment_id from window_receipts)
            )
            and {{ as_of_date() }} >= (select last_run.last_date from last_run)
    ),

    superseded as (
        select
            {% for column in columns %}current_rows.{{ column }},
            {% endfor -%}
            current_rows.revision,
            current_rows.decided_on,
            {{ as_of_date() }} as superseded_on,
            current_rows.previous_decided_on,
            current_rows.previous_match_rules
        from current_rows
        inner join changed on current_rows.payment_id = changed.payment_id
    ),

    new_rows as (
        select
            {% for column in columns %}proposed.{{ column }},
            {% endfor -%}
            changed.revision + 1 as revision,
            {{ as_of_date() }} as decided_on,
            cast(null as date) as superseded_on,
            changed.previous_decided_on,
            changed.previous_match_rules
        from proposed
        inner join changed on proposed.payment_id = changed.payment_id
    ),

    final as (
        select * from superseded
        union all
        select * from new_rows
    )

{% else %}

    final as (
        select
            {{ columns | join(',\n            ') }},
            1 as revision,
            {{ as_of_date() }} as decided_on,
            cast(null as date) as superseded_on,
            cast(null as date) as previous_decided_on,
            cast(null as text) as previous_match_rules
        from proposed
    )

{% endif %}

select * from final
