-- Status-page subscriptions: one row per (kind, address). Confirm and unsubscribe links are HMAC-signed
-- (see responder::status), so no token is stored; `generation` counts confirmation requests so that an
-- old confirm link (for an older choice of components) stops working when a newer one is sent.
create table status_subscriptions (
    id text primary key,
    kind text not null check (kind in ('email', 'webhook')),
    address text not null,
    -- JSON array of component ids; [] means every component.
    components text not null,
    -- The components asked for by the latest request, applied when it is confirmed.
    requested_components text not null,
    state text not null check (state in ('pending', 'confirmed', 'unsubscribed')),
    generation bigint not null,
    created_at_ms bigint not null,
    confirm_sent_at_ms bigint not null,
    confirmed_at_ms bigint,
    unsubscribed_at_ms bigint,
    version bigint not null default 0
);
create unique index status_subscriptions_address on status_subscriptions (kind, address);
create index status_subscriptions_state on status_subscriptions (state);

-- The outbox backlog (pending and dead-lettered pages) is read at every metrics scrape.
create index pages_state_created on pages (state, created_at_ms);
