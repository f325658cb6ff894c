-- Tagging, object lock and lifecycle (issue 13).
--
-- Tags: a JSON list of {"key", "value"} (host/src/tags.rs), in the order given. Object
-- tags belong to a version; an upload keeps the tags its object will get. A bucket's
-- NULL tags mean "no tag set" (GetBucketTagging: NoSuchTagSet), which is not the same
-- as an empty one.
ALTER TABLE objects ADD COLUMN tags JSONB NOT NULL DEFAULT '[]';
ALTER TABLE multipart_uploads ADD COLUMN tags JSONB NOT NULL DEFAULT '[]';
ALTER TABLE buckets ADD COLUMN tags JSONB;

-- Object lock. A bucket created with it (or given it by PutObjectLockConfiguration) keeps
-- it for good; `object_lock` is its configuration (default retention, JSON of
-- s3::object_lock::ObjectLockConfig), NULL until one is put.
ALTER TABLE buckets
    ADD COLUMN object_lock_enabled BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN object_lock JSONB;
-- A version's retention (mode and date, both or neither) and legal hold. A version that
-- is held, or retained until a future date, cannot be deleted (store/object_write.rs).
ALTER TABLE objects
    ADD COLUMN retention_mode TEXT
        CONSTRAINT objects_retention_mode_check
        CHECK (retention_mode IN ('GOVERNANCE', 'COMPLIANCE')),
    ADD COLUMN retain_until TIMESTAMPTZ,
    ADD COLUMN legal_hold BOOLEAN NOT NULL DEFAULT false,
    ADD CONSTRAINT objects_retention_check
        CHECK ((retention_mode IS NULL) = (retain_until IS NULL));
ALTER TABLE multipart_uploads
    ADD COLUMN retention_mode TEXT,
    ADD COLUMN retain_until TIMESTAMPTZ,
    ADD COLUMN legal_hold BOOLEAN NOT NULL DEFAULT false;

-- Lifecycle: the bucket's configuration (JSON of s3::lifecycle::LifecycleConfiguration),
-- NULL without one.
ALTER TABLE buckets ADD COLUMN lifecycle JSONB;
