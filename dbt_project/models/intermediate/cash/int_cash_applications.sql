{#- Grain: one row per (receipt, customer item) the automatic cash application settles, for the receipts of
    the window (int_cash_receipts), as known at the as-of date's cutoff; a receipt no rule settles has no row.

    The ladder (DECISIONLOG "Cash application"), first rule that settles a receipt wins:
    1. invoice references: the billing documents the remittance quotes (RF creditor references, structured and
       unstructured text, with the usual typos: a digit missing, two swapped, spaces, prefixes), all of their
       open items together, when the receipt settles them (exactly, short by bank charges, or within the FX
       tolerance when converted);
    2. document references: the order, delivery or contract numbers quoted: all of their items, else the one
       item the receipt settles;
    3. combined payment naming some of its invoices: the unique subset of the payer's open items that contains
       the quoted ones and that the receipt settles;
    4. partial payment or over-payment of the one item quoted;
    5. payer and amount: the one open item of the payer's group (learned from confirmed matches: the payer's
       account, else its name, mapped to the one customer group whose items it paid by reference and the ERP
       cleared) that the receipt settles;
    6. combined payment: the unique subset (at most combined_max_size of the combined_max_items open items
       due first) of the payer group's items that the receipt settles;
    7. the ERP's own clearing: a receipt no rule settled, and the one clearing document (dated within
       erp_clearing_days of the booking) whose items it settles: the AR clerk matched it by hand. Not an
       automatic match (the scorecard does not count it as one), but the receipt is no longer unapplied cash.
    A group company paying for its affiliates is the payer of its group (KNA1-KONZS). Every rule settles
    only when its answer is unique; otherwise the receipt stays unapplied (fct_unapplied_cash). -#}
{{ config(materialized='table') }}
{%- set cfg = var('cash_application') %}
{%- set conf = cfg.confidence %}

with recursive

receipts as (select * from {{ ref('int_cash_receipts') }}),

items as (select * from {{ ref('int_cash_open_items') }}),

tokens as (select * from {{ ref('int_cash_receipt_tokens') }}),

document_keys as (select * from {{ ref('int_cash_document_keys') }}),

fx as (
    select
        rate_date,
        currency_code,
        to_usd
    from {{ ref('int_fx_rates_daily') }}
),

hits as materialized (
    -- with the receipt's booking date (materialized: the item join below is by key only)
    select
        tokens.payment_id,
        receipts.booking_date,
        tokens.token,
        document_keys.customer_item_id,
        case
            when tokens.kind = 'rf' and document_keys.kind = 'invoice' then 1
            when document_keys.kind = 'invoice' then 2
            when document_keys.kind = 'invoice_fuzzy' then 3
            else 4
        end as strength
    from tokens
    inner join receipts on tokens.payment_id = receipts.payment_id
    inner join document_keys on tokens.token = document_keys.document_key
),

candidate_hits as (
    select
        hits.*,
        items.invoice_id,
        min(hits.strength) over (partition by hits.payment_id, hits.token) as token_strength
    from hits
    inner join items on hits.customer_item_id = items.customer_item_id
    where {{ cash_candidate('items', 'hits') }}
),

ambiguous_tokens as (
    -- a mistyped number that could be several invoices names none of them
    select
        payment_id,
        token
    from candidate_hits
    where strength = 3 and token_strength = 3
    group by payment_id, token
    having count(distinct invoice_id) > 1
),

quoted as (
    select
        candidate_hits.payment_id,
        candidate_hits.customer_item_id,
        min(candidate_hits.strength) as strength
    from candidate_hits
    left join ambiguous_tokens
        on candidate_hits.payment_id = ambiguous_tokens.payment_id
            and candidate_hits.token = ambiguous_tokens.token
    where candidate_hits.strength = candidate_hits.token_strength and ambiguous_tokens.token is null
    group by candidate_hits.payment_id, candidate_hits.customer_item_id
),

