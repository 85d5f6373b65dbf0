-- BI access (o2c.bi): the registry of BI roles and the function the marts' row-level security policies
-- call. Idempotent: run by `o2c bi ...` and before every publish (o2c.transform.publish).

-- one row per role `o2c bi grant` created; regions null = every row. No password: PostgreSQL keeps only
-- the role's SCRAM verifier (pg_authid), computed on the client
create table if not exists ops.bi_roles (
    role_name text primary key,
    regions text[],
    created_at timestamptz not null default now(),
    password_rotated_at timestamptz not null default now()
);

-- A schema of its own for the function, readable by every role: the policies call it with the querying
-- role's privileges, and any reader of the marts (not only o2c's BI roles) must be able to evaluate them.
-- It holds nothing else, so USAGE on it exposes no data (unlike ops, whose future functions PUBLIC could
-- execute).
create schema if not exists bi_access;
revoke all on schema bi_access from public;
grant usage on schema bi_access to public;

-- The regions role_name may see: null = every row (a BI role without --region, or any role o2c did not
-- create). Asked about a role the caller is not a member of, it says nothing: '{}'. SECURITY DEFINER (the
-- warehouse owner) so that BI roles need no access to ops; search_path pinned against hijacking.
create or replace function bi_access.allowed_regions(role_name name) returns text[]
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    registered record;
begin
    select bi_roles.regions into registered
    from ops.bi_roles where bi_roles.role_name = allowed_regions.role_name::text;
    if not found or registered.regions is null then
        return null;
    end if;
    if session_user <> allowed_regions.role_name
        and not pg_has_role(session_user, allowed_regions.role_name, 'member') then
        return '{}';
    end if;
    return registered.regions;
end
$$;
revoke all on function bi_access.allowed_regions(name) from public;
grant execute on function bi_access.allowed_regions(name) to public;
comment on function bi_access.allowed_regions(name) is
    'o2c BI access: the regions a role may see in marts with a region column (null: every row)';
