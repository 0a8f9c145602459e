-- The append function with fewer statements per call (same semantics and arguments as 0002 and 0004; the
-- result is one row of OUT parameters instead of a RETURNS TABLE set, so `SELECT out_result, out_replayed
-- FROM append(...)` reads it as before without a tuplestore per call):
-- - One UPDATE locks the stream's row, checks the expectation against its latest version and moves the
--   head; for one event it also draws the position, after the lock (a writer that waited for the row
--   re-evaluates the statement, drawing a new one), so a stream's versions and positions rise together.
--   Before, an append to an existing stream ran SELECT ... FOR UPDATE, nextval, INSERT and UPDATE, and the
--   first append to a stream also an INSERT of a version-0 row and a second SELECT.
-- - A new stream's row is inserted once, with its final version.
-- - Several events are inserted from unnest() WITH ORDINALITY: array subscripts of json[] and text[] walk
--   the array from its start on every access.
DROP FUNCTION IF EXISTS {{schema}}.append(text,text,text,text,uuid[],text[],json[],json[]);
CREATE FUNCTION {{schema}}.append(
    p_stream text, p_expected text, p_idempotency_key text, p_request_hash text,
    p_ids uuid[], p_types text[], p_data json[], p_metadata json[],
    OUT out_result text, OUT out_replayed boolean
)
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer := cardinality(p_ids);
    v_now bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    v_hash text;
    v_stored text;
    v_current bigint;
    v_version bigint;
    v_first bigint;
    v_last bigint;
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
            out_result := v_stored;
            out_replayed := true;
            RETURN;
        END IF;
    END IF;

    FOR attempt IN 1..2 LOOP
        UPDATE {{schema}}.streams s
        SET version = s.version + v_n,
            last_position = CASE WHEN v_n = 1 THEN nextval('{{schema}}.positions_seq') ELSE s.last_position END
        WHERE s.stream = p_stream
          AND CASE p_expected
                  WHEN 'any' THEN true
                  WHEN 'no-stream' THEN s.version = 0
                  WHEN 'exists' THEN s.version > 0
                  ELSE s.version = p_expected::bigint
              END
        RETURNING s.version, s.last_position INTO v_version, v_last;
        EXIT WHEN FOUND;

        -- No row matched: the stream is new, or the expectation failed.
        IF p_expected IN ('any', 'no-stream', '0') THEN
            -- A new stream, inserted with its final version. If it exists (or a concurrent append creates it
            -- first, which this waits for), nothing is inserted.
            INSERT INTO {{schema}}.streams AS s (stream, version, last_position)
            VALUES (p_stream, v_n, CASE WHEN v_n = 1 THEN nextval('{{schema}}.positions_seq') ELSE 0 END)
            ON CONFLICT (stream) DO NOTHING
            RETURNING s.version, s.last_position INTO v_version, v_last;
            EXIT WHEN FOUND;
            -- It exists: `any` takes the UPDATE path again.
            CONTINUE WHEN p_expected = 'any';
        END IF;
        SELECT s.version INTO v_current FROM {{schema}}.streams s WHERE s.stream = p_stream;
        RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'AR001', DETAIL = coalesce(v_current, 0)::text;
    END LOOP;
    IF v_version IS NULL THEN
        RAISE EXCEPTION 'the stream was created concurrently; retry' USING ERRCODE = '40001';
    END IF;

    IF v_n = 1 THEN
        v_first := v_last;
        INSERT INTO {{schema}}.events (position, stream, version, id, type, data, metadata, recorded_at)
        VALUES (v_last, p_stream, v_version, p_ids[1], p_types[1], p_data[1], p_metadata[1], v_now);
    ELSE
        SELECT array_agg(g.p ORDER BY g.p) INTO v_positions
        FROM (SELECT nextval('{{schema}}.positions_seq') AS p FROM generate_series(1, v_n)) g;
        v_first := v_positions[1];
        v_last := v_positions[v_n];

        INSERT INTO {{schema}}.events (position, stream, version, id, type, data, metadata, recorded_at)
        SELECT v_positions[u.k], p_stream, v_version - v_n + u.k, u.id, u.type, u.data, u.metadata, v_now
        FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, type, data, metadata, k);

        UPDATE {{schema}}.streams s SET last_position = v_last WHERE s.stream = p_stream;
    END IF;

    v_result := json_build_array(json_build_object(
        'stream', p_stream, 'firstVersion', v_version - v_n + 1, 'lastVersion', v_version,
        'firstPosition', v_first, 'lastPosition', v_last,
        'eventIDs', to_json(p_ids::text[]), 'replayed', false))::text;

    IF p_idempotency_key IS NOT NULL THEN
        UPDATE {{schema}}.idempotency i SET result = v_result WHERE i.key = p_idempotency_key;
    END IF;

    out_result := v_result;
    out_replayed := false;
END
$$;
