-- The built-in default module can be attached to a bucket with a configuration (its
-- declarative metadata rules, docs/policies.md). It is not a stored module, so such an
-- attachment names no row of policy_modules: its module_name is NULL, which the foreign
-- key does not check. A bucket without a row still uses the default module without a
-- configuration.
ALTER TABLE bucket_policies ALTER COLUMN module_name DROP NOT NULL;
