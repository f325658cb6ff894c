-- What a multipart upload's object checksum covers: COMPOSITE (the algorithm over the
-- parts' checksums, "<value>-<parts>") or FULL_OBJECT (the whole object's CRC, combined
-- from the parts' CRCs). NULL when the upload has no checksum algorithm.
ALTER TABLE multipart_uploads ADD COLUMN checksum_type TEXT;
