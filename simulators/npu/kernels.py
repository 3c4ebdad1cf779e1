"""The NPU model's compiled inner loops (numba): the read buffer's per-word walk and the stall replay.

Why compiled: both are sequential event loops whose state (the buffer's window, the DRAM port's queue, the
ofmap buffer's drains) depends on every earlier event, so numpy cannot vectorize them, and small arrays
with small buffers have tens of thousands of events per layer.  In Python they dominated the model's time
(2.7 s for ResNet-18's Conv1 on a 4 x 16 input-stationary array with an 8 KB ifmap buffer, ~35 numpy calls
per refill); compiled, one call handles a whole stream.  The semantics are the model's
(``model._read_buffer_walk``, ``model._stall_cycles``); these functions are only their loops.

**The walk.**  SCALE-Sim tests a buffer hit per address against every active set, and an input word of
overlapping convolution windows sits in the im2col operand once per window that covers it, so where a
fold's tile does not fit the active window the model scans the fold word by word and tests every copy of
each word.  The buffer is a ring of ``n_sets`` hit sets of ``eps`` words; the active window is the ``a``
sets from ``w0`` on (circularly).  A word hits if any of its copies lies in a set of the window; the first
word that does not hit slides the window forward by ``n * p`` sets, the fewest slides that bring one of its
copies in (``ceil((offset - a + 1) / p)``), and the scan goes on from the next word.  The two walks differ
only in where a word's copies come from: a table (forward os/ws streams) or the convolution's geometry
(input-stationary folds, whose tables would be too large to build per evaluation).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _slides(pos: int, eps: int, w0: int, n_sets: int, a: int, p: int) -> int:
    """Slides that bring buffer position ``pos`` into the window (0: it is held)."""
    off = (pos // eps - w0) % n_sets
    return 0 if off < a else (off - a + p) // p


@numba.njit(cache=True, nogil=True)
def _tile_held(lo: int, hi: int, w0: int, n_sets: int, a: int) -> bool:
    """Whether a fold's whole tile, sets lo..hi, lies in the window (then it is not scanned)."""
    off = (lo - w0) % n_sets
    return off < a and off + hi - lo < a


@numba.njit(cache=True, nogil=True)
def _record(missed: np.ndarray, m: int, fold: int, line: int, slides: int) -> np.ndarray:
    """Row m of the misses (fold, demand line within the fold, slides), growing the array by doubling."""
    if m == missed.shape[0]:
        bigger = np.empty((2 * m, 3), dtype=missed.dtype)
        bigger[:m] = missed
        missed = bigger
    missed[m, 0], missed[m, 1], missed[m, 2] = fold, line, slides
    return missed


@numba.njit(cache=True, nogil=True)
def walk_table(lo_set: np.ndarray, hi_set: np.ndarray, fold_tile: np.ndarray, bounds: np.ndarray, own: np.ndarray,
               word: np.ndarray, line: np.ndarray, table: np.ndarray, eps: int, n_sets: int, a: int, p: int
               ) -> np.ndarray:
    """Every miss of a forward (os/ws) stream whose words' copies are tabulated, as rows (fold, demand line
    within the fold, slides).  Fold k reads tile ``fold_tile[k]``, whose words are ``bounds[t]:bounds[t+1]``
    of ``own`` (own position), ``word`` (its row of ``table``, every copy's position, -1: none) and ``line``;
    its tile spans sets ``lo_set[k]..hi_set[k]`` (a tile inside the window is skipped unscanned).  Own positions
    increase along a fold, so the words held by their own copy (one run of the fold, or two where the window
    wraps around the ring) are found by binary search, not scanned."""
    missed = np.empty((1024, 3), dtype=np.int64)
    m, w0 = 0, 0
    for k in range(lo_set.shape[0]):
        if _tile_held(lo_set[k], hi_set[k], w0, n_sets, a):
            continue
        t = fold_tile[k]
        first, end = bounds[t], bounds[t + 1]
        j, stale = first, True
        run1_lo = run1_hi = run2_lo = run2_hi = first
        while j < end:
            if stale:  # own positions increase along a fold: the words they hold are one run, two if it wraps
                start_at = first + np.searchsorted(own[first:end], w0 * eps)
                if w0 + a <= n_sets:
                    run1_lo, run1_hi = start_at, first + np.searchsorted(own[first:end], (w0 + a) * eps)
                    run2_lo = run2_hi = first
                else:
                    run1_lo, run1_hi = first, first + np.searchsorted(own[first:end], (w0 + a - n_sets) * eps)
                    run2_lo, run2_hi = start_at, end
                stale = False
            if run1_lo <= j < run1_hi:
                j = run1_hi
                continue
            if run2_lo <= j < run2_hi:
                j = run2_hi
                continue
            fewest = _slides(own[j], eps, w0, n_sets, a, p)
            q = 0
            while fewest > 0 and q < table.shape[1]:
                pos = table[word[j], q]
                if pos >= 0:
                    fewest = min(fewest, _slides(pos, eps, w0, n_sets, a, p))
                q += 1
            if fewest > 0:
                w0 = (w0 + fewest * p) % n_sets
                missed = _record(missed, m, k, line[j], fewest)
                m += 1
                stale = True
            j += 1
    return missed[:m]


