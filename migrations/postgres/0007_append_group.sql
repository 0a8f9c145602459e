-- Commits a group of single-stream append calls in one transaction (group commit): what a store sends when
-- calls arrive while its previous commit is in flight. Each call runs `append` in a block of its own (a
-- subtransaction), so a wrong expected version (AR001) or an idempotency conflict (AR002) rolls back that call
-- alone and is returned as its result; any other error fails the whole group, which the store then runs call
-- by call.
--
-- Calls are `p_streams[k]`, `p_expected[k]`, `p_keys[k]`, `p_hashes[k]` and `p_counts[k]` events; the events
-- of all calls follow one another in `p_ids`, `p_types`, `p_data` and `p_metadata`. The store sends calls in
-- stream-name order, so two groups lock their stream rows in the same order. One row per call: its index
-- from 1, and either `append`'s result or the error's SQLSTATE and DETAIL.
CREATE FUNCTION {{schema}}.append_group(
    p_streams text[], p_expected text[], p_keys text[], p_hashes text[], p_counts integer[],
    p_ids uuid[], p_types text[], p_data json[], p_metadata json[]
) RETURNS TABLE (out_index integer, out_result text, out_replayed boolean, out_error text, out_detail text)
LANGUAGE plpgsql AS $$
DECLARE
    v_offset integer := 0;
    v_last integer;
    v_result text;
    v_replayed boolean;
    v_state text;
    v_detail text;
BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_streams), 0) LOOP
        v_last := v_offset + p_counts[i];
        BEGIN
            SELECT a.out_result, a.out_replayed INTO v_result, v_replayed
            FROM {{schema}}.append(
                p_streams[i], p_expected[i], p_keys[i], p_hashes[i], p_ids[v_offset + 1 : v_last],
                p_types[v_offset + 1 : v_last], p_data[v_offset + 1 : v_last], p_metadata[v_offset + 1 : v_last]) a;
            out_index := i;
            out_result := v_result;
            out_replayed := v_replayed;
            out_error := NULL;
            out_detail := NULL;
        EXCEPTION WHEN SQLSTATE 'AR001' OR SQLSTATE 'AR002' THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_detail = PG_EXCEPTION_DETAIL;
            out_index := i;
            out_result := NULL;
            out_replayed := false;
            out_error := v_state;
            out_detail := v_detail;
        END;
        RETURN NEXT;
        v_offset := v_last;
    END LOOP;
END
$$;
