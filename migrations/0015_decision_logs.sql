-- Decision logs (issue 14): per bucket, opt-in, the inputs of its decisions written to
-- rotating files in the server's data directory (decision-logs/BUCKET/), at most `files`
-- files of `max_bytes` each, for `coffer policy replay`.
CREATE TABLE bucket_decision_logs (
    bucket_id  BIGINT PRIMARY KEY REFERENCES buckets (id) ON DELETE CASCADE,
    max_bytes  BIGINT NOT NULL CHECK (max_bytes >= 4096),
    files      INTEGER NOT NULL CHECK (files BETWEEN 1 AND 100),
    started_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
