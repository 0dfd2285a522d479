-- Reverts 0002. hunter 1.0.0 never reads slug, so it runs on either side of this step.
ALTER TABLE items DROP COLUMN slug;
