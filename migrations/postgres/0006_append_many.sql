-- Appends to several streams in one call, each request with its own expectation, atomically: what
-- `appendMultiple` and `archiver append` of mixed-stream JSON lines send. Before, the store ran a transaction
-- of one `append` call per request, a round trip each (a batch of 500 events over 500 streams: 500 round
-- trips; 1M such events took 4 minutes).
--
-- Requests are `p_streams[k]`, `p_expected[k]` and `p_counts[k]` events; the events of all requests follow
-- one another in `p_ids`, `p_types`, `p_data` and `p_metadata`. A stream may appear in several requests: each
-- is checked against the version the requests before it left. The stream rows are locked in name order, so
-- crossed calls cannot deadlock on them. Positions are drawn after the locks, in event order. The result is a
-- JSON array with one object per request (the same objects as `append`'s); one idempotency key covers the
-- whole call. Errors: AR001 (wrong expected version; DETAIL = the stream's actual version, HINT = the
-- request's index from 0) and AR002 (idempotency conflict).
CREATE FUNCTION {{schema}}.append_many(
    p_streams text[], p_expected text[], p_counts integer[], p_idempotency_key text, p_request_hash text,
    p_ids uuid[], p_types text[], p_data json[], p_metadata json[],
    OUT out_result text, OUT out_replayed boolean
)
LANGUAGE plpgsql AS $$
DECLARE
    v_now bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    v_hash text;
    v_stored text;
    v_failed integer;
    v_actual bigint;
    v_before bigint[];
    v_positions bigint[];
    v_event_streams text[];
    v_event_versions bigint[];
    v_result text;
BEGIN
    -- The transaction takes its id BEFORE its positions (the safe high-water mark relies on it).
    PERFORM pg_current_xact_id();

    IF p_idempotency_key IS NOT NULL THEN
        INSERT INTO {{schema}}.idempotency AS i (key, request_hash, result, created_at)
        VALUES (p_idempotency_key, p_request_hash, '', v_now)
        ON CONFLICT (key) DO NOTHING;
        IF NOT FOUND THEN
            SELECT i.request_hash, i.result INTO v_hash, v_stored
            FROM {{schema}}.idempotency i WHERE i.key = p_idempotency_key;
            IF v_hash IS DISTINCT FROM p_request_hash OR v_stored = '' THEN
                RAISE EXCEPTION 'idempotency key used for a different request' USING ERRCODE = 'AR002';
            END IF;
            out_result := v_stored;
            out_replayed := true;
            RETURN;
        END IF;
    END IF;

    -- Every stream's row, created at version 0 when new, then locked in name order.
    INSERT INTO {{schema}}.streams (stream, version, last_position)
    SELECT DISTINCT s, 0, 0 FROM unnest(p_streams) AS u(s) ORDER BY 1
    ON CONFLICT (stream) DO NOTHING;
    PERFORM 1 FROM {{schema}}.streams s WHERE s.stream = ANY(p_streams) ORDER BY s.stream FOR UPDATE;

    -- Each request's starting version: its stream's version plus the events of the requests before it.
    SELECT array_agg(r.before ORDER BY r.k) INTO v_before
    FROM (
        SELECT u.k, s.version + coalesce(sum(u.n) OVER (
                   PARTITION BY u.s ORDER BY u.k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
        FROM unnest(p_streams, p_counts) WITH ORDINALITY AS u(s, n, k)
        JOIN {{schema}}.streams s ON s.stream = u.s
    ) r;

    SELECT u.k, v_before[u.k] INTO v_failed, v_actual
    FROM unnest(p_expected) WITH ORDINALITY AS u(e, k)
    WHERE NOT CASE u.e
                  WHEN 'any' THEN true
                  WHEN 'no-stream' THEN v_before[u.k] = 0
                  WHEN 'exists' THEN v_before[u.k] > 0
                  ELSE v_before[u.k] = u.e::bigint
              END
    ORDER BY u.k LIMIT 1;
    IF v_failed IS NOT NULL THEN
        RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'AR001', DETAIL = v_actual::text,
            HINT = (v_failed - 1)::text;
    END IF;

    SELECT array_agg(g.p ORDER BY g.p) INTO v_positions
    FROM (SELECT nextval('{{schema}}.positions_seq') AS p FROM generate_series(1, cardinality(p_ids))) g;

    -- Each event's stream and version, in event order.
    SELECT array_agg(r.s ORDER BY r.k, r.i), array_agg(v_before[r.k] + r.i ORDER BY r.k, r.i)
    INTO v_event_streams, v_event_versions
    FROM (
        SELECT u.k, u.s, generate_series(1, u.n) AS i FROM unnest(p_streams, p_counts) WITH ORDINALITY AS u(s, n, k)
    ) r;

    INSERT INTO {{schema}}.events (position, stream, version, id, type, data, metadata, recorded_at)
    SELECT e.position, e.stream, e.version, e.id, e.type, e.data, e.metadata, v_now
    FROM unnest(v_positions, v_event_streams, v_event_versions, p_ids, p_types, p_data, p_metadata)
        AS e(position, stream, version, id, type, data, metadata);

    UPDATE {{schema}}.streams s SET version = h.version, last_position = h.position
    FROM (
        SELECT e.stream, max(e.version) AS version, max(e.position) AS position
        FROM unnest(v_event_streams, v_event_versions, v_positions) AS e(stream, version, position)
        GROUP BY e.stream
    ) h
    WHERE s.stream = h.stream;

    SELECT json_agg(json_build_object(
               'stream', r.s, 'firstVersion', v_before[r.k] + 1, 'lastVersion', v_before[r.k] + r.n,
               'firstPosition', v_positions[(r.last - r.n + 1)::integer], 'lastPosition', v_positions[r.last::integer],
               'eventIDs', to_json(p_ids[(r.last - r.n + 1)::integer:r.last::integer]::text[]), 'replayed', false) ORDER BY r.k)::text
    INTO v_result
    FROM (
        SELECT u.k, u.s, u.n, sum(u.n) OVER (ORDER BY u.k) AS last
        FROM unnest(p_streams, p_counts) WITH ORDINALITY AS u(s, n, k)
    ) r;

    IF p_idempotency_key IS NOT NULL THEN
        UPDATE {{schema}}.idempotency i SET result = v_result WHERE i.key = p_idempotency_key;
    END IF;

    out_result := v_result;
    out_replayed := false;
END
$$;
