-- Multipart uploads. A part's bytes are chunk files like an object's; completing an
-- upload moves the parts' chunk references to the new object in one transaction (no
-- bytes are copied). A chunk row is garbage once neither object_chunks nor part_chunks
-- references it.

CREATE TABLE multipart_uploads (
    id                   BIGSERIAL PRIMARY KEY,
    -- The opaque id clients see: random, unguessable.
    upload_id            TEXT NOT NULL,
    bucket_id            BIGINT NOT NULL REFERENCES buckets (id),
    key                  TEXT COLLATE "C" NOT NULL,
    -- Owner of the object to be (the initiator; the bucket owner for anonymous uploads).
    owner_id             BIGINT NOT NULL REFERENCES accounts (id),
    -- The account that started the upload; NULL for anonymous.
    initiator_id         BIGINT REFERENCES accounts (id),
    content_type         TEXT,
    content_encoding     TEXT,
    content_disposition  TEXT,
    content_language     TEXT,
    cache_control        TEXT,
    expires              TEXT,
    user_metadata        JSONB NOT NULL DEFAULT '[]',
    -- The object's ACL, given with CreateMultipartUpload.
    acl                  JSONB NOT NULL DEFAULT '[]',
    -- x-amz-checksum-algorithm of CreateMultipartUpload: every part must carry it.
    checksum_algorithm   TEXT,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT multipart_uploads_upload_id_key UNIQUE (upload_id)
);
-- ListMultipartUploads order: key, then initiation time.
CREATE INDEX multipart_uploads_listing_idx ON multipart_uploads (bucket_id, key, created_at, id);
CREATE INDEX multipart_uploads_age_idx ON multipart_uploads (created_at);

CREATE TABLE multipart_parts (
    upload_id       BIGINT NOT NULL REFERENCES multipart_uploads (id) ON DELETE CASCADE,
    part_number     INTEGER NOT NULL,
    size            BIGINT NOT NULL,
    -- Quoted MD5 of the part's bytes.
    etag            TEXT NOT NULL,
    -- Base64 x-amz-checksum-<algorithm> of the part, when the upload has an algorithm.
    checksum_value  TEXT,
    last_modified   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (upload_id, part_number),
    CONSTRAINT multipart_parts_number_check CHECK (part_number BETWEEN 1 AND 10000)
);

CREATE TABLE part_chunks (
    upload_id    BIGINT NOT NULL,
    part_number  INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    chunk_id     UUID NOT NULL REFERENCES chunks (id),
    PRIMARY KEY (upload_id, part_number, seq),
    FOREIGN KEY (upload_id, part_number)
        REFERENCES multipart_parts (upload_id, part_number) ON DELETE CASCADE
);
CREATE INDEX part_chunks_chunk_idx ON part_chunks (chunk_id);

-- The parts a completed multipart object was assembled from, for GetObject?partNumber,
-- HeadObject?partNumber and GetObjectAttributes. Objects written in one piece have none.
CREATE TABLE object_parts (
    object_id       BIGINT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    part_number     INTEGER NOT NULL,
    object_offset   BIGINT NOT NULL,
    size            BIGINT NOT NULL,
    checksum_value  TEXT,
    PRIMARY KEY (object_id, part_number)
);
