-- Block Public Access and Object Ownership per bucket (issue 14).
-- `public_access_block` holds the four settings as bits (1 BlockPublicAcls,
-- 2 IgnorePublicAcls, 4 BlockPublicPolicy, 8 RestrictPublicBuckets); NULL means the
-- bucket has no configuration (GetPublicAccessBlock answers
-- NoSuchPublicAccessBlockConfiguration), which acts as all four off.
-- `object_ownership` is S3's name of the setting; NULL means no ownership controls
-- (GetBucketOwnershipControls answers OwnershipControlsNotFoundError), which acts as
-- ObjectWriter.
ALTER TABLE buckets
    ADD COLUMN public_access_block SMALLINT
        CHECK (public_access_block BETWEEN 0 AND 15),
    ADD COLUMN object_ownership TEXT
        CHECK (object_ownership IN ('ObjectWriter', 'BucketOwnerPreferred', 'BucketOwnerEnforced'));
