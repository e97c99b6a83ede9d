-- The foundation every other part stands on: schema, extensions, roles, error codes, privileges.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(16);

SELECT has_schema('animus', 'schema animus exists');
SELECT has_extension('vector', 'pgvector is installed');
SELECT has_extension('pgmq', 'pgmq is installed');
SELECT ok((SELECT string_to_array(extversion, '.')::int[] >= '{0,8,0}' FROM pg_extension WHERE extname = 'vector'),
          'pgvector is at least 0.8 (iterative HNSW scans)');
SELECT ok((SELECT string_to_array(extversion, '.')::int[] >= '{1,5,0}' FROM pg_extension WHERE extname = 'pgmq'),
          'pgmq is at least 1.5');

SELECT has_role('animus_producer', 'role animus_producer exists');
SELECT has_role('animus_worker', 'role animus_worker exists');
SELECT has_role('animus_memory_reader', 'role animus_memory_reader exists');
SELECT has_role('animus_memory_writer', 'role animus_memory_writer exists');
SELECT has_role('animus_admin', 'role animus_admin exists');

SELECT has_table('animus', 'error_codes', 'the SQLSTATE table exists');
SELECT is_empty(
    $$SELECT sqlstate FROM animus.error_codes WHERE sqlstate !~ '^ZA[0-9A-Z]{3}$' OR hint = ''$$,
    'every project SQLSTATE is in class ZA and has a hint');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'animus' AND has_function_privilege('public', p.oid, 'EXECUTE')$$,
    'no function in schema animus is executable by PUBLIC');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'animus' AND p.prosecdef
        AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)$$,
    'every SECURITY DEFINER function in schema animus pins search_path = pg_catalog, pg_temp (pg_temp last)');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
             unnest(p.proconfig) AS c
      WHERE n.nspname = 'animus' AND c LIKE 'search_path=%' AND c NOT LIKE '%, pg\_temp'$$,
    'every function in schema animus that pins a search_path names pg_temp last (definer callers run it as the owner)');

SELECT is_empty(
    $$SELECT c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = 'animus'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0
        AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL$$,
    'every column of every animus table has a comment (\d+ documents it)');

SELECT * FROM finish();
ROLLBACK;
