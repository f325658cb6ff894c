-- Group commit of small PUTs (host/src/store/small_writes.rs): a batch of unconditional
-- writes of inline bytes to distinct keys of one unversioned bucket, in one call and so
-- one commit. Each key gets what its own statement would do: its current version, if
-- inline, unversioned and unshared, is overwritten in place with a new row id (as a new
-- version gets one); a key without a current version gets its row; any other key is
-- left alone (the server takes its general path). Returns the position in `keys` (from
-- 1) and Last-Modified of each key written.
--
-- One statement per key, not one for the batch: each finds its key by the unique index
-- on (bucket_id, key) whatever the table's statistics say, where a statement joining the
-- batch's keys with the table is planned from them (and was seen scanning a bucket's
-- every row per batch). The keys come sorted, so batches lock rows in one order.
CREATE FUNCTION put_small_objects(
    p_bucket_id BIGINT, p_keys TEXT[], p_sizes BIGINT[], p_etags TEXT[],
    p_owner_ids BIGINT[], p_content_types TEXT[], p_content_encodings TEXT[],
    p_content_dispositions TEXT[], p_content_languages TEXT[], p_cache_controls TEXT[],
    p_expires TEXT[], p_user_metadata JSONB[], p_checksum_algorithms TEXT[],
    p_checksum_values TEXT[], p_inline_data BYTEA[], p_acls JSONB[], p_tags JSONB[],
    p_retention_modes TEXT[], p_retain_untils TIMESTAMPTZ[], p_legal_holds BOOLEAN[])
RETURNS TABLE (written INT, written_at TIMESTAMPTZ)
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        UPDATE objects o SET id = nextval('objects_id_seq'), size = p_sizes[i],
            etag = p_etags[i], owner_id = p_owner_ids[i],
            content_type = p_content_types[i], content_encoding = p_content_encodings[i],
            content_disposition = p_content_dispositions[i],
            content_language = p_content_languages[i], cache_control = p_cache_controls[i],
            expires = p_expires[i], user_metadata = p_user_metadata[i],
            checksum_algorithm = p_checksum_algorithms[i],
            checksum_value = p_checksum_values[i], inline_data = p_inline_data[i],
            acl = p_acls[i], tags = p_tags[i], retention_mode = p_retention_modes[i],
            retain_until = p_retain_untils[i], legal_hold = p_legal_holds[i],
            last_modified = now()
        WHERE o.bucket_id = p_bucket_id AND o.key = p_keys[i] AND o.is_latest
          AND o.version_id IS NULL AND NOT o.delete_marker AND o.inline_data IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM object_chunks c WHERE c.object_id = o.id)
          AND NOT EXISTS (SELECT 1 FROM object_parts p WHERE p.object_id = o.id)
        RETURNING o.last_modified INTO written_at;
        IF NOT FOUND THEN
            INSERT INTO objects (bucket_id, key, size, etag, owner_id, content_type,
                content_encoding, content_disposition, content_language, cache_control,
                expires, user_metadata, checksum_algorithm, checksum_value, inline_data,
                acl, tags, retention_mode, retain_until, legal_hold)
            VALUES (p_bucket_id, p_keys[i], p_sizes[i], p_etags[i], p_owner_ids[i],
                p_content_types[i], p_content_encodings[i], p_content_dispositions[i],
                p_content_languages[i], p_cache_controls[i], p_expires[i],
                p_user_metadata[i], p_checksum_algorithms[i], p_checksum_values[i],
                p_inline_data[i], p_acls[i], p_tags[i], p_retention_modes[i],
                p_retain_untils[i], p_legal_holds[i])
            ON CONFLICT (bucket_id, key) WHERE is_latest DO NOTHING
            RETURNING objects.last_modified INTO written_at;
        END IF;
        IF FOUND THEN
            written := i;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
