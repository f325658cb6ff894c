-- Bucket CORS configurations (PutBucketCors). `rules` holds the CORSRule elements in
-- the order they were given (S3 uses the first rule that matches), each as
-- {"id", "allowed_origins", "allowed_methods", "allowed_headers", "expose_headers",
--  "max_age_seconds"}, values exactly as sent. A bucket without a row has no
-- configuration (GetBucketCors: NoSuchCORSConfiguration).
CREATE TABLE bucket_cors (
    bucket_id   BIGINT PRIMARY KEY REFERENCES buckets (id) ON DELETE CASCADE,
    rules       JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
