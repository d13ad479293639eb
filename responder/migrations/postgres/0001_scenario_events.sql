-- Starts and stops of the embedded core's fault scenarios: the store's first use.
create table scenario_events (
    id bigint generated always as identity primary key,
    scenario text not null,
    action text not null check (action in ('start', 'stop')),
    actor text not null,
    changed boolean not null,
    params text not null default '{}',
    at_ms bigint not null
);
create index scenario_events_at on scenario_events (at_ms);
