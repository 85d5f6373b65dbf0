"""The exception lifecycle: observations per as-of date → ``marts.fct_order_exceptions``.

An exception is one (rule, entity). Its first/last seen dates are the first and last as-of dates a check
run flagged it; it is ``open`` while the latest checked date flags it and ``resolved`` once a later run no
longer does. Rebuilt whole in the same transaction that stores a run's observations, so it is never half
written and re-running a date changes nothing.

Not every exception is about a customer: the finance rules' (unapplied cash, bank statement breaks) have
no order, invoice, customer or owning rep, and those columns are null. ``rule_owner`` (the rule's owner in
the catalog: ``sales_rep`` or ``finance``) says whose digest an exception goes to.
"""

from __future__ import annotations

import psycopg

REBUILD = """
drop table if exists marts.fct_order_exceptions__next;
create table marts.fct_order_exceptions__next as
with
latest_run as (select max(as_of_date) as as_of_date from ops.check_runs),
spans as (
    select rule_id, entity_key,
        min(as_of_date) as first_seen_date,
        max(as_of_date) as last_seen_date
    from ops.exception_observations
    group by rule_id, entity_key
),
last_observation as (
    select distinct on (rule_id, entity_key) *
    from ops.exception_observations
    order by rule_id, entity_key, as_of_date desc
)
select
    md5(spans.rule_id || ':' || spans.entity_key) as exception_id,
    spans.rule_id,
    catalog.name_en as rule_name_en,
    catalog.name_zh as rule_name_zh,
    last_observation.severity,
    spans.entity_key,
    last_observation.order_id,
    last_observation.invoice_id,
    last_observation.customer_id,
    customers.customer_name,
    customers.customer_name_zh,
    last_observation.owner_rep_id,
    catalog.owner as rule_owner,
    spans.first_seen_date,
    spans.last_seen_date,
    case when spans.last_seen_date >= latest_run.as_of_date then 'open' else 'resolved' end as status,
    last_observation.measure,
    catalog.measure_unit,
    last_observation.detail_en,
    last_observation.detail_zh
from spans
inner join last_observation using (rule_id, entity_key)
cross join latest_run
left join ops.rule_catalog as catalog on spans.rule_id = catalog.rule_id
left join lateral (
    -- the customer's latest version (dim_customers is SCD2; a deleted customer has no current one)
    select versions.customer_name, versions.customer_name_zh
    from marts.dim_customers as versions
    where versions.customer_id = last_observation.customer_id
    order by versions.valid_from desc
    limit 1
) as customers on true;
alter table marts.fct_order_exceptions__next add primary key (exception_id);
drop table if exists marts.fct_order_exceptions;
alter table marts.fct_order_exceptions__next rename to fct_order_exceptions;
alter index marts.fct_order_exceptions__next_pkey rename to fct_order_exceptions_pkey;
comment on table marts.fct_order_exceptions is
    'Grain: one row per abnormal-order exception (rule, entity) with first/last seen dates and status; '
    'rule_owner says whose digest it goes to (sales_rep: owner_rep_id; finance: the finance team).';
"""


def rebuild_exceptions(conn: psycopg.Connection) -> None:
    """Rebuild ``marts.fct_order_exceptions`` (call inside the transaction that wrote observations)."""
    conn.execute(REBUILD)
