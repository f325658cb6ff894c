-- Object versioning (host/src/store/objects.rs, store/object_write.rs, store/versions.rs).
--
-- A bucket's versioning state: NULL (never enabled), 'Enabled' or 'Suspended'; S3 never
-- lets a bucket go back to NULL.
ALTER TABLE buckets ADD COLUMN versioning TEXT
    CONSTRAINT buckets_versioning_check CHECK (versioning IN ('Enabled', 'Suspended'));

-- Every version of a key is an `objects` row. `version_id` is NULL for S3's "null"
-- version (the only version an unversioned bucket has, and what a suspended bucket
-- writes); otherwise the row id in 16 hex digits followed by 16 random hex digits, so a
-- version id names its row (a lookup by primary key) and version ids of one key sort
-- like their rows: a larger id is a newer version. `is_latest` marks the current version
-- of its key (at most one per key, `objects_latest_key`); `delete_marker` marks a
-- version that says "deleted" (no data, no ACL of its own).
ALTER TABLE objects
    ADD COLUMN version_id    TEXT,
    ADD COLUMN is_latest     BOOLEAN NOT NULL DEFAULT true,
    ADD COLUMN delete_marker BOOLEAN NOT NULL DEFAULT false;

ALTER TABLE objects DROP CONSTRAINT objects_bucket_key_key;
-- The current version of each key: GET without versionId, and ListObjects (which skips
-- the keys whose current version is a delete marker).
CREATE UNIQUE INDEX objects_latest_key ON objects (bucket_id, key) WHERE is_latest;
-- All versions of a key, newest first: ListObjectVersions, the null version's lookup,
-- and promoting the next version when the current one is deleted.
CREATE INDEX objects_versions_idx ON objects (bucket_id, key, id DESC);
