-- Durable storage: volumes as first-class rows, several verified copies of every chunk,
-- and the queues that keep them (repairs, upload intents, deferred deletions).

-- A volume is a directory holding chunk files, named by the uuid in its `volume.id`.
-- Its failure domain is its label when the operator gave one, otherwise the block
-- device it lives on: two volumes in one domain fail together, so copies of one chunk
-- go to distinct domains whenever there are enough.
CREATE TABLE volumes (
    id              UUID PRIMARY KEY,
    path            TEXT NOT NULL,
    -- st_dev of the directory, "major:minor".
    device          TEXT NOT NULL DEFAULT '',
    label           TEXT,
    failure_domain  TEXT GENERATED ALWAYS AS (COALESCE('label:' || label, 'device:' || device)) STORED,
    state           TEXT NOT NULL DEFAULT 'active',
    -- Why the volume is in its state (the error that made it offline or failed).
    state_reason    TEXT,
    capacity_bytes  BIGINT NOT NULL DEFAULT 0,
    free_bytes      BIGINT NOT NULL DEFAULT 0,
    added_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT volumes_state_check
        CHECK (state IN ('active', 'full', 'draining', 'offline', 'failed')),
    CONSTRAINT volumes_path_key UNIQUE (path)
);

-- Volumes that already hold chunks (one copy each, from before this migration) are
-- known only by id; `coffer serve` fills in their path when it opens them.
INSERT INTO volumes (id, path, state, state_reason)
SELECT DISTINCT volume_id, 'unknown:' || volume_id::text, 'offline', 'registered by migration'
FROM chunk_replicas;

-- A chunk's bytes are checked in blocks: one CRC32C (4 bytes, big-endian) per
-- `block_size` bytes, so a read verifies every block before sending it. Chunks from
-- before this migration are one block.
ALTER TABLE chunks ADD COLUMN block_size INTEGER;
ALTER TABLE chunks ADD COLUMN block_crcs BYTEA;
UPDATE chunks SET block_size = GREATEST(size, 1)::integer,
                  block_crcs = int4send((crc32c - CASE WHEN crc32c >= 2147483648 THEN 4294967296 ELSE 0 END)::integer);
ALTER TABLE chunks ALTER COLUMN block_size SET NOT NULL;
ALTER TABLE chunks ALTER COLUMN block_crcs SET NOT NULL;

-- One row per copy. `ok` copies are served and counted; `corrupt` (a block failed its
-- CRC) and `missing` (no file) ones wait for repair to replace them.
ALTER TABLE chunk_replicas ADD COLUMN state TEXT NOT NULL DEFAULT 'ok';
ALTER TABLE chunk_replicas ADD COLUMN verified_at TIMESTAMPTZ NOT NULL DEFAULT now();
ALTER TABLE chunk_replicas ADD CONSTRAINT chunk_replicas_state_check
    CHECK (state IN ('ok', 'corrupt', 'missing'));
-- A volume cannot be removed while it holds copies.
ALTER TABLE chunk_replicas ADD CONSTRAINT chunk_replicas_volume_fkey
    FOREIGN KEY (volume_id) REFERENCES volumes (id);
-- The deep scrub walks each volume's copies oldest-verified first.
CREATE INDEX chunk_replicas_scrub_idx ON chunk_replicas (volume_id, verified_at);

-- Chunks with fewer good copies than wanted. Claimed with leases (`not_before` moves
-- forward when a worker takes a row), so any number of processes can work the queue and
-- a crashed worker's rows come back. Fewest copies first.
CREATE TABLE chunk_repairs (
    chunk_id    UUID PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
    reason      TEXT NOT NULL,
    -- Good copies left when queued (0 = none: lost unless one comes back); drains
    -- queue above the replica count, so they come last.
    priority    INTEGER NOT NULL,
    not_before  TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    queued_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX chunk_repairs_due_idx ON chunk_repairs (priority, not_before);

-- A chunk file being written: inserted before the file is created, deleted by the
-- transaction that records the copy (or by whoever removes the file). A file with
-- neither a replica row nor an intent is garbage. Writers extend `expires_at` while
-- they live; an expired intent is garbage too.
CREATE TABLE chunk_intents (
    chunk_id    UUID NOT NULL,
    volume_id   UUID NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chunk_id, volume_id)
);
CREATE INDEX chunk_intents_expiry_idx ON chunk_intents (expires_at);

-- Copies of released chunks, unlinked once `--delete-delay` has passed since
-- `released_at`, so that GETs already streaming a deleted or overwritten object finish.
CREATE TABLE chunk_deletions (
    chunk_id     UUID NOT NULL,
    volume_id    UUID NOT NULL,
    released_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chunk_id, volume_id)
);
CREATE INDEX chunk_deletions_due_idx ON chunk_deletions (released_at);

-- Settings every process reads at run time (repair and scrub rates), changed with
-- `coffer admin`.
CREATE TABLE storage_settings (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);