quoted_items as (
    select
        quoted.payment_id,
        quoted.strength,
        -- what the remittance names: the invoices when it quotes any, else the documents it quotes
        quoted.strength <= 3 or min(quoted.strength) over (partition by quoted.payment_id) = 4 as is_named,
        items.customer_item_id,
        items.group_id,
        items.currency_code,
        items.amount,
        items.is_credit
    from quoted
    -- quoted comes from candidate_hits: the item is a candidate of the receipt
    inner join items on quoted.customer_item_id = items.customer_item_id
),

-- a set of items a receipt may settle: (payment_id, set_rule, set_id, currency, items, total)
reference_sets as (
    select
        payment_id,
        case when max(strength) = 3 then 'invoice_reference_fuzzy'
            when min(strength) = 1 then 'rf_reference'
            else 'invoice_reference'
        end as set_rule,
        1 as priority,
        'references' as set_id,
        currency_code,
        array_agg(customer_item_id order by customer_item_id) as item_ids,
        sum(amount) as total,
        count(*) filter (where not is_credit) as debit_items
    from quoted_items
    where strength <= 3
    group by payment_id, currency_code
),

document_sets as (
    select
        payment_id,
        'document_reference' as set_rule,
        3 as priority,
        'documents' as set_id,
        currency_code,
        array_agg(customer_item_id order by customer_item_id) as item_ids,
        sum(amount) as total,
        count(*) filter (where not is_credit) as debit_items
    from quoted_items
    where
        strength = 4
        and not exists (
            select 1 from reference_sets
            where reference_sets.payment_id = quoted_items.payment_id
        )
    group by payment_id, currency_code
),

document_singles as (
    select
        payment_id,
        'document_reference' as set_rule,
        4 as priority,
        customer_item_id as set_id,
        currency_code,
        array[customer_item_id] as item_ids,
        amount as total,
        1 as debit_items
    from quoted_items
    where
        strength = 4
        and not is_credit
        and not exists (
            select 1 from reference_sets
            where reference_sets.payment_id = quoted_items.payment_id
        )
),

quote_sets as (
    select * from reference_sets
    union all
    select * from document_sets
    union all
    select * from document_singles
),

quote_fits as (
    {{ fitted_sets('quote_sets', ['payer_account', 'payer_name_key']) }}
),

payer_evidence as (
    -- receipts settled by their references whose items the ERP cleared: who pays for which group
    select
        quote_fits.payer_account,
        quote_fits.payer_name_key,
        items.group_id,
        items.customer_id
    from quote_fits
    -- the sets of quote_fits are made of the receipt's candidates
    cross join lateral unnest(quote_fits.item_ids) as set_items (customer_item_id)
    inner join items on set_items.customer_item_id = items.customer_item_id
    where quote_fits.priority = 1 and quote_fits.fit is not null and items.clearing_date is not null
),

payer_accounts as (
    select
        payer_account,
        min(group_id) as group_id
    from payer_evidence
    where payer_account is not null
    group by payer_account
    having count(distinct group_id) = 1
),

payer_names as (
    select
        payer_name_key,
        min(group_id) as group_id
    from payer_evidence
    where payer_name_key is not null
    group by payer_name_key
    having count(distinct group_id) = 1
),

payer_customers as (
    -- the one customer an account pays for, when it pays for one only
    select
        payer_account,
        min(customer_id) as customer_id
    from payer_evidence
    where payer_account is not null
    group by payer_account
    having count(distinct customer_id) = 1
),

receipt_groups as (
    -- the payer's group: by its account when the account is known, else by its name; and the groups of the
    -- items its remittance quotes
    select distinct
        receipts.payment_id,
        coalesce(payer_accounts.group_id, payer_names.group_id) as group_id,
        true as from_payer
    from receipts
    left join payer_accounts on receipts.payer_account = payer_accounts.payer_account
    left join payer_names on receipts.payer_name_key = payer_names.payer_name_key
    where coalesce(payer_accounts.group_id, payer_names.group_id) is not null
    union
    select distinct
        payment_id,
        group_id,
        false as from_payer
    from quoted_items
),

