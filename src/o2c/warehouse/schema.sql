-- Landing zone and operations schema of the o2c warehouse. Idempotent: run at every start-up.
-- dbt owns staging, intermediate, marts and ops.type_contract_rejects (with its __checked_batches);
-- this file owns raw_* and the rest of ops.

create schema if not exists raw_erp;
create schema if not exists raw_logistics;
create schema if not exists raw_bank;
create schema if not exists raw_reference;
create schema if not exists ops;
create schema if not exists marts;
-- raw_erp.* and raw_logistics.* tables are created by o2c.loading.land as sources first deliver them;
-- raw_bank.* are created here (their layout is fixed), and o2c.loading.land adds its meta columns
-- (_row_hash, _version_id, ...) and the unique version index the first time a file lands

-- one row per batch: a (source, entity, data interval) and the window it reads; re-runs add to it
create table if not exists ops.load_batches (
    batch_id text primary key,
    source text not null,
    entity text not null,
    interval_start timestamptz,
    interval_end timestamptz,
    extracted_from timestamptz,
    extracted_to timestamptz,
    row_count bigint not null,
    loaded_at timestamptz not null default now(),
    detail jsonb not null default '{}'::jsonb
);

-- every run of a batch: what it read, how many versions were new, how many deletions it found; a file
-- batch (o2c.loading.land.land_batch: a bank file) has no window, so no extracted_from/extracted_to
create table if not exists ops.load_log (
    load_id bigint generated always as identity primary key,
    batch_id text not null,
    source text not null,
    entity text not null,
    extracted_from timestamptz,
    extracted_to timestamptz,
    is_backfill boolean not null,
    rows_read bigint not null,
    new_versions bigint not null,
    tombstones bigint not null,
    loaded_at timestamptz not null default now(),
    detail jsonb not null default '{}'::jsonb
);
create index if not exists load_log_batch_idx on ops.load_log (batch_id);
-- migrate a warehouse created when every batch had a window (checked first: no lock at every start-up)
do $$
begin
    if exists (
        select 1 from information_schema.columns
        where table_schema = 'ops' and table_name = 'load_log' and column_name = 'extracted_to'
            and is_nullable = 'NO'
    ) then
        alter table ops.load_log alter column extracted_to drop not null;
    end if;
end
$$;

-- the columns each source table had when last loaded: a dropped or retyped column stops that table
create table if not exists ops.source_columns (
    source text not null,
    entity text not null,
    column_name text not null,
    data_type text not null,
    first_seen_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    primary key (source, entity, column_name)
);

-- high-water mark of what each incremental extraction has read
create table if not exists ops.watermarks (
    source text not null,
    entity text not null,
    high_water timestamptz not null,
    updated_at timestamptz not null default now(),
    primary key (source, entity)
);

-- every bank file seen: loaded, duplicate or quarantined, with its reason and warnings; archived_as is
-- the immutable copy of its bytes (archive/bank/<sha256[:2]>/<sha256>), superseded_by the file that later
-- delivered a quarantined file's statements (a corrected re-delivery)
create table if not exists ops.bank_files (
    file_sha256 text primary key,
    file_name text not null,
    format text,
    status text not null check (status in ('loaded', 'quarantined')),
    reason text,
    warnings jsonb not null default '[]'::jsonb,
    statements integer not null default 0,
    entries integer not null default 0,
    credit_total numeric not null default 0,
    debit_total numeric not null default 0,
    batch_id text,
    first_seen_at timestamptz not null default now()
);
alter table ops.bank_files add column if not exists report_kind text;
alter table ops.bank_files add column if not exists archived_as text;
alter table ops.bank_files add column if not exists quarantined_as text;
alter table ops.bank_files add column if not exists last_tried_at timestamptz;
alter table ops.bank_files add column if not exists tries integer not null default 1;
alter table ops.bank_files add column if not exists superseded_by text;
alter table ops.bank_files add column if not exists statement_ids jsonb not null default '[]'::jsonb;
-- the files still held in quarantine, which each loaded file may supersede: a few rows among thousands
create index if not exists bank_files_held on ops.bank_files (file_sha256)
where status = 'quarantined' and superseded_by is null;