@numba.njit(cache=True, nogil=True)
def walk_conv(lo_set: np.ndarray, hi_set: np.ndarray, fold_col: np.ndarray, row_lo: np.ndarray, row_hi: np.ndarray,
              geometry: np.ndarray, start: np.ndarray, before: np.ndarray, count: np.ndarray, eps: int, n_sets: int,
              a: int, p: int) -> np.ndarray:
    """Every miss of an input-stationary ifmap stream, as rows (fold, 0, slides).

    Fold k reads window rows ``row_hi[k] - 1`` down to ``row_lo[k]`` of column tile t = ``fold_col[k]``, each
    row's ac pixels left to right, skipping entries outside the input.  The entry of pixel t * ac + col at
    window index rs * C + c sits at ``start[t, rs] + before[t, col, rs] + c * count[t, rs]`` (the layout of
    ``model._IsIfmapCopies``).  Its copies are the same input word read by the other pixels whose windows
    cover it, at filter offsets congruent to its own modulo the stride.  ``geometry``: channels, filter
    height and width, stride, output height and width, input height and width, array columns."""
    channels, filt_h, filt_w, stride, out_h, out_w, in_h, in_w, ac = geometry
    missed = np.empty((1024, 3), dtype=np.int64)
    m, w0 = 0, 0
    for k in range(lo_set.shape[0]):
        if _tile_held(lo_set[k], hi_set[k], w0, n_sets, a):
            continue
        t = fold_col[k]
        for x in range(row_hi[k] - 1, row_lo[k] - 1, -1):
            rs, c = divmod(x, channels)
            r, sx = divmod(rs, filt_w)
            for col in range(ac):
                oy, ox = divmod(t * ac + col, out_w)
                iy, ix = oy * stride + r, ox * stride + sx
                if oy >= out_h or iy >= in_h or ix >= in_w:
                    continue
                fewest = _slides(start[t, rs] + before[t, col, rs] + c * count[t, rs], eps, w0, n_sets, a, p)
                dr = iy % stride
                while fewest > 0 and dr < filt_h:
                    oy2 = (iy - dr) // stride
                    ds = ix % stride
                    while fewest > 0 and ds < filt_w and 0 <= oy2 < out_h:
                        ox2 = (ix - ds) // stride
                        if 0 <= ox2 < out_w:
                            t2, col2 = divmod(oy2 * out_w + ox2, ac)
                            rs2 = dr * filt_w + ds
                            pos = start[t2, rs2] + before[t2, col2, rs2] + c * count[t2, rs2]
                            fewest = min(fewest, _slides(pos, eps, w0, n_sets, a, p))
                        ds += stride
                    dr += stride
                if fewest > 0:
                    w0 = (w0 + fewest * p) % n_sets
                    missed = _record(missed, m, k, 0, fewest)
                    m += 1
    return missed[:m]


