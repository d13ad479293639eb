-- Incidents, their timeline, the paging outbox, silences and heartbeats.
-- Times are Unix milliseconds; JSON values are stored as text so both backends read them the same way.
create table incidents (
    id text primary key,
    dedup_key text not null,
    title text not null,
    level text not null check (level in ('L1', 'L2', 'L3', 'L4')),
    state text not null check (state in ('triggered', 'acknowledged', 'resolved')),
    component text not null,
    category text not null,
    source text not null,
    summary text not null,
    runbook text,
    commander text,
    assignees text not null default '[]',
    labels text not null default '{}',
    public_status text,
    opened_at_ms bigint not null,
    acked_at_ms bigint,
    acked_by text,
    resolved_at_ms bigint,
    last_signal_at_ms bigint not null,
    clear_since_ms bigint,
    active_sources text not null default '[]',
    signal_count bigint not null default 0,
    esc_level text not null,
    esc_step bigint not null default 0,
    esc_round bigint not null default 0,
    next_escalation_at_ms bigint,
    suppressed text,
    paged_channels text not null default '[]',
    version bigint not null default 0
);
-- One open incident per problem: the dedup key is unique among incidents that are not resolved.
create unique index incidents_open_dedup_key on incidents (dedup_key) where state <> 'resolved';
create index incidents_opened_at on incidents (opened_at_ms);
create index incidents_due on incidents (state, next_escalation_at_ms);

create table incident_timeline (
    id integer primary key autoincrement,
    incident_id text not null references incidents (id),
    at_ms bigint not null,
    kind text not null,
    actor text not null,
    text text not null
);
create index incident_timeline_incident on incident_timeline (incident_id, id);

create table pages (
    id integer primary key autoincrement,
    idempotency_key text not null unique,
    incident_id text references incidents (id),
    channel text not null,
    action text not null,
    step text not null,
    payload text not null,
    state text not null check (state in ('pending', 'sent', 'failed')),
    attempts bigint not null default 0,
    last_error text,
    next_attempt_at_ms bigint not null,
    lease_until_ms bigint,
    claim_token text,
    created_at_ms bigint not null,
    sent_at_ms bigint,
    fallback_done boolean not null default false
);
create index pages_due on pages (channel, state, next_attempt_at_ms);
create index pages_incident on pages (incident_id);

create table silences (
    id integer primary key autoincrement,
    matchers text not null,
    comment text not null,
    created_by text not null,
    starts_at_ms bigint not null,
    ends_at_ms bigint not null,
    created_at_ms bigint not null
);

create table heartbeats (
    name text primary key,
    last_seen_ms bigint not null
);
