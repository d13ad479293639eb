-- Chain watching: the last block each chain's watcher processed (its number and hash, and the recent
-- blocks with the alerts they raised, as JSON), so a restart resumes there and each log is an alert once.
create table chain_checkpoints (
    chain text primary key,
    block bigint not null,
    hash text not null,
    state text not null,
    updated_at_ms bigint not null
);
