-- The append function with a path for the commonest call, one event: its position comes from nextval() and
-- its row from INSERT ... VALUES, instead of a generate_series() subquery and an INSERT ... SELECT over
-- generate_subscripts() (each a query the executor runs). Measured with pgbench, one client, one event per
-- transaction: 0.64x -> 0.7-0.9x of a plain INSERT (docs/PERFORMANCE.md). Same semantics as 0002.
CREATE OR REPLACE FUNCTION {{schema}}.append(
    p_stream text, p_expected text, p_idempotency_key text, p_request_hash text,
    p_ids uuid[], p_types text[], p_data json[], p_metadata json[]
) RETURNS TABLE (out_result text, out_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer := cardinality(p_ids);
    v_now bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    v_hash text;
    v_stored text;
    v_current bigint;
    v_ok boolean;
    v_positions bigint[];
    v_result text;
BEGIN
    -- The transaction takes its id BEFORE its positions: the safe high-water mark relies on every
    -- transaction that holds a position having had an xid when that position was handed out.
    PERFORM pg_current_xact_id();

    IF p_idempotency_key IS NOT NULL THEN
        -- Concurrent duplicates serialise on the unique index: the second waits for the first to finish.
        INSERT INTO {{schema}}.idempotency AS i (key, request_hash, result, created_at)
        VALUES (p_idempotency_key, p_request_hash, '', v_now)
        ON CONFLICT (key) DO NOTHING;
        IF NOT FOUND THEN
            SELECT i.request_hash, i.result INTO v_hash, v_stored
            FROM {{schema}}.idempotency i WHERE i.key = p_idempotency_key;
            IF v_hash IS DISTINCT FROM p_request_hash OR v_stored = '' THEN
                RAISE EXCEPTION 'idempotency key used for a different request' USING ERRCODE = 'AR002';
            END IF;
            RETURN QUERY SELECT v_stored, true;
            RETURN;
        END IF;
    END IF;

    SELECT s.version INTO v_current FROM {{schema}}.streams s WHERE s.stream = p_stream FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO {{schema}}.streams AS s (stream, version, last_position) VALUES (p_stream, 0, 0)
        ON CONFLICT (stream) DO NOTHING;
        SELECT s.version INTO v_current FROM {{schema}}.streams s WHERE s.stream = p_stream FOR UPDATE;
    END IF;

    v_ok := CASE p_expected
        WHEN 'any' THEN true
        WHEN 'no-stream' THEN v_current = 0
        WHEN 'exists' THEN v_current > 0
        ELSE v_current = p_expected::bigint
    END;
    IF NOT v_ok THEN
        RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'AR001', DETAIL = v_current::text;
    END IF;

    IF v_n = 1 THEN
        v_positions := ARRAY[nextval('{{schema}}.positions_seq')];
        INSERT INTO {{schema}}.events (position, stream, version, id, type, data, metadata, recorded_at)
        VALUES (v_positions[1], p_stream, v_current + 1, p_ids[1], p_types[1], p_data[1], p_metadata[1], v_now);
    ELSE
        SELECT array_agg(g.p ORDER BY g.p) INTO v_positions
        FROM (SELECT nextval('{{schema}}.positions_seq') AS p FROM generate_series(1, v_n)) g;

        INSERT INTO {{schema}}.events (position, stream, version, id, type, data, metadata, recorded_at)
        SELECT v_positions[k], p_stream, v_current + k, p_ids[k], p_types[k], p_data[k], p_metadata[k], v_now
        FROM generate_subscripts(p_ids, 1) AS k;
    END IF;

    UPDATE {{schema}}.streams s SET version = v_current + v_n, last_position = v_positions[v_n]
    WHERE s.stream = p_stream;

    v_result := json_build_array(json_build_object(
        'stream', p_stream, 'firstVersion', v_current + 1, 'lastVersion', v_current + v_n,
        'firstPosition', v_positions[1], 'lastPosition', v_positions[v_n],
        'eventIDs', to_json(p_ids::text[]), 'replayed', false))::text;

    IF p_idempotency_key IS NOT NULL THEN
        UPDATE {{schema}}.idempotency i SET result = v_result WHERE i.key = p_idempotency_key;
    END IF;

    RETURN QUERY SELECT v_result, false;
END
$$;
