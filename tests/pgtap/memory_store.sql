-- store_memory, store_memories, get_memory, update_memory, delete_memory, delete_memories:
-- shape, dedup by (namespace, content), batch semantics, and every bad-input error.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(62);

-- v(a, b): a vector of the deployed dimension whose first two components are a and b.
CREATE FUNCTION pg_temp.v(a real, b real) RETURNS vector LANGUAGE sql AS $$
    SELECT (ARRAY[a, b] || array_fill(0::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) - 2]))::vector
$$;
CREATE FUNCTION pg_temp.vj(a real, b real) RETURNS jsonb LANGUAGE sql AS $$
    SELECT to_jsonb(ARRAY[a, b] || array_fill(0::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) - 2]))
$$;
-- too_long(): a vector one component longer than the deployed dimension (wrong at every dimension).
CREATE FUNCTION pg_temp.too_long() RETURNS vector LANGUAGE sql AS $$
    SELECT array_fill(1::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) + 1])::vector
$$;

-- shape
SELECT has_function('animus', 'store_memory', ARRAY['text', 'vector', 'text', 'text', 'jsonb', 'text', 'timestamp with time zone', 'interval', 'boolean', 'bigint[]', 'text', 'text[]'], 'store_memory(content, embedding, memory_type, source, metadata, namespace, expires_at, ttl, pinned, supersedes, visibility, groups) exists');
SELECT function_returns('animus', 'store_memory', ARRAY['text', 'vector', 'text', 'text', 'jsonb', 'text', 'timestamp with time zone', 'interval', 'boolean', 'bigint[]', 'text', 'text[]'], 'setof record', 'store_memory returns (id, created)');
SELECT volatility_is('animus', 'store_memory', ARRAY['text', 'vector', 'text', 'text', 'jsonb', 'text', 'timestamp with time zone', 'interval', 'boolean', 'bigint[]', 'text', 'text[]'], 'volatile', 'store_memory is VOLATILE');
SELECT is_definer('animus', 'store_memory', ARRAY['text', 'vector', 'text', 'text', 'jsonb', 'text', 'timestamp with time zone', 'interval', 'boolean', 'bigint[]', 'text', 'text[]'], 'store_memory is SECURITY DEFINER (nobody but the owner writes the table; it checks the write scope)');
SELECT has_function('animus', 'store_memories', ARRAY['jsonb', 'text'], 'store_memories(memories, namespace) exists');
SELECT is_definer('animus', 'store_memories', ARRAY['jsonb', 'text'], 'store_memories is SECURITY DEFINER');
SELECT volatility_is('animus', 'get_memory', ARRAY['bigint'], 'stable', 'get_memory is STABLE');
SELECT function_returns('animus', 'get_memory', ARRAY['bigint'], 'setof animus.memories', 'get_memory returns animus.memories rows');
SELECT function_returns('animus', 'update_memory', ARRAY['bigint', 'text', 'vector', 'text', 'text', 'jsonb', 'text'], 'setof animus.memories', 'update_memory returns the new row');
SELECT function_returns('animus', 'delete_memory', ARRAY['bigint'], 'boolean', 'delete_memory returns boolean');
SELECT function_returns('animus', 'delete_memories', ARRAY['bigint[]'], 'bigint', 'delete_memories returns a count');

-- store, then store the same content again: one row, updated
CREATE TEMP TABLE first_store AS
    SELECT * FROM animus.store_memory('Kelly prefers tea in the morning', pg_temp.v(1, 0), 'preference',
                                      source => 'chat', metadata => '{"topic": "drinks"}', namespace => 'pgtap-store');
SELECT is((SELECT created FROM first_store), true, 'a first store returns created = true');
SELECT is((SELECT count(*)::int FROM animus.memories WHERE namespace = 'pgtap-store'), 1, 'the first store wrote one row');
CREATE TEMP TABLE second_store AS
    SELECT * FROM animus.store_memory('Kelly prefers tea in the morning', pg_temp.v(0, 1), 'fact',
                                      metadata => '{"topic": "tea"}', namespace => 'pgtap-store');
