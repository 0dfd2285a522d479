-- 0003: drops items.legacy_code and its data.
-- Irreversible on purpose, so there is no 0003_drop_legacy.down.sql: no script
-- can bring the dropped values back. Going below 0003 means restoring a backup
-- taken before it; Rewind refuses a plain downgrade through this step.
ALTER TABLE items DROP COLUMN legacy_code;
