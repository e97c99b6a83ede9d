-- Deploy animus:memory_review to pg
-- requires: memory_lifecycle

BEGIN;

-- Review scheduling with FSRS-4.5 (docs/memory-lifecycle.md, "Review"): the Free Spaced
-- Repetition Scheduler of open-spaced-repetition (fsrs4anki v4.5, py-fsrs 3.x), with its
-- published default weights w0..w16. A memory's retention state is its stability S (days until
-- retrievability falls to 90 %), difficulty D (1..10), reps, lapses and last review:
--   R(t, S)  = (1 + 19/81 * t / S) ^ -0.5                      (t: days since the last review)
--   first review with grade G (1 again, 2 hard, 3 good, 4 easy):
--            S = w[G-1],  D = clamp(w4 - w5 * (G - 3), 1, 10)
--   later:   D' = clamp(w7 * w4 + (1 - w7) * (D - w6 * (G - 3)), 1, 10)
--            G = 1: S' = w11 * D^-w12 * ((S + 1)^w13 - 1) * e^(w14 * (1 - R))
--            else:  S' = S * (1 + e^w8 * (11 - D) * S^-w9 * (e^(w10 * (1 - R)) - 1) * (w15 if G = 2) * (w16 if G = 4))
--   next due: last review + S' / (19/81) * (r^(1/-0.5) - 1) days, r = desired_retention (0.9: S' days).
-- Days are fractional (the scheduler of an agent's memory is not bound to calendar days).
CREATE TABLE animus.memory_review_settings (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    weights            double precision[] NOT NULL CHECK (pg_catalog.cardinality(weights) = 17),
    desired_retention  double precision NOT NULL DEFAULT 0.9 CHECK (desired_retention > 0 AND desired_retention < 1),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE animus.memory_review_settings IS 'The FSRS-4.5 parameters of review_memory (one row): weights w0..w16 and the desired retention.';
COMMENT ON COLUMN animus.memory_review_settings.singleton IS 'Always true: the table holds one row.';
COMMENT ON COLUMN animus.memory_review_settings.weights IS 'FSRS-4.5 weights w0..w16 (default: the published defaults of FSRS-4.5).';
COMMENT ON COLUMN animus.memory_review_settings.desired_retention IS 'The retrievability at which a memory falls due (0.9: due after S days).';
COMMENT ON COLUMN animus.memory_review_settings.updated_at IS 'When the parameters last changed.';
INSERT INTO animus.memory_review_settings (weights) VALUES
    ('{0.4872, 1.4003, 3.7145, 13.8206, 5.1618, 1.2298, 0.8975, 0.031, 1.6474, 0.1367, 1.0461, 2.1072, 0.0793, 0.3246, 1.587, 0.2272, 2.8755}');
GRANT SELECT ON animus.memory_review_settings TO animus_memory_reader, animus_admin;

CREATE TABLE animus.memory_reviews (
    memory_id    bigint PRIMARY KEY REFERENCES animus.memories (id) ON DELETE CASCADE,
    stability    double precision NOT NULL CHECK (stability > 0),
    difficulty   double precision NOT NULL CHECK (difficulty BETWEEN 1 AND 10),
    reps         integer NOT NULL CHECK (reps > 0),
    lapses       integer NOT NULL DEFAULT 0 CHECK (lapses >= 0),
    last_grade   smallint NOT NULL CHECK (last_grade BETWEEN 1 AND 4),
    last_review  timestamptz NOT NULL,
    due_at       timestamptz NOT NULL
);
CREATE INDEX memory_reviews_due_at ON animus.memory_reviews (due_at);
COMMENT ON TABLE animus.memory_reviews IS 'The FSRS retention state of each reviewed memory (review_memory); removed with its memory.';
COMMENT ON COLUMN animus.memory_reviews.memory_id IS 'The memory reviewed.';
COMMENT ON COLUMN animus.memory_reviews.stability IS 'FSRS stability S in days: the time for retrievability to fall from 1 to 0.9.';
COMMENT ON COLUMN animus.memory_reviews.difficulty IS 'FSRS difficulty D, 1 (easy) to 10 (hard).';
COMMENT ON COLUMN animus.memory_reviews.reps IS 'How many reviews the memory had.';
COMMENT ON COLUMN animus.memory_reviews.lapses IS 'How many of them were graded 1 (again: forgotten).';
COMMENT ON COLUMN animus.memory_reviews.last_grade IS 'The grade of the last review: 1 again, 2 hard, 3 good, 4 easy.';
COMMENT ON COLUMN animus.memory_reviews.last_review IS 'When the memory was last reviewed.';
COMMENT ON COLUMN animus.memory_reviews.due_at IS 'When retrievability falls to the desired retention: the memory is due for review from then on.';
GRANT SELECT ON animus.memory_reviews TO animus_admin;

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA222', 'memory_grade_invalid', 'A review grade is outside the FSRS scale 1..4.', 'Grade 1 (again: forgotten), 2 (hard), 3 (good) or 4 (easy).'),
    ('ZA223', 'memory_review_time_invalid', 'A review time is earlier than the memory''s last review.', 'Review in time order; omit reviewed_at for now().'),
    ('ZA224', 'memory_boost_invalid', 'A weight of memory_boost is outside [0, 1], or recency_half_life is not positive.', 'Use weights in [0, 1] (0 = off) and a positive half-life such as ''30 days''.');

-- R(t, S) of FSRS-4.5.
CREATE FUNCTION animus.memory_retrievability(stability double precision, elapsed_days double precision)
    RETURNS double precision
    IMMUTABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN CASE WHEN stability IS NULL OR elapsed_days IS NULL THEN NULL
            ELSE pg_catalog.power(1 + 19.0 / 81.0 * greatest(elapsed_days, 0) / stability, -0.5) END;
COMMENT ON FUNCTION animus.memory_retrievability(double precision, double precision) IS
    'FSRS-4.5 forgetting curve: probability of recall elapsed_days after a review of a memory with stability days, '
    '(1 + 19/81 * t / S)^-0.5 (0.9 at t = S). NULL for NULL input. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_retrievability(double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_retrievability(double precision, double precision) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The FSRS-4.5 step, pure: state after a review with grade at elapsed_days.
CREATE FUNCTION animus.memory_fsrs_step(
    w double precision[], grade integer, stability double precision, difficulty double precision, elapsed_days double precision,
    OUT new_stability double precision, OUT new_difficulty double precision, OUT retrievability double precision)
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF stability IS NULL THEN   -- first review (w is 1-based here: w[1] is w0)
        new_stability := greatest(w[grade], 0.1);
        new_difficulty := least(greatest(w[5] - w[6] * (grade - 3), 1), 10);
        retrievability := NULL;
        RETURN;
    END IF;
    retrievability := animus.memory_retrievability(stability, elapsed_days);
    new_difficulty := least(greatest(w[8] * w[5] + (1 - w[8]) * (difficulty - w[7] * (grade - 3)), 1), 10);
    IF grade = 1 THEN
        new_stability := w[12] * power(difficulty, -w[13]) * (power(stability + 1, w[14]) - 1) * exp(w[15] * (1 - retrievability));
    ELSE
        new_stability := stability * (1 + exp(w[9]) * (11 - difficulty) * power(stability, -w[10])
                                          * (exp(w[11] * (1 - retrievability)) - 1)
                                          * CASE WHEN grade = 2 THEN w[16] ELSE 1 END
                                          * CASE WHEN grade = 4 THEN w[17] ELSE 1 END);
    END IF;
    new_stability := greatest(new_stability, 0.01);
END
$$;
COMMENT ON FUNCTION animus.memory_fsrs_step(double precision[], integer, double precision, double precision, double precision) IS
    'One FSRS-4.5 review: from (stability, difficulty) (NULL stability: first review) and a grade 1..4 after elapsed_days, the new '
    'stability and difficulty and the retrievability at review time (NULL on the first). w holds w0..w16 (w[1] is w0). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_fsrs_step(double precision[], integer, double precision, double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_fsrs_step(double precision[], integer, double precision, double precision, double precision) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE FUNCTION animus.review_memory(
    id           bigint      DEFAULT NULL,
    grade        integer     DEFAULT NULL,
    reviewed_at  timestamptz DEFAULT now())
    RETURNS TABLE (memory_id bigint, stability double precision, difficulty double precision, retrievability double precision,
                   reps integer, lapses integer, last_review timestamptz, due_at timestamptz)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    wscope text[] := animus.memory_write_scope();
    rscope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
    cur animus.memory_reviews%ROWTYPE;
    cfg animus.memory_review_settings%ROWTYPE;
    step record;
    t double precision;
BEGIN
    IF review_memory.id IS NULL OR review_memory.reviewed_at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id and reviewed_at must not be NULL',
            HINT = 'Pass the id of the memory and a grade; reviewed_at defaults to now().';
    END IF;
    IF review_memory.grade IS NULL OR review_memory.grade NOT BETWEEN 1 AND 4 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA222', MESSAGE = 'grade must be 1, 2, 3 or 4',
            DETAIL = pg_catalog.format('grade = %s', review_memory.grade),
            HINT = 'FSRS grades: 1 again (forgotten), 2 hard, 3 good, 4 easy.';
    END IF;
    PERFORM 1 FROM animus.memories AS m
     WHERE m.id = review_memory.id AND ('*' = ANY (wscope) OR m.namespace = ANY (wscope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer)
       FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s', review_memory.id),
            HINT = 'Review a memory of a namespace you may write.';
    END IF;
    SELECT s.* INTO cfg FROM animus.memory_review_settings AS s;
    SELECT r.* INTO cur FROM animus.memory_reviews AS r WHERE r.memory_id = review_memory.id FOR UPDATE;
    IF FOUND AND review_memory.reviewed_at < cur.last_review THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA223', MESSAGE = 'reviewed_at must not be before the last review',
            DETAIL = pg_catalog.format('reviewed_at = %s, last review = %s', review_memory.reviewed_at, cur.last_review),
            HINT = 'Record reviews in time order; omit reviewed_at for now().';
    END IF;
    t := CASE WHEN cur.memory_id IS NULL THEN NULL
              ELSE extract(epoch FROM review_memory.reviewed_at - cur.last_review)::double precision / 86400 END;
    step := animus.memory_fsrs_step(cfg.weights, review_memory.grade, cur.stability, cur.difficulty, t);
    RETURN QUERY
    INSERT INTO animus.memory_reviews AS r (memory_id, stability, difficulty, reps, lapses, last_grade, last_review, due_at)
    VALUES (review_memory.id, step.new_stability, step.new_difficulty, 1, CASE WHEN review_memory.grade = 1 THEN 1 ELSE 0 END,
            review_memory.grade, review_memory.reviewed_at,
            review_memory.reviewed_at + pg_catalog.make_interval(secs => step.new_stability / (19.0 / 81.0)
                                        * (pg_catalog.power(cfg.desired_retention, 1 / -0.5) - 1) * 86400))
    ON CONFLICT ON CONSTRAINT memory_reviews_pkey DO UPDATE
       SET stability = EXCLUDED.stability, difficulty = EXCLUDED.difficulty, reps = r.reps + 1,
           lapses = r.lapses + EXCLUDED.lapses, last_grade = EXCLUDED.last_grade,
           last_review = EXCLUDED.last_review, due_at = EXCLUDED.due_at
    RETURNING r.memory_id, r.stability, r.difficulty, step.retrievability, r.reps, r.lapses, r.last_review, r.due_at;
END
$$;
COMMENT ON FUNCTION animus.review_memory(bigint, integer, timestamptz) IS
    'Records a review of memory id with an FSRS grade (1 again, 2 hard, 3 good, 4 easy) at reviewed_at and returns its new retention '
    'state: stability, difficulty, the retrievability it had at the review (NULL on the first), reps, lapses, last_review and due_at '
    '(when retrievability falls to animus.memory_review_settings.desired_retention). FSRS-4.5 with the weights of '
    'animus.memory_review_settings (docs/memory-lifecycle.md). Only memories of the caller''s write scope that it sees; runs as the owner '
    '(SECURITY DEFINER). Raises ZA001, ZA207 (unknown or invisible memory), ZA222 (grade outside 1..4), ZA223 (before the last review).';
REVOKE ALL ON FUNCTION animus.review_memory(bigint, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.review_memory(bigint, integer, timestamptz) TO animus_memory_writer, animus_admin;

CREATE FUNCTION animus.due_memories(
    namespace  text        DEFAULT NULL,
    at         timestamptz DEFAULT now(),
    lim        integer     DEFAULT 100)
    RETURNS TABLE (memory_id bigint, memory_namespace text, content text, due_at timestamptz, stability double precision,
                   difficulty double precision, retrievability double precision, reps integer, lapses integer)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    rscope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
    st jsonb := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('include_superseded', false, 'viewer', viewer));
BEGIN
    IF due_memories.at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'at must not be NULL', HINT = 'Omit it for now().';
    END IF;
    PERFORM animus.memory_check_limit(due_memories.lim, 'lim');
    RETURN QUERY
    SELECT r.memory_id, m.namespace, m.content, r.due_at, r.stability, r.difficulty,
           animus.memory_retrievability(r.stability, extract(epoch FROM due_memories.at - r.last_review)::double precision / 86400),
           r.reps, r.lapses
      FROM animus.memory_reviews AS r
      JOIN animus.memories AS m ON m.id = r.memory_id
     WHERE r.due_at <= due_memories.at
       AND (due_memories.namespace IS NULL OR m.namespace = due_memories.namespace)
       AND NOT m.pinned
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer)
       AND animus.memory_state_match(st, m.metadata -> '_animus')
     ORDER BY r.due_at, r.memory_id
     LIMIT due_memories.lim;
END
$$;
COMMENT ON FUNCTION animus.due_memories(text, timestamptz, integer) IS
    'The reviewed memories due at at (due_at <= at), earliest first, at most lim (1..1000): their FSRS state and retrievability at at. '
    'Only live memories the caller sees (not pinned, expired, superseded or private to another role), of namespace when given. '
    'Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001, ZA002 (lim outside 1..1000).';
REVOKE ALL ON FUNCTION animus.due_memories(text, timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.due_memories(text, timestamptz, integer) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The score weighting proposed for hybrid_search (docs/memory-lifecycle.md, "Proposal"):
-- every factor is 1 when its weight is 0, so the defaults leave scores (and ranks) unchanged.
CREATE FUNCTION animus.memory_boost(
    score                  double precision DEFAULT NULL,
    retrievability         double precision DEFAULT NULL,
    age                    interval         DEFAULT NULL,
    importance             double precision DEFAULT NULL,
    retrievability_weight  double precision DEFAULT 0,
    recency_weight         double precision DEFAULT 0,
    recency_half_life      interval         DEFAULT '30 days',
    importance_weight      double precision DEFAULT 0)
    RETURNS double precision
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF retrievability_weight IS NULL OR recency_weight IS NULL OR importance_weight IS NULL
       OR retrievability_weight NOT BETWEEN 0 AND 1 OR recency_weight NOT BETWEEN 0 AND 1 OR importance_weight NOT BETWEEN 0 AND 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA224', MESSAGE = 'retrievability_weight, recency_weight and importance_weight must be in [0, 1]',
            DETAIL = format('retrievability_weight = %s, recency_weight = %s, importance_weight = %s',
                            retrievability_weight, recency_weight, importance_weight),
            HINT = '0 switches a factor off (the default).';
    END IF;
    IF recency_half_life IS NULL OR recency_half_life <= interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA224', MESSAGE = 'recency_half_life must be a positive interval',
            DETAIL = format('recency_half_life = %s', recency_half_life), HINT = 'Pass e.g. ''30 days''.';
    END IF;
    RETURN score
        * (1 - retrievability_weight + retrievability_weight * coalesce(retrievability, 1))
        * (1 - recency_weight + recency_weight
               * CASE WHEN age IS NULL THEN 1
                      ELSE power(0.5, greatest(extract(epoch FROM age), 0) / extract(epoch FROM recency_half_life)) END)
        * (1 - importance_weight + importance_weight * least(greatest(coalesce(importance, 1), 0), 1));
END
$$;
COMMENT ON FUNCTION animus.memory_boost(double precision, double precision, interval, double precision, double precision, double precision, interval, double precision) IS
    'A search score weighted by retrievability (FSRS, 1 when never reviewed), recency (0.5^(age / recency_half_life)) and importance '
    '(clamped to [0, 1], 1 when unset): score x (1 - wr + wr R) x (1 - wc + wc 0.5^(age/h)) x (1 - wi + wi I). With every weight 0 '
    '(the defaults) it returns score unchanged. Raises ZA224 (a weight outside [0, 1], half-life <= 0).';
REVOKE ALL ON FUNCTION animus.memory_boost(double precision, double precision, interval, double precision, double precision, double precision, interval, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_boost(double precision, double precision, interval, double precision, double precision, double precision, interval, double precision) TO animus_memory_reader, animus_memory_writer, animus_admin;

COMMIT;