SELECT is((SELECT created FROM second_store), false, 'storing the same content again returns created = false');
SELECT is((SELECT id FROM second_store), (SELECT id FROM first_store), 'storing the same content again returns the same id');
SELECT is((SELECT count(*)::int FROM animus.memories WHERE namespace = 'pgtap-store'), 1, 'storing the same content again adds no copy');
SELECT results_eq(
    $$SELECT memory_type, metadata, embedding = pg_temp.v(0, 1), source IS NULL FROM animus.get_memory((SELECT id FROM first_store))$$,
    $$VALUES ('fact'::text, '{"topic": "tea"}'::jsonb, true, true)$$,
    'the repeated store replaced memory_type, source, metadata and embedding');
SELECT ok((SELECT updated_at >= created_at FROM animus.memories WHERE id = (SELECT id FROM first_store)), 'updated_at is set on the repeat');
SELECT is((SELECT created FROM animus.store_memory('Kelly prefers tea in the morning', pg_temp.v(1, 0), 'fact', namespace => 'pgtap-store-2')),
          true, 'the same content in another namespace is a new memory');

-- get
SELECT is((SELECT content FROM animus.get_memory((SELECT id FROM first_store))), 'Kelly prefers tea in the morning', 'get_memory returns the memory');
SELECT is_empty($$SELECT * FROM animus.get_memory(-1)$$, 'get_memory of a missing id returns no row');

-- store errors: nothing written
SELECT throws_ok($$SELECT animus.store_memory(NULL, pg_temp.v(1, 0), 'fact', namespace => 'pgtap-store-bad')$$, 'ZA001', NULL, 'NULL content raises ZA001');
SELECT throws_ok($$SELECT animus.store_memory('   ', pg_temp.v(1, 0), 'fact', namespace => 'pgtap-store-bad')$$, 'ZA203', NULL, 'blank content raises ZA203');
SELECT throws_ok($$SELECT animus.store_memory('x', pg_temp.v(1, 0), NULL, namespace => 'pgtap-store-bad')$$, 'ZA001', NULL, 'NULL memory_type raises ZA001');
SELECT throws_ok($$SELECT animus.store_memory('x', pg_temp.v(1, 0), 'fact', namespace => '')$$, 'ZA001', NULL, 'empty namespace raises ZA001');
SELECT throws_ok($$SELECT animus.store_memory('x', pg_temp.v(1, 0), 'fact', metadata => '[1]', namespace => 'pgtap-store-bad')$$, 'ZA003', NULL, 'metadata that is not an object raises ZA003');
SELECT throws_ok($$SELECT animus.store_memory('x', NULL, 'fact', namespace => 'pgtap-store-bad')$$, 'ZA001', NULL, 'a NULL embedding raises ZA001');
SELECT throws_ok($$SELECT animus.store_memory('x', pg_temp.too_long(), 'fact', namespace => 'pgtap-store-bad')$$, 'ZA200', NULL, 'an embedding of the wrong dimension raises ZA200 (no silent cast)');
SELECT throws_ok($$SELECT animus.store_memory('x', pg_temp.v(0, 0), 'fact', namespace => 'pgtap-store-bad')$$, 'ZA202', NULL, 'the zero vector raises ZA202');
SELECT throws_ok($$SELECT animus.store_memory('x', '[NaN,1]', 'fact', namespace => 'pgtap-store-bad')$$, '22000', NULL, 'a NaN component is rejected by pgvector''s input (22000) before animus runs');
SELECT is((SELECT count(*)::int FROM animus.memories WHERE namespace = 'pgtap-store-bad'), 0, 'failed stores wrote nothing');

