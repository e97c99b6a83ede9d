-- hybrid_search's default candidates per branch, max(3k, 30) (docs/bm25.md, "Hybrid defaults"):
-- observed through the branch ranks the fused rows carry. 45 memories match 'tea' equally (text
-- ranks 1..45 by id) and the vector ranks them the other way round; with the keyword branch
-- weighted down, the fused top-k is the vector's, and a row has a text_rank only if the keyword
-- branch contributed that far down its list.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(4);

CREATE FUNCTION pg_temp.v(a real, b real) RETURNS vector LANGUAGE sql AS $$
    SELECT (ARRAY[a, b] || array_fill(0::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) - 2]))::vector
$$;

SELECT is((SELECT count(*)::int FROM animus.store_memories(
              (SELECT jsonb_agg(jsonb_build_object('content', 'tea w' || n, 'embedding', pg_temp.v(1, 45 - n)::text, 'memory_type', 'fact') ORDER BY n)
                 FROM generate_series(1, 45) AS n),
              namespace => 'pgtap-hybrid-candidates')), 45, 'stored 45 memories');

SELECT is((SELECT count(text_rank)::int FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 10,
              '{"namespace": "pgtap-hybrid-candidates"}', text_weight => 0.001)), 0,
          'k = 10: each branch contributes its best 30 by default (the vector''s top 10 are text ranks 36..45)');
SELECT is((SELECT count(text_rank)::int FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 10,
              '{"namespace": "pgtap-hybrid-candidates"}', text_weight => 0.001, candidates => 45)), 10,
          'an explicit candidates => 45 reaches them');
SELECT is((SELECT count(text_rank)::int FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 15,
              '{"namespace": "pgtap-hybrid-candidates"}', text_weight => 0.001)), 15,
          'k = 15: the default is 3k = 45 candidates per branch');

SELECT * FROM finish();
ROLLBACK;
