-- Revert animus:work_limits from pg

BEGIN;

CREATE INDEX work_items_merged_into ON animus.work_items (merged_into) WHERE merged_into IS NOT NULL;
DROP INDEX animus.work_items_merged_into_order;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA110', 'ZA111', 'ZA112');

COMMIT;
