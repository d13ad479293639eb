-- Responder II: the append-only pause audit log (hash-chained) and health-check runs.
-- seq is assigned by the writer (last seq + 1) so two concurrent appenders collide on the primary key
-- instead of forking the hash chain.
create table pause_audit (
    seq bigint primary key,
    at_ms bigint not null,
    actor text not null,
    role text not null,
    action text not null,
    module text not null,
    reason text not null,
    incident_id text,
    detail text not null,
    prev_hash text not null,
    hash text not null
);
create index pause_audit_module on pause_audit (module, seq);

create table healthcheck_runs (
    id bigint generated always as identity primary key,
    suite text not null,
    started_at_ms bigint not null,
    finished_at_ms bigint not null,
    ok boolean not null,
    results text not null,
    digest text not null
);
create index healthcheck_runs_suite on healthcheck_runs (suite, id);