payer_groups as materialized (
    -- each receipt's groups (the payer's, the quoted items'), with its booking date, for the receipts no
    -- quote settles: the others use no pool (no payer_singles: they quote; no search: needs_search);
    -- materialized: the item join below is by key only
    select distinct
        receipt_groups.payment_id,
        receipt_groups.group_id,
        receipts.booking_date
    from receipt_groups
    inner join receipts on receipt_groups.payment_id = receipts.payment_id
    where
        not exists (
            select 1
            from quote_fits
            where quote_fits.payment_id = receipt_groups.payment_id and quote_fits.fit is not null
        )
),

group_candidates as (
    select
        payer_groups.payment_id,
        items.*
    from payer_groups
    inner join items on payer_groups.group_id = items.group_id
    where {{ cash_candidate('items', 'payer_groups') }}
),

pool as (
    -- the items a combined payment may be made of: the payer groups' open items, the quoted ones first, then
    -- the payer's own, credits (a payer deducts its credit notes) before debits, each by due date; at most
    -- combined_max_items per receipt and currency
    select ranked.*
    from (
        select
            candidates.payment_id,
            candidates.customer_item_id,
            candidates.group_id,
            candidates.customer_id,
            candidates.currency_code,
            candidates.amount,
            candidates.is_credit,
            coalesce(quoted_items.is_named, false) as is_quoted,
            row_number() over (
                partition by candidates.payment_id, candidates.currency_code
                order by
                    coalesce(quoted_items.is_named, false) desc,
                    candidates.customer_id is not distinct from payer.customer_id desc,
                    candidates.is_credit desc,
                    candidates.net_due_date asc,
                    candidates.customer_item_id asc
            ) as pool_rank
        from group_candidates as candidates
        left join quoted_items
            on
                candidates.payment_id = quoted_items.payment_id
                and candidates.customer_item_id = quoted_items.customer_item_id
        left join (
            select
                receipts.payment_id,
                payer_customers.customer_id
            from receipts
            inner join payer_customers on receipts.payer_account = payer_customers.payer_account
        ) as payer on candidates.payment_id = payer.payment_id
    ) as ranked
    where ranked.pool_rank <= {{ cfg.combined_max_items }}
),

payer_singles as (
    select
        pool.payment_id,
        'payer_amount' as set_rule,
        7 as priority,
        pool.customer_item_id as set_id,
        pool.currency_code,
        array[pool.customer_item_id] as item_ids,
        pool.amount as total,
        1 as debit_items
    from pool
    inner join receipt_groups
        on pool.payment_id = receipt_groups.payment_id and pool.group_id = receipt_groups.group_id
            and receipt_groups.from_payer
    where
        not pool.is_credit
        and not exists (
            select 1 from quoted_items
            where quoted_items.payment_id = pool.payment_id
        )
),

single_fits as (
    {{ fitted_sets('payer_singles') }}
),

needs_search as (
    -- receipts no quote settles and no single item of the payer's settles alone: search combinations
    select receipts.payment_id
    from receipts
    where
        -- grouped: a hash of the receipts it names is planned on a count the planner can estimate
        receipts.payment_id not in (
            select quote_fits.payment_id from quote_fits
            where quote_fits.fit is not null
            group by quote_fits.payment_id
        )
        and receipts.payment_id not in (
            select single_fits.payment_id from single_fits
            where single_fits.fit is not null
            group by single_fits.payment_id
        )
),

