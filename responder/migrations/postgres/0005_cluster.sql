-- Several Vigils on one PostgreSQL: who is running (members heartbeat), who leads (a lease one member holds
-- at a time; singleton work such as the scheduled health-check rounds runs on the leader only), and the
-- secrets every replica must share (the link-signing key).
create table cluster_members (
    id text primary key,
    addr text not null,
    started_at_ms bigint not null,
    last_heartbeat_ms bigint not null,
    targets bigint not null
);

create table cluster_leases (
    name text primary key,
    holder text not null,
    lease_until_ms bigint not null,
    acquired_at_ms bigint not null
);

create table shared_secrets (
    name text primary key,
    value text not null,
    created_at_ms bigint not null
);
