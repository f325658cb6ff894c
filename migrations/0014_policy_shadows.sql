-- Shadow modules (issue 14): a candidate module evaluated beside a bucket's active one on
-- live traffic, whose answers are only compared, never used. `module_name` NULL means the
-- built-in default module. `sample` is the fraction of decisions also given to the
-- candidate. A module in shadow use cannot be deleted (the foreign key).
CREATE TABLE bucket_policy_shadows (
    bucket_id   BIGINT PRIMARY KEY REFERENCES buckets (id) ON DELETE CASCADE,
    module_name TEXT,
    config      TEXT,
    sample      DOUBLE PRECISION NOT NULL CHECK (sample > 0 AND sample <= 1),
    started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT bucket_policy_shadows_module_fkey FOREIGN KEY (module_name)
        REFERENCES policy_modules (name)
);
CREATE INDEX bucket_policy_shadows_module_idx ON bucket_policy_shadows (module_name);
