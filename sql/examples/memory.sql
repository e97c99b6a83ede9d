-- animus semantic memory in one psql session:  psql -X -f sql/examples/memory.sql "$DATABASE_URL"
-- Store a few memories, store one again (updated, not copied), then search by vector, by keywords
-- and by both (hybrid RRF). The embeddings come from a toy stand-in for a real model: each word
-- of the text lights one hashed dimension of the deployed embedding size.
\set ON_ERROR_STOP on
\pset footer off

CREATE FUNCTION pg_temp.toy_embed(t text) RETURNS vector LANGUAGE sql STABLE AS $$
    SELECT array_agg(coalesce(w.n, 0) + 0.001 ORDER BY d.i)::real[]::vector
      FROM (SELECT embedding_dim FROM animus.memory_settings) s,
           generate_series(0, s.embedding_dim - 1) AS d(i)
      LEFT JOIN (SELECT abs(hashtext(lexeme)) % (SELECT embedding_dim FROM animus.memory_settings) AS i, count(*) AS n
                   FROM unnest(to_tsvector('english', t)) GROUP BY 1) w ON w.i = d.i
$$;

\echo '-- 1. an agent stores what it learned (namespace demo); storing the same text again updates it'
SELECT m.content, s.id IS NOT NULL AS stored, s.created
  FROM (VALUES ('Kelly prefers green tea in the morning', 'preference', '{"person": "kelly"}'),
               ('Kelly is training for the Berlin marathon in September', 'fact', '{"person": "kelly"}'),
               ('The quarterly report is due on Friday', 'task', '{"project": "q3"}'),
               ('Marco drinks espresso, never tea', 'preference', '{"person": "marco"}'),
               ('Kelly prefers green tea in the morning', 'preference', '{"person": "kelly", "confidence": 0.9}'))
       AS m(content, memory_type, metadata),
       LATERAL animus.store_memory(content => m.content, embedding => pg_temp.toy_embed(m.content),
                                   memory_type => m.memory_type, metadata => m.metadata::jsonb,
                                   source => 'demo', namespace => 'demo') AS s;

\echo '-- 2. keyword search (BM25): a natural-language question, any word may match'
SELECT content, round(score::numeric, 3) AS bm25
  FROM animus.search_memory_text(query => 'what does kelly drink in the morning?', k => 3,
                                 filters => '{"namespace": "demo"}');

\echo '-- 3. vector search, only preferences'
SELECT content, round(distance::numeric, 3) AS cosine_distance
  FROM animus.search_memory_vector(query_embedding => pg_temp.toy_embed('tea preferences'), k => 3,
                                   filters => '{"namespace": "demo", "memory_type": "preference"}');

\echo '-- 4. hybrid search: both rankings fused by Reciprocal Rank Fusion; each row says why it ranked'
SELECT content, round(score::numeric, 4) AS rrf, text_rank, vector_rank
  FROM animus.hybrid_search(query_text => 'kelly marathon training',
                            query_embedding => pg_temp.toy_embed('kelly running marathon'), k => 3,
                            filters => '{"namespace": "demo"}');
