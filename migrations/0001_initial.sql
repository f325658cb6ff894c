-- Coffer metadata schema. Object data lives in chunk files on volumes; this schema
-- says which chunks make up which object and who owns what.

CREATE TABLE accounts (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL,
    -- 64 hex chars, the id S3 reports for owners and grantees.
    canonical_id  TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    email         TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT accounts_name_key UNIQUE (name),
    CONSTRAINT accounts_canonical_id_key UNIQUE (canonical_id),
    CONSTRAINT accounts_email_key UNIQUE (email)
);

CREATE TABLE access_keys (
    access_key        TEXT PRIMARY KEY,
    account_id        BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- ChaCha20-Poly1305 ciphertext of the secret key under the master key (not stored here).
    secret_ciphertext BYTEA NOT NULL,
    secret_nonce      BYTEA NOT NULL,
    revoked_at        TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX access_keys_account_idx ON access_keys (account_id);

CREATE TABLE buckets (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    owner_id    BIGINT NOT NULL REFERENCES accounts (id),
    region      TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT buckets_name_key UNIQUE (name)
);
CREATE INDEX buckets_owner_idx ON buckets (owner_id);

-- One row per stored chunk file. A chunk may be referenced by several objects
-- (copies, later); it is garbage once nothing in object_chunks references it.
CREATE TABLE chunks (
    id          UUID PRIMARY KEY,
    size        BIGINT NOT NULL,
    -- CRC32C of the chunk's bytes, checked on read and by the scrubber.
    crc32c      BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Where each chunk's copies are. A volume is identified by the uuid in its volume.id file.
CREATE TABLE chunk_replicas (
    chunk_id    UUID NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
    volume_id   UUID NOT NULL,
    PRIMARY KEY (chunk_id, volume_id)
);

CREATE TABLE objects (
    id                   BIGSERIAL PRIMARY KEY,
    bucket_id            BIGINT NOT NULL REFERENCES buckets (id),
    -- Byte order ("C" collation) is S3's listing order for UTF-8 keys.
    key                  TEXT COLLATE "C" NOT NULL,
    size                 BIGINT NOT NULL,
    etag                 TEXT NOT NULL,
    owner_id             BIGINT NOT NULL REFERENCES accounts (id),
    content_type         TEXT,
    content_encoding     TEXT,
    content_disposition  TEXT,
    content_language     TEXT,
    cache_control        TEXT,
    expires              TEXT,
    -- Ordered list of [name, value] pairs of x-amz-meta-* (names lowercased, without the prefix).
    user_metadata        JSONB NOT NULL DEFAULT '[]',
    -- Additional checksum (x-amz-checksum-*), when the client sent one.
    checksum_algorithm   TEXT,
    checksum_value       TEXT,
    -- Small objects are kept here instead of in chunk files.
    inline_data          BYTEA,
    last_modified        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT objects_bucket_key_key UNIQUE (bucket_id, key)
);

CREATE TABLE object_chunks (
    object_id    BIGINT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    -- Offset of this chunk's first byte within the object.
    object_offset BIGINT NOT NULL,
    chunk_id     UUID NOT NULL REFERENCES chunks (id),
    PRIMARY KEY (object_id, seq)
);
CREATE INDEX object_chunks_chunk_idx ON object_chunks (chunk_id);