-- batch
CREATE TEMP TABLE batch AS
    SELECT * FROM animus.store_memories(jsonb_build_array(
        jsonb_build_object('content', 'alpha', 'embedding', pg_temp.vj(1, 0), 'memory_type', 'fact'),
        jsonb_build_object('content', 'beta', 'embedding', pg_temp.v(0, 1)::text, 'memory_type', 'fact', 'source', 's', 'metadata', '{"k": 1}'::jsonb),
        jsonb_build_object('content', 'alpha', 'embedding', pg_temp.vj(1, 1), 'memory_type', 'episode'),
        jsonb_build_object('content', 'gamma', 'embedding', pg_temp.vj(1, 2), 'memory_type', 'fact', 'namespace', 'pgtap-batch-2')),
        namespace => 'pgtap-batch');
SELECT is((SELECT array_agg(ordinal ORDER BY ordinal) FROM batch), ARRAY[1, 2, 3, 4], 'the batch returns one row per element, by ordinal');
SELECT is((SELECT count(*)::int FROM animus.memories WHERE namespace IN ('pgtap-batch', 'pgtap-batch-2')), 3, 'repeats inside a batch collapse to one row');
SELECT is((SELECT id FROM batch WHERE ordinal = 1), (SELECT id FROM batch WHERE ordinal = 3), 'both repeats report the same id');
SELECT is((SELECT memory_type FROM animus.memories WHERE namespace = 'pgtap-batch' AND content = 'alpha'), 'episode', 'the last repeat in a batch wins');
SELECT is((SELECT namespace FROM animus.memories WHERE id = (SELECT id FROM batch WHERE ordinal = 4)), 'pgtap-batch-2', 'an element''s namespace overrides the default');
SELECT is((SELECT embedding FROM animus.memories WHERE namespace = 'pgtap-batch' AND content = 'beta'), pg_temp.v(0, 1), 'the string form of an embedding is stored exactly');
SELECT is((SELECT bool_and(NOT created) FROM animus.store_memories(jsonb_build_array(
              jsonb_build_object('content', 'beta', 'embedding', pg_temp.vj(1, 1), 'memory_type', 'fact')), namespace => 'pgtap-batch')),
          true, 'a batch element with known content updates instead of copying (created = false)');
SELECT is_empty($$SELECT * FROM animus.store_memories('[]')$$, 'an empty batch stores nothing');

-- batch errors: each raises its code and writes nothing
SELECT throws_ok($$SELECT animus.store_memories('{"content": "x"}')$$, 'ZA208', NULL, 'a batch that is not an array raises ZA208');
SELECT throws_ok($$SELECT animus.store_memories('[1]')$$, 'ZA208', NULL, 'a batch element that is not an object raises ZA208');
SELECT throws_ok(format($$SELECT animus.store_memories('[{"content": "x", "embedding": %s, "memory_type": "f", "colour": 1}]', 'pgtap-batch-bad')$$, pg_temp.vj(1, 0)),
                 'ZA208', NULL, 'an unknown key in a batch element raises ZA208');
SELECT throws_ok(format($$SELECT animus.store_memories('[{"content": "x", "embedding": %s}]', 'pgtap-batch-bad')$$, pg_temp.vj(1, 0)),
                 'ZA208', NULL, 'a batch element without memory_type raises ZA208');
SELECT throws_ok(format($$SELECT animus.store_memories('[{"content": " ", "embedding": %s, "memory_type": "f"}]', 'pgtap-batch-bad')$$, pg_temp.vj(1, 0)),
                 'ZA203', NULL, 'empty content in a batch raises ZA203');
SELECT throws_ok(format($$SELECT animus.store_memories('[{"content": "x", "embedding": %s, "memory_type": "f"}]', 'pgtap-batch-bad')$$, pg_temp.too_long()),
                 'ZA200', NULL, 'a batch embedding of the wrong dimension raises ZA200');
SELECT throws_ok(format($$SELECT animus.store_memories('[{"content": "x", "embedding": %s, "memory_type": "f"}]', 'pgtap-batch-bad')$$,
                        jsonb_set(pg_temp.vj(1, 0), '{1}', '"NaN"')),
                 'ZA201', NULL, 'a NaN component in a JSON embedding raises ZA201');