search_pool as (
    -- the pool of the receipts to search, with the most a set of its items may total and still settle the
    -- receipt (settlement_fit: the amount plus the charge tolerance, or within the FX tolerance when
    -- converted) and the credits ranked after each item (what a larger set may still take off): a set whose
    -- total, less those credits, is above that bound settles the receipt neither alone nor with more items
    select
        pool.*,
        greatest(
            {{ receipt_amount_in('pool.currency_code') }} + {{ charge_tolerance('pool.currency_code') }},
            case
                when {{ is_converted('pool.currency_code') }}
                    then
                        {{ receipt_amount_in('pool.currency_code') }}
                        / (1 - {{ cfg.fx_tolerance_pct }} / 100.0)
            end
        ) + 0.01 as upper_bound,
        coalesce(
            sum(least(pool.amount, 0)) over (
                partition by pool.payment_id, pool.currency_code
                order by pool.pool_rank desc
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as credits_after
    from pool
    inner join receipts on pool.payment_id = receipts.payment_id
    left join fx as fx_receipt
        on receipts.currency_code = fx_receipt.currency_code and receipts.booking_date = fx_receipt.rate_date
    left join
        fx as fx_item
        on pool.currency_code = fx_item.currency_code and receipts.booking_date = fx_item.rate_date
    where
        exists (
            select 1 from needs_search
            where needs_search.payment_id = pool.payment_id
        )
),

combinations (payment_id, currency_code, last_rank, item_ids, total, size, quoted_count, rank_sum) as (
    select
        payment_id,
        currency_code,
        pool_rank as last_rank,
        array[customer_item_id] as item_ids,
        amount as total,
        1 as size,
        case when is_quoted then 1 else 0 end as quoted_count,
        pool_rank as rank_sum
    from search_pool
    where amount + credits_after <= upper_bound
    union all
    select
        combinations.payment_id,
        combinations.currency_code,
        pool.pool_rank,
        combinations.item_ids || pool.customer_item_id,
        combinations.total + pool.amount,
        combinations.size + 1,
        combinations.quoted_count + case when pool.is_quoted then 1 else 0 end,
        combinations.rank_sum + pool.pool_rank
    from combinations
    inner join search_pool as pool
        on
            combinations.payment_id = pool.payment_id
            and combinations.currency_code = pool.currency_code
            and combinations.last_rank < pool.pool_rank
    where
        combinations.size < {{ cfg.combined_max_size }}
        and combinations.total + pool.amount + pool.credits_after <= pool.upper_bound
),

quoted_counts as (
    select
        payment_id,
        count(*) as quoted_count
    from quoted_items
    where is_named
    group by payment_id
),

combined_sets as (
    select
        combinations.payment_id,
        case
            when combinations.quoted_count = combinations.size then 'invoice_reference'
            else 'combined_payment'
        end as set_rule,
        case
            when combinations.quoted_count = combinations.size then 2
            when coalesce(quoted_counts.quoted_count, 0) > 0 then 5
            else 8
        end as priority,
        array_to_string(combinations.item_ids, ',') as set_id,
        combinations.currency_code,
        combinations.item_ids,
        combinations.total,
        combinations.size as debit_items,
        combinations.rank_sum
    from combinations
    left join quoted_counts on combinations.payment_id = quoted_counts.payment_id
    where
        -- some of the quoted items (an instalment of an invoice quoted, ...): the ones the receipt settles
        (combinations.quoted_count = combinations.size and combinations.size < quoted_counts.quoted_count)
        -- a combined payment naming invoices contains all of them
        or (combinations.size >= 2 and combinations.quoted_count = coalesce(quoted_counts.quoted_count, 0))
),

search_fits as (
    {{ fitted_sets('combined_sets') }}
),

partials as (
    -- the one item quoted, paid in part or over-paid
    select
        payment_id,
        case when receipt_amount < total then 'partial_payment' else 'overpayment' end as set_rule,
        6 as priority,
        set_id,
        currency_code,
        item_ids,
        total,
        debit_items,
        receipt_amount,
        tolerance,
        converted,
        case when receipt_amount < total then 'partial' else 'overpayment' end as fit
    from quote_fits
    where priority = 1
        and fit is null
        and debit_items = 1
        and cardinality(item_ids) = 1
        and receipt_amount > 0
),

settled as (
    -- receipts a rule of the ladder settles
    select quote_fits.payment_id from quote_fits
    where quote_fits.fit is not null
    union all
    select single_fits.payment_id from single_fits
    where single_fits.fit is not null
    union all
    select search_fits.payment_id from search_fits
    where search_fits.fit is not null
    union all
    select partials.payment_id from partials
),

clearing_documents as (
    -- what each ERP clearing document of the window cleared: its debit and credit items, one currency
    select
        clearing_document_id,
        currency_code,
        min(clearing_date) as clearing_date,
        array_agg(customer_item_id order by customer_item_id) as item_ids,
        sum(amount) as total
    from items
    where clearing_document_id is not null
    group by clearing_document_id, currency_code
),

unsettled_receipts as materialized (
    -- receipts no rule of the ladder settles (materialized: the join below is planned on this, not on the
    -- estimates of the ladder's sets, which the recursive search inflates)
    select receipts.*
    from receipts
    -- grouped: a hash of the receipts it names is planned on a count the planner can estimate
    where
        receipts.payment_id not in (
            select settled.payment_id from settled
            group by settled.payment_id
        )
),

erp_clearings as (
    -- the ERP's own clearing of a receipt no rule settled: a clearing document dated from the booking date to
    -- erp_clearing_days after it, in the receipt's currency, that the receipt settles; used only when it is
    -- the one such document for the receipt and the receipt the one such receipt for the document
    select
        erp_matches.*,
        count(*) over (partition by erp_matches.payment_id) as document_count,
        count(*) over (partition by erp_matches.set_id) as receipt_count
    from (  -- noqa: ST05
        select
            receipts.payment_id,
            'erp_clearing' as set_rule,
            9 as priority,
            clearing_documents.clearing_document_id as set_id,
            clearing_documents.currency_code,
            clearing_documents.item_ids,
            clearing_documents.total,
            receipts.amount as receipt_amount,
            {{ settlement_fit(
                'clearing_documents.total',
                'receipts.amount',
                charge_tolerance('clearing_documents.currency_code'),
                'false',
            ) }} as fit
        from unsettled_receipts as receipts
        cross join generate_series(0, {{ cfg.erp_clearing_days }}) as days_after (n)
        inner join clearing_documents
            on
                receipts.currency_code = clearing_documents.currency_code
                and clearing_documents.clearing_date = receipts.booking_date + days_after.n
                -- what settlement_fit needs unconverted (exact, or short by charges): checked in the join
                and receipts.amount <= clearing_documents.total
        left join fx as fx_receipt
            on
                receipts.currency_code = fx_receipt.currency_code
                and receipts.booking_date = fx_receipt.rate_date
        left join fx as fx_item
            on
                receipts.booking_date = fx_item.rate_date
                and clearing_documents.currency_code = fx_item.currency_code
    ) as erp_matches
    where erp_matches.fit is not null
),

settling as (
    -- every set a rule settles, from every stage of the ladder (search_fits ranks its sets: rank_sum)
    {%- set stages = [
        ('quote_fits', 'fit is not null'),
        ('search_fits', 'fit is not null'),
        ('single_fits', 'fit is not null'),
        ('partials', 'true'),
        ('erp_clearings', 'document_count = 1 and receipt_count = 1'),
    ] %}
    {%- for stage, condition in stages %}
        select
            payment_id,
            set_rule,
            priority,
            set_id,
            currency_code,
            item_ids,
            total,
            receipt_amount,
            fit,
            {{ 'rank_sum' if stage == 'search_fits' else '0 as rank_sum' }}
        from {{ stage }}
        where {{ condition }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

unique_per_priority as (
    -- a rule settles a receipt only with one answer. Some of the quoted items (priority 2: instalments of
    -- an invoice) are chosen: the ones the receipt meets best (exact before short by charges or FX), and of
    -- equal answers the ones due first; when several receipts of a day have the same best answers (equal
    -- instalments of one invoice paid by separate transfers), the k-th receipt in the bank's order (its
    -- reference) settles the k-th answer in due order, and a receipt beyond the last answer none
    select
        positioned.*,
        positioned.answers = 1
        or (
            positioned.priority = 2
            and positioned.quality = positioned.best_quality
            and positioned.choice = positioned.receipt_position
        ) as is_decisive
    from (
        select
            listed.*,
            dense_rank() over (
                partition by listed.booking_date, listed.priority, listed.best_answers
                order by listed.bank_reference, listed.payment_id
            ) as receipt_position
        from (
            select
                graded.*,
                array_agg(graded.set_id) filter (where graded.quality = graded.best_quality) over (
                    partition by graded.payment_id, graded.priority
                    order by graded.rank_sum, graded.set_id
                    rows between unbounded preceding and unbounded following
                ) as best_answers
            from (
                select
                    qualities.*,
                    count(*) over (partition by qualities.payment_id, qualities.priority) as answers,
                    min(qualities.quality) over (partition by qualities.payment_id, qualities.priority)
                        as best_quality,
                    row_number() over (
                        partition by qualities.payment_id, qualities.priority
                        order by qualities.quality, qualities.rank_sum, qualities.set_id
                    ) as choice
                from (
                    select
                        settling.*,
                        receipts.booking_date,
                        receipts.bank_reference,
                        case settling.fit when 'exact' then 1 else 2 end as quality
                    from settling
                    inner join receipts on settling.payment_id = receipts.payment_id
                ) as qualities
            ) as graded
        ) as listed
    ) as positioned
),

chosen as (
    select decisive.*
    from (
        select
            unique_per_priority.*,
            min(unique_per_priority.priority) filter (where unique_per_priority.is_decisive)
                over (partition by unique_per_priority.payment_id)
                as first_priority
        from unique_per_priority
    ) as decisive
    where decisive.is_decisive and decisive.priority = decisive.first_priority
),

chosen_items as materialized (
    -- the chosen sets' items, with the receipt's booking date (materialized: the item join below is by key
    -- only)
    select
        chosen.*,
        set_items.customer_item_id
    from chosen
    cross join lateral unnest(chosen.item_ids) as set_items (customer_item_id)
),

applied as (
    select
        chosen_items.payment_id,
        chosen_items.set_rule as applied_rule,
        chosen_items.fit,
        chosen_items.total,
        chosen_items.receipt_amount,
        candidates.customer_item_id,
        candidates.customer_id,
        candidates.group_id,
        candidates.invoice_id,
        candidates.currency_code,
        candidates.amount as open_amount,
        case
            when chosen_items.fit = 'partial' then chosen_items.receipt_amount
            else candidates.amount
        end as applied_amount
    from chosen_items
    inner join items as candidates on chosen_items.customer_item_id = candidates.customer_item_id
    where {{ cash_candidate('candidates', 'chosen_items') }}
),

final as (
    select
        applied.payment_id,
        applied.customer_item_id,
        applied.invoice_id,
        applied.customer_id,
        receipts.booking_date,
        applied.applied_amount,
        applied.currency_code,
        applied.open_amount - applied.applied_amount as residual_amount,
        case
            when
                applied.applied_rule in ('payer_amount', 'combined_payment')
                and (
                    min(applied.customer_id) over (partition by applied.payment_id)
                    <> max(applied.customer_id) over (partition by applied.payment_id)
                    or payer_customers.customer_id <> applied.customer_id
                )
                then 'group_payer'
            else applied.applied_rule
        end as match_rule,
        applied.fit as settlement,
        applied.total - applied.receipt_amount as difference_amount,
        receipts.returned_on,
        receipts.return_payment_id
    from applied
    inner join receipts on applied.payment_id = receipts.payment_id
    left join payer_customers on receipts.payer_account = payer_customers.payer_account
)

select
    final.*,
    case final.match_rule
        {%- for rule, value in conf.items() %}
            when '{{ rule }}' then {{ value }}
        {%- endfor %}
    end as confidence
from final
