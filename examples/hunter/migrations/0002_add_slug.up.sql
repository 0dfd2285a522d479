-- 0002: items.slug, which hunter 1.1.0 reads. Added nullable, backfilled, then
-- made NOT NULL, so the step works on a table that already has rows.
ALTER TABLE items ADD COLUMN slug text;
UPDATE items SET slug = lower(replace(name, ' ', '-'));
ALTER TABLE items ALTER COLUMN slug SET NOT NULL;