SELECT throws_ok(format($$SELECT animus.store_memories('[{"content": "x", "embedding": %s, "memory_type": "f"}]', 'pgtap-batch-bad')$$,
                        jsonb_set(pg_temp.vj(1, 0), '{1}', '1e39')),
                 'ZA201', NULL, 'a component beyond the float4 range (infinite) raises ZA201');
SELECT throws_ok(format($$SELECT animus.store_memories('[{"content": "x", "embedding": "%s", "memory_type": "f"}]', 'pgtap-batch-bad')$$,
                        replace(pg_temp.v(1, 0)::text, '[1,', '[Infinity,')),
                 'ZA201', NULL, 'an infinite component in a string embedding raises ZA201');
SELECT throws_ok(format($$SELECT animus.store_memories('[{"content": "x", "embedding": %s, "memory_type": "f"}]', 'pgtap-batch-bad')$$, pg_temp.vj(0, 0)),
                 'ZA202', NULL, 'a zero vector in a batch raises ZA202');
SELECT throws_ok(format($$SELECT animus.store_memories('[{"content": "ok", "embedding": %s, "memory_type": "f"}, {"content": "y", "embedding": [1], "memory_type": "f"}]', 'pgtap-batch-bad')$$,
                        pg_temp.vj(1, 0)),
                 'ZA200', NULL, 'one bad element fails the whole batch');
SELECT is((SELECT count(*)::int FROM animus.memories WHERE namespace = 'pgtap-batch-bad'), 0, 'failed batches wrote nothing, not even their good elements');

-- update
SELECT is((SELECT metadata FROM animus.update_memory((SELECT id FROM first_store), metadata => '{"topic": "x"}')), '{"topic": "x"}'::jsonb,
          'update_memory replaces metadata and returns the row');
SELECT is((SELECT content FROM animus.memories WHERE id = (SELECT id FROM first_store)), 'Kelly prefers tea in the morning', 'update_memory keeps the fields passed as NULL');
SELECT is((SELECT content FROM animus.update_memory((SELECT id FROM first_store), content => 'Kelly prefers green tea', embedding => pg_temp.v(1, 1))),
          'Kelly prefers green tea', 'update_memory changes content together with its embedding');
SELECT throws_ok(format('SELECT animus.update_memory(%s, content => %L)', (SELECT id FROM first_store), 'changed without embedding'),
                 'ZA001', NULL, 'changing content without its embedding raises ZA001');
SELECT throws_ok($$SELECT animus.update_memory(-1, memory_type => 'x')$$, 'ZA207', NULL, 'updating a missing id raises ZA207');
SELECT throws_ok(format('SELECT animus.update_memory(%s, content => %L, embedding => pg_temp.v(1, 0))',
                        (SELECT id FROM batch WHERE ordinal = 1), 'beta'),
                 'ZA211', NULL, 'updating to the content of another memory of the namespace raises ZA211');
SELECT throws_ok(format('SELECT animus.update_memory(%s, embedding => %L)', (SELECT id FROM first_store), pg_temp.too_long()),
                 'ZA200', NULL, 'update_memory checks the embedding dimension (ZA200)');

-- delete
SELECT is(animus.delete_memory((SELECT id FROM first_store)), true, 'delete_memory returns true for an existing memory');
SELECT is(animus.delete_memory((SELECT id FROM first_store)), false, 'delete_memory returns false when it is gone');
SELECT is(animus.delete_memories(ARRAY(SELECT id FROM batch) || ARRAY[-1::bigint]), 3::bigint, 'delete_memories returns how many existed');

-- privileges: a reader cannot write
SET LOCAL ROLE animus_memory_reader;
SELECT throws_ok($$SELECT animus.store_memory('x', pg_temp.v(1, 0), 'fact', namespace => 'pgtap-store-bad')$$, '42501', NULL,
                 'animus_memory_reader may not execute store_memory');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
