-- Verify animus:memory_review on pg

BEGIN;

DO $$
BEGIN
    PERFORM memory_id, stability, difficulty, reps, lapses, last_grade, last_review, due_at FROM animus.memory_reviews WHERE false;
    IF (SELECT cardinality(weights) FROM animus.memory_review_settings) IS DISTINCT FROM 17 THEN
        RAISE EXCEPTION 'animus.memory_review_settings must hold the 17 FSRS-4.5 weights';
    END IF;
    IF abs(animus.memory_retrievability(10, 10) - 0.9) > 1e-9 THEN
        RAISE EXCEPTION 'animus.memory_retrievability(S, S) must be 0.9';
    END IF;
    IF NOT has_function_privilege('animus_memory_writer', 'animus.review_memory(bigint, integer, timestamptz)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_writer cannot execute animus.review_memory';
    END IF;
    IF NOT has_function_privilege('animus_memory_reader', 'animus.due_memories(text, timestamptz, integer)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_reader cannot execute animus.due_memories';
    END IF;
END $$;

ROLLBACK;
