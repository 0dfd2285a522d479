-- Reverts 0001.
DROP TABLE items;
