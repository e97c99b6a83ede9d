-- The documented limits of the memory API (docs/memory.md, "Limits"), each a ZA code with
-- nothing written: whitespace-only content (tabs, line breaks, no-break spaces) is empty (ZA203);
-- content over 500,000 bytes (ZA214, where the tsvector raised a raw 54000); batches of more than
-- 10,000 (ZA215); filter lists of more than 100 strings or filters over 16 kB (ZA213).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(20);

CREATE FUNCTION pg_temp.vec(i integer) RETURNS vector LANGUAGE sql AS $$
    SELECT array_agg(CASE WHEN d = i THEN 1 WHEN d = 1 THEN 0.5 ELSE 0 END ORDER BY d)::vector
      FROM generate_series(1, (SELECT embedding_dim FROM animus.memory_settings)) AS d $$;
CREATE TEMP TABLE before ON COMMIT DROP AS SELECT count(*) AS n FROM animus.memories;

SELECT throws_ok(format('SELECT animus.store_memory(%L, %L::vector, %L)', E'\t\n', pg_temp.vec(2), 'fact'), 'ZA203', NULL,
                 'store_memory: content of a tab and a line break is empty (ZA203)');
SELECT throws_ok(format('SELECT animus.store_memory(%L, %L::vector, %L)', E'\u00a0', pg_temp.vec(2), 'fact'), 'ZA203', NULL,
                 'store_memory: content of a no-break space (U+00A0) is empty (ZA203)');
SELECT throws_ok(format('SELECT animus.store_memory(%L, %L::vector, %L)', E' \u3000\r\n\u2003\ufeff ', pg_temp.vec(2), 'fact'), 'ZA203', NULL,
                 'store_memory: content of mixed ASCII and Unicode spaces is empty (ZA203)');
SELECT lives_ok(format('SELECT animus.store_memory(%L, %L::vector, %L, namespace => %L)', E'\u00a0kept\t', pg_temp.vec(2), 'fact', 'limits'),
                'store_memory: text surrounded by whitespace is stored');
SELECT throws_ok(format('SELECT * FROM animus.store_memories(%L::jsonb)',
                        jsonb_build_array(jsonb_build_object('content', E'\n\u00a0\t', 'embedding', pg_temp.vec(3)::text, 'memory_type', 'fact'))),
                 'ZA203', NULL, 'store_memories: an element with whitespace-only content is empty (ZA203)');
SELECT throws_ok(format('SELECT animus.update_memory((SELECT id FROM animus.memories WHERE namespace = %L), content => %L, embedding => %L::vector)',
                        'limits', E'\u2028', pg_temp.vec(4)), 'ZA203', NULL,
                 'update_memory: whitespace-only new content is empty (ZA203)');

-- 600,000 bytes of distinct words: the tsvector of it is over its 1 MB cap (a raw 54000 before).
CREATE TEMP TABLE long_text ON COMMIT DROP AS
SELECT string_agg(md5(i::text) || 'x', ' ') AS body FROM generate_series(1, 18000) AS i;
SELECT cmp_ok((SELECT octet_length(body) FROM long_text), '>', 500000, 'the long text is over 500,000 bytes');
SELECT throws_ok(format('SELECT animus.store_memory(%L, %L::vector, %L)', (SELECT body FROM long_text), pg_temp.vec(2), 'fact'), 'ZA214', NULL,
                 'store_memory: content over 500,000 bytes raises ZA214');
SELECT throws_ok(format('SELECT * FROM animus.store_memories(%L::jsonb)',
                        jsonb_build_array(jsonb_build_object('content', (SELECT body FROM long_text), 'embedding', pg_temp.vec(3)::text,
                                                             'memory_type', 'fact'))),
                 'ZA214', NULL, 'store_memories: an element with content over 500,000 bytes raises ZA214');
SELECT lives_ok(format('SELECT animus.store_memory(%L, %L::vector, %L, namespace => %L)', left((SELECT body FROM long_text), 500000),
                       pg_temp.vec(5), 'fact', 'limits'),
                'store_memory: content of exactly 500,000 bytes of distinct words is stored (and keyword-indexed)');

SELECT throws_ok(format('SELECT * FROM animus.store_memories(%L::jsonb)',
                        (SELECT jsonb_agg(jsonb_build_object('content', 'x' || i, 'embedding', '[1]', 'memory_type', 'fact'))
                           FROM generate_series(1, 10001) AS i)),
                 'ZA215', NULL, 'store_memories: a batch of 10,001 elements raises ZA215');
SELECT throws_ok($$SELECT animus.delete_memories(ARRAY(SELECT generate_series(1, 10001)::bigint))$$, 'ZA215', NULL,
                 'delete_memories: 10,001 ids raise ZA215');
SELECT lives_ok($$SELECT animus.delete_memories(ARRAY(SELECT -generate_series(1, 10000)::bigint))$$,
                'delete_memories: 10,000 ids are accepted');

SELECT throws_ok(format('SELECT * FROM animus.search_memory_text(%L, 10, %L::jsonb)', 'kept',
                        jsonb_build_object('memory_type', (SELECT jsonb_agg('t' || i) FROM generate_series(1, 101) AS i))),
                 'ZA213', NULL, 'search_memory_text: a memory_type list of 101 strings raises ZA213');
SELECT lives_ok(format('SELECT * FROM animus.search_memory_text(%L, 10, %L::jsonb)', 'kept',
                       jsonb_build_object('namespace', (SELECT jsonb_agg('n' || i) FROM generate_series(1, 100) AS i))),
                'search_memory_text: a namespace list of 100 strings is accepted');
SELECT throws_ok(format('SELECT * FROM animus.search_memory_vector(%L::vector, 10, %L::jsonb)', pg_temp.vec(2),
                        jsonb_build_object('metadata', (SELECT jsonb_object_agg('k' || i, repeat('v', 20)) FROM generate_series(1, 700) AS i))),
                 'ZA213', NULL, 'search_memory_vector: a filter over 16384 bytes raises ZA213');
SELECT throws_ok(format('SELECT * FROM animus.hybrid_search(%L, NULL, 10, %L::jsonb)', 'kept',
                        jsonb_build_object('source', jsonb_build_object('in', (SELECT jsonb_agg('s' || i) FROM generate_series(1, 101) AS i)))),
                 'ZA213', NULL, 'hybrid_search: a source {"in": [...]} of 101 strings raises ZA213');

SELECT is((SELECT count(*) FROM animus.memories) - (SELECT n FROM before), 2::bigint,
          'of all the calls above only the two accepted stores wrote a memory');
SELECT is((SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA213', 'ZA214', 'ZA215')), 3::bigint,
          'ZA213, ZA214 and ZA215 are in animus.error_codes');
SELECT is_empty($$SELECT sqlstate FROM animus.error_codes WHERE sqlstate IN ('ZA213', 'ZA214', 'ZA215') AND (hint = '' OR meaning = '')$$,
                'the new codes have a meaning and a hint');

SELECT * FROM finish();
ROLLBACK;