@numba.njit(cache=True, nogil=True)
def _im2col_word(p: int, i: int, geometry: np.ndarray) -> tuple[int, int]:
    """Input word (iy, ix, c) as one integer read by output pixel p at window index i (-1 where the window
    leaves the input or p, i are padding), and the copy's slot: the copies of word (iy, ix) sit at filter
    offsets r = iy mod stride + stride * a (and likewise s), so (r // stride, s // stride) numbers them."""
    n_pixels, window, out_w, channels, filt_w, stride, in_h, in_w, slots_per_row = geometry
    if p >= n_pixels or i >= window:
        return -1, 0
    oy, ox = divmod(p, out_w)
    rs, c = divmod(i, channels)
    r, sx = divmod(rs, filt_w)
    iy, ix = oy * stride + r, ox * stride + sx
    if iy >= in_h or ix >= in_w:
        return -1, 0
    return (iy * in_w + ix) * channels + c, (r // stride) * slots_per_row + sx // stride


@numba.njit(cache=True, nogil=True)
def diag_copies(n_tiles: int, t: int, n: int, pixel_columns: bool, geometry: np.ndarray, n_words: int,
                n_slots: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The copy table of a forward (os/ws) ifmap stream (``model._DiagCopies``): ``table[word, slot]`` the
    buffer position of every copy, and per tile in demand order each entry's own position, word and demand
    line, with the tiles' bounds.

    The prefetch matrix stacks ``n_tiles`` tiles of ``t`` rows x ``n`` columns; the entry at tile k, row x,
    column j is output pixel k * n + j at window index x (``pixel_columns``, os) or pixel x at window index
    k * n + j (ws).  A position is the entry's rank among valid entries in anti-diagonal order (diagonal
    y + j, then j); each tile is demanded along its own anti-diagonals, entry (x, j) on line x + j."""
    m_rows = n_tiles * t
    pos = np.full((m_rows, n), -1, dtype=np.int32)
    word = np.empty((m_rows, n), dtype=np.int32)
    table = np.full((n_words, n_slots), -1, dtype=np.int32)  # positions < 2**31 (COPY_TABLE_LIMIT)
    count = 0
    for g in range(m_rows + n - 1):
        for j in range(max(0, g - m_rows + 1), min(g, n - 1) + 1):
            y = g - j
            k, x = divmod(y, t)
            w, slot = _im2col_word(k * n + j, x, geometry) if pixel_columns else _im2col_word(x, k * n + j, geometry)
            if w >= 0:
                word[y, j], pos[y, j] = w, count
                table[w, slot] = count
                count += 1
    own = np.empty(count, dtype=np.int32)
    own_word = np.empty(count, dtype=np.int32)
    own_line = np.empty(count, dtype=np.int32)
    bounds = np.zeros(n_tiles + 1, dtype=np.int64)
    m = 0
    for k in range(n_tiles):
        for d in range(t + n - 1):
            for j in range(max(0, d - t + 1), min(d, n - 1) + 1):
                y = k * t + d - j
                if pos[y, j] >= 0:
                    own[m], own_word[m], own_line[m] = pos[y, j], word[y, j], d
                    m += 1
        bounds[k + 1] = m
    return table, own, own_word, own_line, bounds


@numba.njit(cache=True, nogil=True)
def _bring(s: int, w0: int, n_sets: int, a: int, p: int) -> tuple[int, int]:
    """Make set s active: the new window start and the slides forward (a ring turn if s is behind)."""
    off = (s - w0) % n_sets
    if off < a:
        return w0, 0
    n = (off - a + p) // p
    return (w0 + n * p) % n_sets, n


@numba.njit(cache=True, nogil=True)
def _descending_rows(lo: int, hi: int, u: int, w0: int, eps: int, n_sets: int, a: int, p: int) -> tuple[int, int]:
    """One fold that reads positions [lo, hi] row by row from the top, each row of u words left to right:
    the new window start and the slides.

    Why rows matter: a row that straddles the window's lower edge first pulls its low part in (a ring turn,
    which pushes the window below the edge) and then its high part (a slide forward, which drops the low part
    again for the next row): SCALE-Sim checks addresses in demand order."""
    slides = 0
    pos = hi + 1  # everything at or above pos has been read
    while pos > lo:
        top = (pos - 1) // eps
        if (top - w0) % n_sets < a:  # the next word is held
            if top < w0 or lo >= w0 * eps:
                break  # every remaining word is held (below a wrapped window, or above its start)
            pos = lo + -(-(w0 * eps - lo) // u) * u  # skip the rows held entirely
            if pos <= lo:
                break
        start = max(lo, pos - u)
        for s in range(start // eps, (pos - 1) // eps + 1):
            w0, n = _bring(s % n_sets, w0, n_sets, a, p)
            slides += n
        pos = start
    return w0, slides


@numba.njit(cache=True, nogil=True)
def _push(lines: np.ndarray, counts: np.ndarray, m: int, line: float, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Burst m (demand line, refills), growing both arrays by doubling."""
    if m == lines.shape[0]:
        lines, counts = np.concatenate((lines, np.empty(m))), np.concatenate((counts, np.empty(m, np.int64)))
    lines[m], counts[m] = line, count
    return lines, counts