-- statement integrity across files, per account, as banks and SAP check it: a statement's opening
-- balance against the closing balance of the account's previous statement (balance_break), and the
-- statement numbers in between (sequence_gap). Recorded when a file lands (o2c.sources.bank.integrity);
-- resolved_at is set when a later file closes the gap (the missing statement arrives)
create table if not exists ops.bank_integrity_issues (
    issue_id bigint generated always as identity primary key,
    kind text not null check (kind in ('balance_break', 'sequence_gap')),
    account_id text not null,
    currency text not null,
    statement_key text not null,
    statement_id text not null,
    sequence_number text,
    statement_date date,
    previous_statement_key text not null,
    previous_statement_id text not null,
    previous_sequence_number text,
    previous_date date,
    expected_opening numeric,
    stated_opening numeric,
    difference numeric,
    missing_sequences text,
    message text not null,
    file_sha256 text not null,
    file_name text not null,
    detected_at timestamptz not null default now(),
    resolved_at timestamptz,
    resolved_by_file text,
    unique (statement_key, previous_statement_key, kind)
);

-- bank statements, intraday reports and notifications (report_kind) and their entries, landed per file
-- through o2c.loading.land.land_batch. statement_key is a report's identity whatever file it came in: md5
-- of account, statement id, sequence, opening date and balance, closing date and balance, entry count
-- (+ report kind and creation time for intraday reports and notifications; o2c.sources.bank.ingest.
-- statement_key); raw_bank.entries holds one row per payment (tx_seq) of each entry (entry_seq): a batch
-- booking's transaction details, or the entry itself; a row's _version_id is its key, so a report landed
-- from another file before adds nothing.
create table if not exists raw_bank.statements (
    _batch_id text not null,
    _loaded_at timestamptz not null,
    _source text not null,
    statement_key text not null,
    file_sha256 text not null,
    file_format text not null,
    file_version text,
    statement_seq integer not null,
    statement_id text not null,
    sequence_number text,
    account_id text not null,
    currency text not null,
    opening_balance numeric,
    opening_date date,
    closing_balance numeric,
    closing_date date,
    entry_count integer not null
);

create table if not exists raw_bank.entries (
    _batch_id text not null,
    _loaded_at timestamptz not null,
    _source text not null,
    statement_key text not null,
    file_sha256 text not null,
    statement_seq integer not null,
    statement_id text not null,
    account_id text not null,
    entry_seq integer not null,
    booking_date date not null,
    value_date date,
    amount numeric not null,
    currency text not null,
    direction text not null,
    is_reversal boolean not null,
    bank_reference text,
    customer_reference text,
    counterparty_name text,
    counterparty_account text,
    remittance_info text,
    transaction_code text
);

-- migrate a warehouse whose bank rows landed before statement keys: key them the way
-- o2c.sources.bank.ingest.statement_key does (numbers without trailing zeros, ISO dates, '' for null),
-- so that landing (which then gives them their _version_id) treats them as any landed statement
do $$
begin
    if not exists (
        select 1 from information_schema.columns
        where table_schema = 'raw_bank' and table_name = 'statements' and column_name = 'statement_key'
    ) then
        alter table raw_bank.statements add column statement_key text;
        alter table raw_bank.entries add column statement_key text;
        update raw_bank.statements set statement_key = md5(concat_ws(chr(31),
            account_id,
            statement_id,
            coalesce(sequence_number, ''),
            coalesce(to_char(opening_date, 'YYYY-MM-DD'), ''),
            coalesce(trim_scale(opening_balance)::text, ''),
            coalesce(to_char(closing_date, 'YYYY-MM-DD'), ''),
            coalesce(trim_scale(closing_balance)::text, ''),
            entry_count::text
        ));
        update raw_bank.entries as e set statement_key = s.statement_key
        from raw_bank.statements as s
        where s.file_sha256 = e.file_sha256 and s.statement_seq = e.statement_seq;
        alter table raw_bank.statements alter column statement_key set not null;
        alter table raw_bank.entries alter column statement_key set not null;
    end if;
end
$$;

create index if not exists entries_batch_idx on raw_bank.entries (_batch_id);

