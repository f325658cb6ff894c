-- What each CompleteMultipartUpload produced, so that a client that lost the answer and
-- retries gets the same answer rather than NoSuchUpload (store/multipart.rs). Written in
-- the completing transaction; removed with the bucket, or by the multipart expiry task
-- once older than --multipart-expiry (a retry comes seconds later, not days).
CREATE TABLE completed_uploads (
    upload_id          TEXT PRIMARY KEY,
    bucket_id          BIGINT NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
    key                TEXT COLLATE "C" NOT NULL,
    etag               TEXT NOT NULL,
    checksum_algorithm TEXT,
    checksum_value     TEXT,
    -- The version the upload became (NULL: the null version).
    version_id         TEXT,
    completed_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX completed_uploads_completed_at_idx ON completed_uploads (completed_at);