@numba.njit(cache=True, nogil=True)
def walk_tiles(lo_set: np.ndarray, hi_set: np.ndarray, lo_pos: np.ndarray, hi_pos: np.ndarray,
               row_words: np.ndarray, descending: bool, fold_start: np.ndarray, lo_line: int, hi_line: int,
               eps: int, n_sets: int, a: int, p: int) -> tuple[np.ndarray, np.ndarray]:
    """The refill bursts (demand line, refills) of a stream walked tile by tile, without a per-word scan
    (``model._read_buffer_walk``).  Fold k reads positions ``lo_pos[k]..hi_pos[k]`` (sets ``lo_set[k]..
    hi_set[k]``): forward, it streams through the window with one refill per P sets; descending, rows arrive
    last-first, row by row of ``row_words[k]`` words where given (an empty array: set by set)."""
    lines, counts = np.empty(64), np.empty(64, dtype=np.int64)
    m, w0 = 0, 0
    for k in range(lo_set.shape[0]):
        s_lo, s_hi = lo_set[k], hi_set[k]
        if _tile_held(s_lo, s_hi, w0, n_sets, a):
            continue
        line0 = fold_start[k] + lo_line
        if descending and row_words.shape[0] > 0:
            w0, n = _descending_rows(int(lo_pos[k]), int(hi_pos[k]), int(row_words[k]), w0, eps, n_sets, a, p)
            if n:
                lines, counts = _push(lines, counts, m, line0, n)
                m += 1
            continue
        if descending:  # each set below the window costs a ring turn
            s = s_hi
            while True:
                w0, n = _bring(s, w0, n_sets, a, p)
                if n:
                    lines, counts = _push(lines, counts, m, line0, n)
                    m += 1
                if (s - w0) % n_sets >= s - s_lo:
                    break
                s = (w0 - 1) % n_sets
            continue
        w0, n = _bring(s_lo, w0, n_sets, a, p)  # the tile's first word
        if n:
            lines, counts = _push(lines, counts, m, line0, n)
            m += 1
        off_lo = (s_lo - w0) % n_sets
        off1 = off_lo + (s_hi - s_lo)
        if off1 >= a:  # the tile streams past the window: one refill per P sets
            n = (off1 - a + p) // p
            line1 = fold_start[k] + hi_line
            denom = max(s_hi - s_lo, 1)
            for j in range(n):
                need = a + j * p - off_lo  # sets past s_lo at which refill j is demanded
                lines, counts = _push(lines, counts, m, line0 + (line1 - line0) * min(max(need, 0) / denom, 1.0), 1)
                m += 1
            w0 = (w0 + n * p) % n_sets
    return lines[:m], counts[:m]


# ---- the stall replay ------------------------------------------------------------------------------------
#: slots of the ofmap write buffer's drain state (`drain_state`): SCALE-Sim's write_buffer.py at line granularity
BW, CHUNK, COVERED, LINES, START, COUNTED = range(6)


