{#- Planner settings.

    Every dbt session of o2c runs with nested loops off (`PGOPTIONS=-c enable_nestloop=off`, set by
    o2c.transform.build.dbt_env): the staging views over the versioned raw tables validate each text column
    with a regular expression before casting it, and PostgreSQL estimates such filters at a handful of rows.
    Joining two of them it then picks a nested loop that really compares tens of thousands of rows with tens
    of thousands (measured on the 36-month demo: int_credit_exposure_spans 143 million join-filter rows, 30 s
    instead of 3 s; fct_orders 105 s instead of 9 s; a totals test 70 s instead of 1 s). Which model is hit
    changes with the data volume, so the setting is for the whole build, tests included (a data test has no
    hooks).

    with_nested_loops(): a pre_hook for a model whose plan needs them, turned back on for its transaction
    (`set local`): fct_receivables_daily reads the rows of a few dates through its unique index (4 s a night
    with nested loops, 11 s without). -#}
{% macro with_nested_loops() -%}
    set local enable_nestloop = on
{%- endmacro %}

{#- analyze_built_table(): a post-hook of every model (dbt_project.yml): ANALYZE the table or incremental
    table just built, so the models after it in the same run are planned on its real size and values. A new
    table has no statistics until autovacuum analyzes it (its naptime is a minute), and on a first load the
    next models run before that. A planner without statistics takes a table for a page's worth of rows and
    joins it by nested loops: on raw tables it made a clean clone's first load spend 15 minutes in
    fct_receivables_daily instead of 20 s (the raw tables are analyzed as they land,
    o2c.loading.land._analyze_if_grown). Views have nothing to analyze. -#}
{% macro analyze_built_table() -%}
    {%- if config.get('materialized') in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
