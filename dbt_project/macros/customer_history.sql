{#- int_customer_history: a tracked field's value on a segment (alias version_states, CTE field_changes): the value before the first change document of the field dated after
    the segment's start and within the landed version (a version o2c read after changes it never saw as
    versions: a first load, several changes in one night), else the version's own value. -#}
{% macro customer_field_value(table, field, column, version_to) -%}
    case
        when exists (
            select 1 from field_changes as changes
            where
                changes.customer_id = version_states.customer_id
                and changes.table_name = '{{ table }}' and changes.field_name = '{{ field }}'
                and changes.change_date > version_states.valid_from_date
                and changes.change_date < version_states.{{ version_to }}
        ) then (
            select changes.value_old from field_changes as changes
            where
                changes.customer_id = version_states.customer_id
                and changes.table_name = '{{ table }}' and changes.field_name = '{{ field }}'
                and changes.change_date > version_states.valid_from_date
                and changes.change_date < version_states.{{ version_to }}
            order by changes.change_date asc, changes.changed_at asc, changes.change_number asc
            limit 1
        )
        else version_states.{{ column }}
    end
{%- endmacro %}
