-- Bucket policies (issue 14). `policy` is the document as the owner put it
-- (GetBucketPolicy returns it unchanged); `policy_compiled` is the same policy validated
-- and encoded in the compact form policy modules receive with every decision (guest SDK
-- `bucket_policy`, whose first byte is the format's version). Both or neither.
ALTER TABLE buckets
    ADD COLUMN policy TEXT,
    ADD COLUMN policy_compiled BYTEA,
    ADD CONSTRAINT buckets_policy_check CHECK ((policy IS NULL) = (policy_compiled IS NULL));
