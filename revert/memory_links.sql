-- Revert animus:memory_links from pg

BEGIN;

DROP FUNCTION animus.memory_graph_expand(bigint[], double precision[], integer, text[], double precision);
DROP FUNCTION animus.memory_neighbors(bigint, integer, text[]);
DROP FUNCTION animus.memory_check_graph_args(integer, text[]);
DROP FUNCTION animus.memory_graph_walk(bigint[], double precision[], integer, text[], double precision);
DROP FUNCTION animus.unlink_memories(bigint, bigint, text);
DROP FUNCTION animus.link_memories(bigint, bigint, text, double precision, jsonb);
DROP TABLE animus.memory_links;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA220', 'ZA221');

COMMIT;