@numba.njit(cache=True, nogil=True)
def drain_state(bw: int, chunk: int) -> tuple[np.ndarray, dict]:
    """An empty ofmap write buffer: its counters and its closed partial lines (line -> valid words).

    Words fill lines of ``bw``; a drain trigger first closes the partial line (``append_to_trace_mat(
    force=True)``); a drain sends the next ``chunk`` closed lines and counts lines * bw minus the padding
    of its *last* line only (``empty_drain_buf``).  A closed partial line inside a chunk is counted in full:
    SCALE-Sim's DRAM ofmap writes exceed the ofmap by that padding (up to +1.2% on the held-out suite)."""
    state = np.zeros(6, dtype=np.int64)
    state[BW], state[CHUNK] = bw, max(1, chunk)
    partial = numba.typed.Dict.empty(key_type=numba.types.int64, value_type=numba.types.int64)
    return state, partial


@numba.njit(cache=True, nogil=True)
def close_lines(state: np.ndarray, partial: dict, words: int) -> None:
    """The first ``words`` words are written and the line holding the last one is closed."""
    full, rest = divmod(max(0, words - state[COVERED]), state[BW])
    state[LINES] += full
    if rest:
        partial[state[LINES]] = rest
        state[LINES] += 1
    state[COVERED] = max(state[COVERED], words)


@numba.njit(cache=True, nogil=True)
def drain(state: np.ndarray, partial: dict) -> None:
    """One drain of up to ``chunk`` closed lines."""
    end = min(state[START] + state[CHUNK], state[LINES])
    sent = end - state[START]
    if sent:
        state[COUNTED] += sent * state[BW] - (state[BW] - partial.get(end - 1, state[BW]))
    state[START] = end


@numba.njit(cache=True, nogil=True)
def drain_all(state: np.ndarray, partial: dict, words: int) -> int:
    """The end of the layer (``empty_all_buffers``): close and drain every line; the total count."""
    close_lines(state, partial, words)
    while state[START] < state[LINES]:
        drain(state, partial)
    return state[COUNTED]


