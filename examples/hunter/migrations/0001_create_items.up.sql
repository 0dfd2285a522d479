-- 0001: the items table and 100 seed rows (ids 1..100, "Item 001".."Item 100").
-- legacy_code stands for a column an older system wrote; no version of hunter
-- reads it, and 0003 drops it for good.
CREATE TABLE items (
  id serial PRIMARY KEY,
  name text NOT NULL,
  legacy_code text
);

INSERT INTO items (name, legacy_code)
SELECT 'Item ' || lpad(i::text, 3, '0'), 'L-' || lpad(i::text, 4, '0')
FROM generate_series(1, 100) AS i
ORDER BY i;
