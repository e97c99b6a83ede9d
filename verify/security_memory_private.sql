-- Verify animus:security_memory_private on pg

BEGIN;

DO $$
DECLARE
    tbl text;
    r   text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['animus.memories', 'animus.memory_terms', 'animus.memory_bm25_settings',
                               'animus.memory_bm25_namespace_stats', 'animus.memory_bm25_term_stats', 'animus.memory_bm25_deltas'] LOOP
        FOREACH r IN ARRAY ARRAY['animus_memory_reader', 'animus_memory_writer'] LOOP
            IF has_table_privilege(r, tbl, 'SELECT') OR has_any_column_privilege(r, tbl, 'SELECT') THEN
                RAISE EXCEPTION '% must not read % (it holds other tenants'' rows)', r, tbl;
            END IF;
        END LOOP;
        IF NOT has_table_privilege('animus_admin', tbl, 'SELECT') THEN
            RAISE EXCEPTION 'animus_admin cannot read %', tbl;
        END IF;
    END LOOP;
END $$;

ROLLBACK;