@numba.njit(cache=True, nogil=True)
def _burst_stall(x: float, n: int, dur: float) -> float:
    """Stall added by n refills of one operand demanded on the same line, the first one waiting x.

    Per refill: a positive wait x adds 2x (SCALE-Sim counts it twice) and the next wait is dur - x;
    a non-positive wait adds nothing and the next is x + dur.  Closed form over the burst."""
    total = 0.0
    while n > 0:
        if x <= 0:
            m = min(n, int(-x // dur) + 1)
            n -= m
            x += m * dur
        elif x <= dur:  # alternates x, dur - x, ...: each pair adds 2*dur
            return total + 2 * dur * (n // 2) + (2 * x if n % 2 else 0.0)
        else:
            total += 2 * x
            x = dur - x
            n -= 1
    return total


@numba.njit(cache=True, nogil=True)
def _round(x: float) -> int:
    """Python's round() of a float: to the nearest integer, ties to even."""
    return int(np.rint(x))


@numba.njit(cache=True, nogil=True)
def _line_at(nw: float, lines: np.ndarray, cum: np.ndarray) -> float:
    """Demand line at which the nw-th ofmap word is written (piecewise linear in the fold-level writes)."""
    last = cum.shape[0] - 1
    i = np.searchsorted(cum, nw, side="left")
    if i == 0 or i > last:
        return lines[min(i, last)]
    return lines[i - 1] + (nw - cum[i - 1]) / (cum[i] - cum[i - 1]) * (lines[i] - lines[i - 1])


@numba.njit(cache=True, nogil=True)
def _written_by(line: float, lines: np.ndarray, cum: np.ndarray) -> float:
    """Ofmap words written by demand line ``line``."""
    last = cum.shape[0] - 1
    i = np.searchsorted(lines, line, side="right")
    if i == 0 or i > last:
        return cum[min(i, last)] if i else cum[0]
    c0, c1, l0, l1 = cum[i - 1], cum[i], lines[i - 1], lines[i]
    return c0 + (line - l0) / (l1 - l0) * (c1 - c0) if l1 > l0 else c1


@numba.njit(cache=True, nogil=True)
def _merge(line_a: np.ndarray, count_a: np.ndarray, line_b: np.ndarray, count_b: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two operands' refill bursts in demand order, as ``heapq.merge`` of (line, operand, count) orders
    them: the smaller head first, operand 0 first on a tie."""
    total = line_a.shape[0] + line_b.shape[0]
    line, op, count = np.empty(total), np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64)
    i = j = 0
    for k in range(total):
        if j >= line_b.shape[0] or (i < line_a.shape[0] and line_a[i] <= line_b[j]):
            line[k], op[k], count[k] = line_a[i], 0, count_a[i]
            i += 1
        else:
            line[k], op[k], count[k] = line_b[j], 1, count_b[j]
            j += 1
    return line, op, count


@numba.njit(cache=True, nogil=True)
def stall_replay(line_a: np.ndarray, count_a: np.ndarray, dur_a: int, line_b: np.ndarray, count_b: np.ndarray,
                 dur_b: int, wr_lines: np.ndarray, wr_cum: np.ndarray, ofmap_words: int, half: int, bw: int,
                 read_latency: int) -> tuple[float, int]:
    """SCALE-Sim's memory timing at refill/drain granularity: the stall cycles and the DRAM ofmap write count.

    Reads (two operands, bursts of refills at demand lines): refill k of an operand completes at cycle
    k * dur - 1 (refills queue back to back on the DRAM port); a demand that arrives earlier stalls, and the
    wait counts twice.  Writes: the ofmap buffer drains ``half`` of itself (ceil(half / bw) lines, one a
    cycle) once it is more than half full; a write that finds it full waits for the running drain.  The
    writes are the piecewise linear ``wr_cum`` words by ``wr_lines``."""
    line, op, count = _merge(line_a, count_a, line_b, count_b)
    durations = (dur_a, dur_b)
    done = np.zeros(2, dtype=np.int64)  # refills issued so far per operand
    total_w = wr_cum[-1] if wr_cum.shape[0] else 0.0
    state, partial = drain_state(bw, -(-half // bw))
    stall = 0.0
    free = float(ofmap_words)
    active = ofmap_words - half
    n_done = 0.0          # ofmap words written so far
    drain_end = -np.inf
    ri = 0
    while True:
        # next ofmap event: the buffer fills up during a drain ("full"), or a drain starts ("trigger")
        w_line, full = np.inf, False
        if n_done < total_w:
            n_trig = max(n_done + free - active + 1, n_done)  # first write leaving free < active
            if drain_end > -np.inf:
                n_full = n_done + free
                if n_full <= total_w and _line_at(n_full, wr_lines, wr_cum) + stall < drain_end:
                    w_line, full = _line_at(n_full, wr_lines, wr_cum), True
                else:
                    n_trig = max(n_trig, _written_by(drain_end - stall, wr_lines, wr_cum))
            if not full and n_trig <= total_w:
                w_line = _line_at(n_trig, wr_lines, wr_cum)
        r_line = line[ri] if ri < line.shape[0] else np.inf
        if r_line == np.inf and w_line == np.inf:
            return stall, drain_all(state, partial, _round(total_w))
        if r_line <= w_line:
            while ri < line.shape[0] and line[ri] == r_line:  # refills demanded on one line
                dur = durations[op[ri]]
                first_done = (done[op[ri]] + 1) * dur - 1.0
                stall += _burst_stall(first_done - (r_line + stall) - read_latency, count[ri], dur)
                done[op[ri]] += count[ri]
                ri += 1
            continue
        if full:
            n_done, free = n_done + free, 0.0
            stall += drain_end - (w_line + stall)
            start = drain_end
            close_lines(state, partial, min(_round(n_done) + 1, _round(total_w)))  # the next word triggers it
        else:
            n_new = max(_written_by(w_line, wr_lines, wr_cum), n_done + 1)
            free -= n_new - n_done
            n_done = n_new
            start = w_line + stall
            close_lines(state, partial, _round(n_done))
        # The timing keeps full-chunk drains: SCALE-Sim's shorter drains when fewer lines wait (and the
        # free space they return) moved total cycles in 12 cached cases, 10 closer and 2 further
        # (max error 4.8% -> 5.2%) with this model's fold-level write times.
        drain(state, partial)
        free += state[CHUNK] * bw
        drain_end = start + state[CHUNK] - 1
