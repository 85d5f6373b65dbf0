{#- Test-only publish gate: returns a row (fails) when the run sets var o2c_fail_publish_gate, so the
    write-audit-publish tests can fail a build on demand after the marts were built in the shadow schema.
    Production runs never set it; it then returns nothing. -#}
-- depends_on: {{ ref('fct_receivables_daily') }}
select 'o2c_fail_publish_gate is set: failing this build on purpose' as reason
where {{ 'true' if var('o2c_fail_publish_gate', false) else 'false' }}
