-- ACLs on buckets and objects, and per-bucket policy modules.

-- Explicit grants, as S3 reports them in AccessControlPolicy: a JSON array of
-- {"grantee": {"CanonicalUser": "<canonical id>"} | {"Group": "AllUsers"|"AuthenticatedUsers"|"LogDelivery"},
--  "permission": "READ"|"WRITE"|"READ_ACP"|"WRITE_ACP"|"FULL_CONTROL"}.
-- E-mail grantees are resolved to canonical ids before they are stored. The
-- owner is the row's owner_id; new resources get the grants of their canned
-- ACL (private: the owner's FULL_CONTROL).
ALTER TABLE buckets ADD COLUMN acl JSONB NOT NULL DEFAULT '[]';
ALTER TABLE objects ADD COLUMN acl JSONB NOT NULL DEFAULT '[]';

-- Rows created before ACLs existed were private.
UPDATE buckets b SET acl = jsonb_build_array(jsonb_build_object(
    'grantee', jsonb_build_object('CanonicalUser', a.canonical_id), 'permission', 'FULL_CONTROL'))
  FROM accounts a WHERE a.id = b.owner_id;
UPDATE objects o SET acl = jsonb_build_array(jsonb_build_object(
    'grantee', jsonb_build_object('CanonicalUser', a.canonical_id), 'permission', 'FULL_CONTROL'))
  FROM accounts a WHERE a.id = o.owner_id;

-- Policy modules (WebAssembly components) stored by name. A module is
-- validated (compiled, checked against the coffer:policy world) before it is
-- stored.
CREATE TABLE policy_modules (
    name        TEXT PRIMARY KEY,
    -- SHA-256 of `wasm`; the compiled-module cache key.
    digest      BYTEA NOT NULL,
    wasm        BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The module attached to a bucket, with the operator's JSON configuration.
-- A bucket without a row uses the built-in default module.
CREATE TABLE bucket_policies (
    bucket_id    BIGINT PRIMARY KEY REFERENCES buckets (id) ON DELETE CASCADE,
    module_name  TEXT NOT NULL,
    config       TEXT,
    attached_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT bucket_policies_module_fkey FOREIGN KEY (module_name) REFERENCES policy_modules (name)
);
CREATE INDEX bucket_policies_module_idx ON bucket_policies (module_name);

-- Bumped in the same transaction as every change to policy_modules or
-- bucket_policies; every coffer process polls it and reloads its attachments
-- when it moves. A one-row table rather than a sequence, because sequences are
-- not transactional: a poller could see the new number before the change
-- commits and then never reload.
CREATE TABLE policy_generation (
    singleton  BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    value      BIGINT NOT NULL
);
INSERT INTO policy_generation (value) VALUES (0);

-- Administrators may use the admin API (policy modules and attachments). The
-- account `coffer serve` creates on a fresh install is one.
ALTER TABLE accounts ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT false;
UPDATE accounts SET is_admin = true WHERE name = 'admin';
