-- memory_validate_filters (one JSON shape, normalised) and memory_filter_match (the predicate).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(31);

SELECT has_function('animus', 'memory_validate_filters', ARRAY['jsonb'], 'memory_validate_filters(filters) exists');
SELECT volatility_is('animus', 'memory_validate_filters', ARRAY['jsonb'], 'stable', 'memory_validate_filters is STABLE');
SELECT has_function('animus', 'memory_filter_match', ARRAY['jsonb', 'text', 'text', 'text', 'jsonb', 'timestamp with time zone'],
                    'memory_filter_match(filters, namespace, memory_type, source, metadata, created_at) exists');
SELECT ok((SELECT p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql') AND p.proconfig IS NULL AND NOT p.prosecdef
                  AND p.prosqlbody IS NOT NULL
             FROM pg_proc p WHERE p.oid = 'animus.memory_filter_match(jsonb, text, text, text, jsonb, timestamptz)'::regprocedure),
          'memory_filter_match is an inlinable SQL function (SQL-standard body, no SET clause, not SECURITY DEFINER)');

-- normalisation
SELECT is(animus.memory_validate_filters(NULL), '{}'::jsonb, 'NULL filters mean no filter');
SELECT is(animus.memory_validate_filters('{}'), '{}'::jsonb, 'an empty object means no filter');
SELECT is(animus.memory_validate_filters('{"namespace": "a"}'), '{"namespace": {"in": ["a"]}}'::jsonb, 'a string is equality');
SELECT is(animus.memory_validate_filters('{"memory_type": ["a", "b"]}'), '{"memory_type": {"in": ["a", "b"]}}'::jsonb, 'an array is a list of allowed values');
SELECT is(animus.memory_validate_filters('{"source": {"eq": "s"}}'), '{"source": {"in": ["s"]}}'::jsonb, 'the eq operator');
SELECT is(animus.memory_validate_filters('{"namespace": {"prefix": "team/"}}'), '{"namespace": {"prefix": "team/"}}'::jsonb, 'the prefix operator');
SELECT is(animus.memory_validate_filters('{"metadata": {"k": [1]}}'), '{"metadata": {"k": [1]}}'::jsonb, 'metadata is kept for containment');
SELECT is(animus.memory_validate_filters('{"created_at": {"gte": "2026-01-01T00:00:00Z"}}') #>> '{created_at,gte}' IS NOT NULL, true,
          'created_at bounds are kept');

-- errors
SELECT throws_ok($$SELECT animus.memory_validate_filters('[1]')$$, 'ZA204', NULL, 'filters that are not an object raise ZA204');
SELECT throws_ok($$SELECT animus.memory_validate_filters('{"namespace": 3}')$$, 'ZA204', NULL, 'a number as namespace raises ZA204');
SELECT throws_ok($$SELECT animus.memory_validate_filters('{"namespace": []}')$$, 'ZA204', NULL, 'an empty list raises ZA204');
SELECT throws_ok($$SELECT animus.memory_validate_filters('{"memory_type": ["a", 1]}')$$, 'ZA204', NULL, 'a list with a non-string raises ZA204');
SELECT throws_ok($$SELECT animus.memory_validate_filters('{"namespace": {"eq": "a", "prefix": "b"}}')$$, 'ZA204', NULL, 'two operators in one object raise ZA204');
SELECT throws_ok($$SELECT animus.memory_validate_filters('{"metadata": "x"}')$$, 'ZA204', NULL, 'metadata that is not an object raises ZA204');
SELECT throws_ok($$SELECT animus.memory_validate_filters('{"created_at": {"gte": "not a time"}}')$$, 'ZA204', NULL, 'an unparsable timestamp raises ZA204');
SELECT throws_ok($$SELECT animus.memory_validate_filters('{"created_at": "2026-01-01"}')$$, 'ZA204', NULL, 'created_at that is not an object raises ZA204');
SELECT throws_ok($$SELECT animus.memory_validate_filters('{"tenant": "a"}')$$, 'ZA205', NULL, 'an unknown key raises ZA205');
SELECT throws_ok($$SELECT animus.memory_validate_filters('{"namespace": {"like": "a%"}}')$$, 'ZA206', NULL, 'an unknown namespace operator raises ZA206');
SELECT throws_ok($$SELECT animus.memory_validate_filters('{"created_at": {"after": "2026-01-01"}}')$$, 'ZA206', NULL, 'an unknown created_at operator raises ZA206');

-- the predicate
CREATE FUNCTION pg_temp.m(f jsonb, ns text, t text, s text, md jsonb, at timestamptz) RETURNS boolean LANGUAGE sql AS $$
    SELECT animus.memory_filter_match(animus.memory_validate_filters(f), ns, t, s, md, at)
$$;
SELECT is(pg_temp.m('{}', 'a', 'fact', NULL, '{}', now()), true, 'no filter matches everything');
SELECT is(pg_temp.m('{"namespace": ["a", "b"]}', 'b', 'fact', NULL, '{}', now()), true, 'namespace in a list matches');
SELECT is(pg_temp.m('{"namespace": "a"}', 'b', 'fact', NULL, '{}', now()), false, 'another namespace does not match');
SELECT is(pg_temp.m('{"namespace": {"prefix": "team/"}}', 'team/7', 'fact', NULL, '{}', now()), true, 'a namespace prefix matches');
SELECT is(coalesce(pg_temp.m('{"source": "chat"}', 'a', 'fact', NULL, '{}', now()), false), false, 'a source filter does not match a NULL source');
SELECT is(pg_temp.m('{"metadata": {"topic": "x"}}', 'a', 'fact', NULL, '{"topic": "x", "n": 1}', now()), true, 'metadata containment matches');
SELECT is(pg_temp.m('{"created_at": {"gte": "2026-01-01T00:00:00Z", "lt": "2026-02-01T00:00:00Z"}}', 'a', 'fact', NULL, '{}',
                    '2026-01-15T00:00:00Z'), true, 'a created_at range matches inside');
SELECT is(pg_temp.m('{"created_at": {"gte": "2026-01-01T00:00:00Z", "lt": "2026-02-01T00:00:00Z"}}', 'a', 'fact', NULL, '{}',
                    '2026-02-01T00:00:00Z'), false, 'the lt bound is exclusive');

SELECT * FROM finish();
ROLLBACK;