alter table raw_bank.statements add column if not exists report_kind text not null default 'statement';
alter table raw_bank.statements add column if not exists message_id text;
alter table raw_bank.statements add column if not exists created_at timestamptz;
alter table raw_bank.statements add column if not exists legal_sequence text;
alter table raw_bank.statements add column if not exists account_bic text;
alter table raw_bank.statements add column if not exists credit_count integer;
alter table raw_bank.statements add column if not exists debit_count integer;
alter table raw_bank.statements add column if not exists credit_total numeric;
alter table raw_bank.statements add column if not exists debit_total numeric;
-- one row per payment of an entry: rows landed before (one per entry) are its payment 1, their identity
-- (_version_id, the key's md5) recomputed with it, so that the same file landed again adds nothing
do $$
begin
    if not exists (
        select 1 from information_schema.columns
        where table_schema = 'raw_bank' and table_name = 'entries' and column_name = 'tx_seq'
    ) then
        alter table raw_bank.entries add column tx_seq integer not null default 1;
        if exists (
            select 1 from information_schema.columns
            where table_schema = 'raw_bank' and table_name = 'entries' and column_name = '_version_id'
        ) then
            update raw_bank.entries
            set _version_id = md5(concat_ws(chr(31), statement_key, entry_seq::text, tx_seq::text));
        end if;
    end if;
end
$$;
alter table raw_bank.entries add column if not exists entry_reference text;
alter table raw_bank.entries add column if not exists domain_code text;
alter table raw_bank.entries add column if not exists family_code text;
alter table raw_bank.entries add column if not exists sub_family_code text;
alter table raw_bank.entries add column if not exists proprietary_code text;
alter table raw_bank.entries add column if not exists entry_charges numeric;
alter table raw_bank.entries add column if not exists batch_count integer;
alter table raw_bank.entries add column if not exists entry_info text;
alter table raw_bank.entries add column if not exists tx_count integer not null default 1;
alter table raw_bank.entries add column if not exists tx_amount numeric;
alter table raw_bank.entries add column if not exists tx_direction text;
alter table raw_bank.entries add column if not exists end_to_end_id text;
alter table raw_bank.entries add column if not exists instruction_id text;
alter table raw_bank.entries add column if not exists transaction_id text;
alter table raw_bank.entries add column if not exists mandate_id text;
alter table raw_bank.entries add column if not exists tx_bank_reference text;
alter table raw_bank.entries add column if not exists remittance_unstructured text;
alter table raw_bank.entries add column if not exists creditor_reference text;
alter table raw_bank.entries add column if not exists creditor_reference_type text;
alter table raw_bank.entries add column if not exists referred_documents text;
alter table raw_bank.entries add column if not exists tx_counterparty_name text;
alter table raw_bank.entries add column if not exists tx_counterparty_account text;
alter table raw_bank.entries add column if not exists counterparty_bic text;
alter table raw_bank.entries add column if not exists ultimate_debtor text;
alter table raw_bank.entries add column if not exists ultimate_creditor text;
alter table raw_bank.entries add column if not exists tx_domain_code text;
alter table raw_bank.entries add column if not exists tx_family_code text;
alter table raw_bank.entries add column if not exists tx_sub_family_code text;
alter table raw_bank.entries add column if not exists tx_proprietary_code text;
alter table raw_bank.entries add column if not exists charges numeric;
alter table raw_bank.entries add column if not exists charge_bearer text;
alter table raw_bank.entries add column if not exists instructed_amount numeric;
alter table raw_bank.entries add column if not exists instructed_currency text;
alter table raw_bank.entries add column if not exists exchange_rate numeric;
alter table raw_bank.entries add column if not exists return_reason text;
alter table raw_bank.entries add column if not exists tx_info text;
alter table raw_bank.entries add column if not exists report_kind text not null default 'statement';

create index if not exists statements_batch_idx on raw_bank.statements (_batch_id);

-- data-quality check runs and abnormal-order observations (the exception lifecycle is derived)
create table if not exists ops.check_runs (
    as_of_date date primary key,
    run_id text not null,
    checked_at timestamptz not null,
    success boolean not null,
    results jsonb not null
);

create table if not exists ops.exception_observations (
    as_of_date date not null,
    rule_id text not null,
    entity_key text not null,
    order_id text,
    customer_id text,
    invoice_id text,
    owner_rep_id text,
    severity text not null,
    measure numeric,
    detail_en text,
    detail_zh text,
    detail jsonb not null default '{}'::jsonb,
    primary key (as_of_date, rule_id, entity_key)
);

-- the rule catalog as last run (names, explanations, thresholds), for BI and the exceptions mart
create table if not exists ops.rule_catalog (
    rule_id text primary key,
    name_en text not null,
    name_zh text not null,
    explanation_en text not null,
    explanation_zh text not null,
    severity text not null,
    owner text not null,
    measure_unit text,
    thresholds jsonb not null default '{}'::jsonb,
    updated_at timestamptz not null default now()
);

-- every alert sent (or attempted): the key makes a re-run send nothing twice
create table if not exists ops.alert_log (
    alert_key text primary key,
    as_of_date date not null,
    recipient text not null,
    channel text not null,
    rule_ids text[] not null,
    exception_count integer not null,
    subject text not null,
    outbox_file text,
    status text not null check (status in ('sent', 'failed', 'outbox_only')),
    error text,
    attempts integer not null default 1,
    sent_at timestamptz not null default now()
);

-- which exceptions each alert included: a (rep, rule, entity) once alerted is not "new" in later digests
create table if not exists ops.alert_items (
    alert_key text not null references ops.alert_log (alert_key) on delete cascade,
    rep_id text not null,
    rule_id text not null,
    entity_key text not null,
    exception_id text not null,
    severity text not null,
    is_new boolean not null,
    primary key (alert_key, exception_id)
);
create index if not exists alert_items_rep_idx on ops.alert_items (rep_id, rule_id, entity_key);

-- Write-audit-publish of the marts (o2c.transform.publish): one row per published mart, upserted by each
-- publish. kind 'table' is rebuilt by every build and swapped in; kind 'incremental' keeps a shadow copy
-- (shadow_relation, with this OID) equal to the live table, whose touched keys each build records.
create table if not exists ops.published_marts (
    relation text primary key,
    shadow_relation text not null,
    kind text not null check (kind in ('table', 'incremental')),
    unique_key text[] not null default '{}',
    shadow_oid oid,
    tracked boolean not null default false,
    as_of_date date not null,
    published_at timestamptz not null default now()
);

-- Statement triggers on a shadow copy of an incremental mart call this: it records the unique keys of the
-- rows each statement inserted, deleted or updated into the keys table TG_ARGV[0] (columns TG_ARGV[1]).
-- A TRUNCATE cannot be described by keys: the copy is marked untracked and the next publish swaps it whole.
create or replace function ops.publish_track_touched_keys() returns trigger
language plpgsql as $$
begin
    if tg_op = 'TRUNCATE' then
        update ops.published_marts set tracked = false
        where shadow_relation = tg_table_schema || '.' || tg_table_name;
        return null;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        execute format('insert into %s select %s from touched_new on conflict do nothing', tg_argv[0], tg_argv[1]);
    end if;
    if tg_op in ('DELETE', 'UPDATE') then
        execute format('insert into %s select %s from touched_old on conflict do nothing', tg_argv[0], tg_argv[1]);
    end if;
    return null;
end
$$;

-- Every pipeline task failure told to the data team (o2c.alerts.data_team); key dag:run:task:try.
create table if not exists ops.pipeline_failure_alerts (
    alert_key text primary key,
    dag_id text not null,
    run_id text not null,
    task_id text not null,
    try_number integer not null,
    as_of_date date,
    error text not null,
    failing_nodes jsonb not null default '[]'::jsonb,
    log_location text,
    recipient text,
    subject text not null,
    outbox_file text,
    status text not null check (status in ('sent', 'failed', 'outbox_only')),
    send_error text,
    attempts integer not null default 0,
    alerted_at timestamptz not null default now()
);

-- Reference calendar (o2c.sources.reference.holidays, refreshed before every dbt build from the maintained
-- `holidays` library): China's days off ('holiday') and weekend days worked ('working_day'); dim_dates reads it.
create table if not exists raw_reference.public_holidays (
    country_code text not null,
    holiday_date date not null,
    kind text not null check (kind in ('holiday', 'working_day')),
    name text not null,
    source text not null,
    loaded_at timestamptz not null default now(),
    primary key (country_code, holiday_date, kind)
);
