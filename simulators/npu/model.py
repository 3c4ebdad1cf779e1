"""Analytical model of a spatial PE array (NPU) running convolution, GEMM and attention layers.

Why analytical: SCALE-Sim replays every cycle (minutes per network); design-space exploration needs
thousands of evaluations per minute.  For the systolic dataflows (output-, weight-, input-stationary)
this model reproduces SCALE-Sim 3.0.0's schedule in closed form, fold by fold:

* a layer is an im2col GEMM: Npx output pixels x W = R*S*C window x M filters;
* the array (ar rows x ac cols) maps two of these dimensions spatially (Sr x Sc) and streams the third
  (T): os: Sr=Npx, Sc=M, T=W;  ws: Sr=W, Sc=M, T=Npx;  is: Sr=W, Sc=Npx, T=M;
* folds = ceil(Sr/ar) * ceil(Sc/ac); each fold lasts T + ar + ac - 2 cycles (os) or
  T + 2*ar + ac - 2 (ws/is: the stationary operand is loaded first), so
  compute_cycles = folds * fold_cycles (SCALE-Sim reports this minus one: it prints the last cycle index);
* SRAM traffic per operand is the sum of the per-fold tile sizes (closed forms in `_sram_counts`).

DRAM traffic and stalls follow SCALE-Sim's double-buffered scratchpad: a read buffer keeps half its
capacity "active" and refills the other half (ceil(half/bw)*bw words, bw words/cycle) whenever a
demanded word is outside the active window.  We walk that window over the sequence of tiles the folds
demand (O(folds), no per-cycle work) and replay the resulting refills, plus the ofmap write-buffer
drains, in a small event model for the stall cycles.  SCALE-Sim checks buffer hits per address, so a
word of overlapping conv windows can hit on another copy of itself: wherever a fold of the ifmap does
not fit the active window, we scan its words and test every copy of each (`_IsIfmapCopies` for
input-stationary, whose folds read backwards; `_DiagCopies` for the forward os/ws streams, whose
closed form alone over-counted refills by up to +143% on the held-out suite).  With that, DRAM reads
are exact on every cached SCALE-Sim case (352 layers: ResNet-18, a small suite and the held-out suite
of random designs, ``experiments/validate_npu.py``).  DRAM writes follow the ofmap buffer's lines
(``kernels.drain_state``: SCALE-Sim also counts the padding of partial lines drained inside a chunk), MAE
0.005%, max 0.40%: the drain triggers sit at fold-level write times.  Operands too large for a copy table
(COPY_TABLE_LIMIT entries) keep the closed form.  What stays approximate is the timing: SCALE-Sim
takes the per-cycle maximum of the three operands' stalls, we add stalls of distinct events and place
refills at fold-level demand lines, rounded to whole cycles (total cycles: MAE 0.14%, max 4.8% over the
same cases).  The walk's per-word scan, the copy tables it reads and the stall replay are compiled with
numba (``kernels.py``: sequential event loops numpy cannot vectorize; 46x faster than their numpy
versions on 95 random small-array cases, identical results).

Row-stationary (Eyeriss, Chen et al., ISCA 2016) is modelled analytically on its own (no SCALE-Sim
counterpart): logical PE sets of R filter rows x E output rows, 1-D row convolutions in each PE.

Public API: `NPUDesign.from_dict`, `evaluate_layer`, `layer_key`, `area(design)`,
`evaluate(design, workload, per_layer, cache) -> dict`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from archgym.errors import ConfigError, DesignError
from archgym.simulators.npu import costs
from archgym.simulators.npu.workloads import Layer, load_workload

DATAFLOWS = ("os", "ws", "is", "rs")
LOOP_ORDERS = ("col_outer", "row_outer")  # SCALE-Sim: column folds outer, row folds inner

# Suggested discrete choices per knob (for the DSE environment); any value passing NPUDesign's
# validation is accepted by the model.
DESIGN_SPACE: dict[str, list] = {
    "rows": [4, 8, 16, 32, 64, 128, 256],
    "cols": [4, 8, 16, 32, 64, 128, 256],
    "dataflow": list(DATAFLOWS),
    "ifmap_kb": [8, 16, 32, 64, 128, 256, 512, 1024],
    "filter_kb": [8, 16, 32, 64, 128, 256, 512, 1024],
    "ofmap_kb": [8, 16, 32, 64, 128, 256, 512, 1024],
    "loop_order": list(LOOP_ORDERS),
    "dram_bw": [5, 10, 20, 40],
}

# SCALE-Sim constants (single_layer_sim.py, read_buffer.py, read_port.py): half of each buffer is
# active, the other half prefetches; hit sets hold ceil(size/100) words; DRAM read latency 1 cycle.
ACTIVE_FRACTION = 0.5
SETS_PER_BUFFER = 100
DRAM_READ_LATENCY = 1


@dataclass(frozen=True)
class NPUDesign:
    """One point of the design space (all knobs a DSE agent may set)."""

    rows: int = 32
    cols: int = 32
    dataflow: str = "ws"
    ifmap_kb: float = 64.0
    filter_kb: float = 64.0
    ofmap_kb: float = 64.0
    loop_order: str = "col_outer"
    dram_bw: int = 10  # words per cycle per operand interface (SCALE-Sim's Bandwidth)
    word_bytes: int = 1

    def __post_init__(self) -> None:
        for f in ("rows", "cols", "dram_bw", "word_bytes"):
            v = getattr(self, f)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ConfigError(f, f"must be a positive integer, got {v!r}")
        if self.rows > 4096 or self.cols > 4096:
            raise ConfigError("rows/cols", "array dimensions above 4096 are outside the model's range")
        if self.dataflow not in DATAFLOWS:
            raise ConfigError("dataflow", f"must be one of {DATAFLOWS}, got {self.dataflow!r}")
        if self.loop_order not in LOOP_ORDERS:
            raise ConfigError("loop_order", f"must be one of {LOOP_ORDERS}, got {self.loop_order!r}")
        for f in ("ifmap_kb", "filter_kb", "ofmap_kb"):
            v = getattr(self, f)
            if not isinstance(v, (int, float, np.number)) or isinstance(v, bool) or not math.isfinite(v) \
                    or v <= 0:
                raise ConfigError(f, f"must be a positive number of kilobytes, got {v!r}")
            if v * 1024 / self.word_bytes < 2 * SETS_PER_BUFFER:
                raise ConfigError(f, f"{v} KB holds fewer than {2 * SETS_PER_BUFFER} words")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NPUDesign:
        """Build a design from a knob dict; unknown keys are an error (typos must not pass)."""
        if not isinstance(d, Mapping):
            raise DesignError(f"an NPU design must be a dict of knobs, got {type(d).__name__}")
        known = set(cls.__dataclass_fields__)
        extra = set(d) - known
        if extra:
            raise ConfigError(sorted(extra)[0], f"unknown NPU design knob; valid knobs: {sorted(known)}")
        return cls(**dict(d))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def buffer_words(self, kb: float) -> int:
        return int(kb * 1024 // self.word_bytes)


# ------------------------------------------------------------------------------------------------
# Fold geometry and closed forms
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Mapping:
    sr: int
    sc: int
    t: int
    row_fold: int
    col_fold: int
    fold_cycles: int


def _mapping(layer: Layer, d: NPUDesign) -> _Mapping:
    npx, w, m = layer.ofmap_px, layer.window, layer.num_filters
    sr, sc, t = {"os": (npx, m, w), "ws": (w, m, npx), "is": (w, npx, m)}[d.dataflow]
    rf, cf = math.ceil(sr / d.rows), math.ceil(sc / d.cols)
    extra = d.rows + d.cols - 2 if d.dataflow == "os" else 2 * d.rows + d.cols - 2
    return _Mapping(sr, sc, t, rf, cf, t + extra)


def _sram_counts(layer: Layer, d: NPUDesign, mp: _Mapping) -> tuple[int, int, int]:
    """SRAM ifmap reads, filter reads, ofmap writes of SCALE-Sim's schedule (one group)."""
    npx, w, m = layer.ofmap_px, layer.window, layer.num_filters
    folds = mp.row_fold * mp.col_fold
    if d.dataflow == "os":
        # every fold streams its ifmap rows and filter columns; ofmap: each output once, plus
        # SCALE-Sim counts (ar + ac) extra writes per fold (systolic_compute_os.create_ofmap_demand_mat)
        return mp.col_fold * w * npx, mp.row_fold * w * m, npx * m + folds * (d.rows + d.cols)
    if d.dataflow == "ws":
        return mp.col_fold * npx * w, w * m, mp.row_fold * npx * m
    return w * npx, mp.col_fold * m * w, mp.row_fold * m * npx  # is


def _used(total: int, tile: int) -> np.ndarray:
    """Sizes of the tiles that cover `total` in steps of `tile` (last one partial)."""
    n = math.ceil(total / tile)
    out = np.full(n, tile, dtype=np.int64)
    out[-1] = total - tile * (n - 1)
    return out


# ------------------------------------------------------------------------------------------------
# DRAM: SCALE-Sim's double-buffered read window, walked over the demanded tiles
# ------------------------------------------------------------------------------------------------
@dataclass
class _ReadStream:
    """One operand's demand per fold: the first and last word (valid-word positions in the buffer's
    prefetch order) of the tile the fold reads, and whether the fold reads it backwards."""

    lo: np.ndarray
    hi: np.ndarray
    descending: bool
    n_valid: int     # words actually held (non-padding) in prefetch order
    n_padded: int    # prefetch matrix size including padding (sets the first fill's size)
    # the words fold k demands (demand order) and, through its table, all their copies' positions
    # (SCALE-Sim's buffers hit on any copy of an address)
    copies: _IsIfmapCopies | _LazyCopies | None = None
    # descending streams read row by row, each row left to right: the row length per fold (positions)
    row_words: np.ndarray | None = None


def _fold_order(mp: _Mapping, loop_order: str) -> tuple[np.ndarray, np.ndarray]:
    fc, fr = np.meshgrid(np.arange(mp.col_fold), np.arange(mp.row_fold), indexing="ij")
    if loop_order == "row_outer":
        fc, fr = fc.T, fr.T
    return fc.ravel(), fr.ravel()


def _clipped_ramp_sum(x: np.ndarray, n: int, cap: int) -> np.ndarray:
    """sum_{c=0}^{n-1} clip(x - c, 0, cap), vectorised (elements before anti-diagonal x)."""
    def ramp(y: np.ndarray) -> np.ndarray:  # sum_{c=0}^{n-1} max(y - c, 0)
        k = np.clip(y, 0, n)
        return k * y - k * (k - 1) // 2
    return ramp(x) - ramp(x - cap)


def _diag_stream(tile: np.ndarray, n_tiles: int, t: int, n: int, used_last: int, scale: float,
                 n_valid: int) -> _ReadStream:
    """Tiles of t rows x n columns stacked vertically and read by anti-diagonals (SCALE-Sim's
    os/ws ifmap, os filter and is filter prefetch order); fold k reads rows [k*t, (k+1)*t) skewed,
    i.e. from the start of diagonal k*t to the end of diagonal k*t + t + n - 2."""
    m = n_tiles * t
    pad_row0 = (n_tiles - 1) * t

    def valid_before(dg: np.ndarray) -> np.ndarray:
        total = _clipped_ramp_sum(dg, n, m)
        pad = _clipped_ramp_sum(dg - used_last - pad_row0, n - used_last, t) if used_last < n else 0
        return (total - pad) * scale
    d0 = tile.astype(np.int64) * t
    lo = valid_before(d0)
    hi = valid_before(d0 + t + n - 1) - 1
    return _ReadStream(lo, hi, False, n_valid, m * n)


def _rowmajor_stream(tile: np.ndarray, fr: np.ndarray, rows_per_tile: int, n: int, used: np.ndarray,
                     ar: int, scale: float, n_valid: int) -> _ReadStream:
    """Tiles of rows_per_tile rows x n columns (padding columns hold no data) stacked row-major
    (SCALE-Sim's ws filter and is ifmap prefetch order); fold (k, fr) reads rows
    [fr*ar, fr*ar + ar) of tile k in reverse order (the demand matrix is flipped)."""
    base = np.concatenate(([0], np.cumsum(used * rows_per_tile)[:-1]))
    r0 = fr.astype(np.int64) * ar
    r1 = np.minimum(r0 + ar, rows_per_tile)
    u = used[tile]
    lo = (base[tile] + r0 * u) * scale
    hi = (base[tile] + r1 * u) * scale - 1
    return _ReadStream(lo, hi, True, n_valid, len(used) * rows_per_tile * n, row_words=u * scale)


class _Im2col:
    """Which im2col entries hold data.  SCALE-Sim rounds the output size up (ceil), and window
    entries that fall outside the input are -1 (operand_matrix.calc_ifmap_elem_addr): its buffers
    hold only the others, so buffer positions count valid entries exactly."""

    def __init__(self, layer: Layer):
        self.l = layer
        st = layer.stride
        self.ny = np.clip(-(-(layer.ifmap_h - np.arange(layer.filt_h)) // st), 0, layer.ofmap_h)
        self.nx = np.clip(-(-(layer.ifmap_w - np.arange(layer.filt_w)) // st), 0, layer.ofmap_w)

    def _pixel_limits(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        oy, ox = np.divmod(p, self.l.ofmap_w)
        rl = np.clip(self.l.ifmap_h - oy * self.l.stride, 0, self.l.filt_h)
        sl = np.clip(self.l.ifmap_w - ox * self.l.stride, 0, self.l.filt_w)
        return rl, sl

    @property
    def n_words(self) -> int:
        return self.l.ifmap_h * self.l.ifmap_w * self.l.channels

    @property
    def n_slots(self) -> int:
        """Most copies of one input word in the im2col operand: ceil(R/stride) x ceil(S/stride)."""
        return -(-self.l.filt_h // self.l.stride) * -(-self.l.filt_w // self.l.stride)

    def window_prefix(self, p: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Valid entries among window indices [0, x) of output pixel p (0 for padding pixels)."""
        lay = self.l
        ok = p < lay.ofmap_px
        rl, sl = self._pixel_limits(np.where(ok, p, 0))
        q, c_rem = np.divmod(x, lay.channels)
        r0, s0 = np.divmod(q, lay.filt_w)
        pos = np.minimum(r0, rl) * sl + np.where(r0 < rl, np.minimum(s0, sl), 0)
        part = np.where((r0 < rl) & (s0 < sl), c_rem, 0)
        return np.where(ok, lay.channels * pos + part, 0)

    def pixel_prefix(self, i: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Valid entries of window index i among output pixels [0, x) (0 for padding indices)."""
        lay = self.l
        ok = i < lay.window
        r, rem = np.divmod(np.where(ok, i, 0), lay.filt_w * lay.channels)
        s = rem // lay.channels
        ny, nx = self.ny[r], self.nx[s]
        fy, fx = np.divmod(x, lay.ofmap_w)
        cnt = np.minimum(fy, ny) * nx + np.where(fy < ny, np.minimum(fx, nx), 0)
        return np.where(ok, cnt, 0)


def _diag_valid_stream(tile: np.ndarray, n_tiles: int, t: int, n: int,
                       col_prefix, n_valid: int) -> _ReadStream:
    """Like `_diag_stream` but counting valid entries exactly: col_prefix(k, j, x) is the number of
    valid entries in rows [0, x) of column j of tile k."""
    kk, jj = np.meshgrid(np.arange(n_tiles), np.arange(n), indexing="ij")
    full = col_prefix(kk, jj, np.full_like(kk, t))
    cum = np.vstack([np.zeros((1, n), dtype=np.int64), np.cumsum(full, axis=0)])  # tiles < k

    uniq, inv = np.unique(tile, return_inverse=True)
    d0 = uniq.astype(np.int64) * t

    def valid_before(dg: np.ndarray) -> np.ndarray:
        y = dg[:, None] - np.arange(n)[None, :]
        y = np.clip(y, 0, n_tiles * t)
        kq = np.minimum(y // t, n_tiles - 1)
        rem = y - kq * t
        j = np.broadcast_to(np.arange(n), y.shape)
        return (cum[kq, j] + col_prefix(kq, j, rem)).sum(axis=1)
    lo = valid_before(d0)[inv]
    hi = valid_before(d0 + t + n - 1)[inv] - 1
    return _ReadStream(lo.astype(np.float64), hi.astype(np.float64), False, n_valid, n_tiles * t * n)


COPY_TABLE_LIMIT = 20_000_000  # entries (pixels x filter positions); above this the per-word copy scan is
# skipped to bound memory (a 224x224 output with 7x7 filters needs 2.5M)


class _IsIfmapCopies:
    """Buffer positions of all copies of the words an input-stationary ifmap stream reads, for the per-word
    scan (``kernels.walk_conv``).

    IS ifmap tiles hold ac output pixels (columns) x the W window entries (rows), row-major, and a
    fold reads rows r1-1 down to r0 of one tile, columns left to right.  An input word (iy, ix, c)
    is copied once per output pixel whose window covers it, so it can hit in the buffer on a copy
    other than the one being read (SCALE-Sim tests hits by address).

    Why tables per filter position (r, s) rather than per window index: the rows (r, s, 0..C-1) of
    a tile hold the same pixels, so a word's position is affine in its channel c,
    ``start[t, rs] + c * count[t, rs] + before[t, j, rs]``: C times less to tabulate."""

    def __init__(self, im: _Im2col, ac: int, col_fold: int, fc: np.ndarray, r0: np.ndarray, r1: np.ndarray):
        self.im, self.ac, self.col_fold = im, ac, col_fold
        self.fc, self.r0, self.r1 = fc, r0, r1

    def walk(self, lo_set: np.ndarray, hi_set: np.ndarray, eps: int, n_sets: int, a: int, p: int) -> np.ndarray:
        """Every miss of the stream: rows (fold, demand line within the fold, slides).  The position tables are
        built here, not with the stream: most evaluations never scan."""
        from archgym.simulators.npu import kernels  # numba: imported by the evaluations that scan only

        lay, ac = self.im.l, self.ac
        pix = np.arange(self.col_fold * ac).reshape(self.col_fold, ac)
        x = np.arange(lay.filt_h * lay.filt_w + 1) * lay.channels
        pref = self.im.window_prefix(pix[:, :, None], x[None, None, :])     # (tile, col, rs + 1)
        valid = np.diff(pref, axis=2) > 0                                   # pixel j covers (r, s)
        count = valid.sum(axis=1)                                           # (tile, rs)
        tile_base = np.concatenate(([0], np.cumsum(lay.channels * count.sum(axis=1))[:-1]))
        start = tile_base[:, None] + lay.channels * (np.cumsum(count, axis=1) - count)
        before: np.ndarray = np.cumsum(valid, axis=1) - valid              # (tile, col, rs)
        geometry = np.array([lay.channels, lay.filt_h, lay.filt_w, lay.stride, lay.ofmap_h, lay.ofmap_w,
                             lay.ifmap_h, lay.ifmap_w, ac])
        return kernels.walk_conv(lo_set, hi_set, self.fc, self.r0, self.r1, geometry, start, before, count,
                                 eps, n_sets, a, p)


class _DiagCopies:
    """Buffer positions of every word of a forward anti-diagonal stream (os/ws ifmap), and of all copies
    of each word, for the per-word scan.

    Why: the closed form of `_diag_valid_stream` tracks each demanded word at its own position, but an
    input word sits in the im2col operand once per output pixel whose window covers it, and SCALE-Sim's
    buffer hits on any copy (read_buffer.active_buffer_hit tests the address against every active
    set).  Where an earlier copy is still held, the closed form refills too often (held-out suite: up to
    +143% DRAM ifmap reads with weight-stationary and small buffers).

    Fold k demands tile k's entries in prefetch order (SCALE-Sim skews the demand by one line per
    column, which reads tile k by the same anti-diagonals its prefetch matrix was rolled out by), so a
    fold's own positions are tile k's positions in increasing order; an entry at tile row y and column
    j is demanded on line y + j of the fold.  The prefetch matrix stacks n_tiles tiles of t rows x n
    columns: tile k's entry (row x, column j) is pixel k*n + j at window index x (os, ``pixel_columns``) or
    pixel x at window index k*n + j (ws); each holds an input word (or padding, or a window entry outside
    the input) in one copy slot (unique among the copies of one word, < n_slots).  A position is the
    entry's rank in anti-diagonal order among valid entries (``kernels.diag_copies``).  The table
    depends on the layer, the dataflow and the array's rows only, so evaluations share it
    (`_copy_tables`)."""

    def __init__(self, n_tiles: int, t: int, n: int, layer: Layer, pixel_columns: bool):
        from archgym.simulators.npu import kernels  # numba: imported by the evaluations that scan only

        im = _Im2col(layer)
        geometry = np.array([layer.ofmap_px, layer.window, layer.ofmap_w, layer.channels, layer.filt_w, layer.stride,
                             layer.ifmap_h, layer.ifmap_w, -(-layer.filt_w // layer.stride)])
        self.table, self.own, self.own_word, self.own_line, self.bounds = kernels.diag_copies(
            n_tiles, t, n, pixel_columns, geometry, im.n_words, im.n_slots)
        self.nbytes = sum(x.nbytes for x in (self.table, self.own, self.own_word, self.own_line))

    def walk(self, fold_tile: np.ndarray, lo_set: np.ndarray, hi_set: np.ndarray, eps: int, n_sets: int, a: int,
             p: int) -> np.ndarray:
        """Every miss of a stream whose fold k reads tile ``fold_tile[k]``: rows (fold, demand line, slides)."""
        from archgym.simulators.npu import kernels  # numba: imported by the evaluations that scan only

        return kernels.walk_table(lo_set, hi_set, fold_tile, self.bounds, self.own, self.own_word, self.own_line,
                                  self.table, eps, n_sets, a, p)


COPY_CACHE_BYTES = 512 << 20  # copy tables kept across evaluations (least recently used dropped first)
_copy_tables: OrderedDict[tuple, _DiagCopies] = OrderedDict()


class _LazyCopies:
    """The copy table of one stream, fetched (or built) on the first fold that needs it: most
    evaluations never do.  Fold k of the walk reads tile ``fold_tile[k]``."""

    def __init__(self, key: tuple, build: Callable[[], _DiagCopies], fold_tile: np.ndarray):
        self._key, self._build, self.fold_tile = key, build, fold_tile
        self._table: _DiagCopies | None = None

    def _get(self) -> _DiagCopies:
        if self._table is None:
            table = _copy_tables.pop(self._key, None) or self._build()
            _copy_tables[self._key] = table
            while sum(t.nbytes for t in _copy_tables.values()) > COPY_CACHE_BYTES and len(_copy_tables) > 1:
                _copy_tables.popitem(last=False)
            self._table = table
        return self._table

    def walk(self, lo_set: np.ndarray, hi_set: np.ndarray, eps: int, n_sets: int, a: int, p: int) -> np.ndarray:
        """Every miss of the stream (`_DiagCopies.walk`)."""
        return self._get().walk(self.fold_tile, lo_set, hi_set, eps, n_sets, a, p)


def _diag_copies(layer: Layer, dataflow: str, n_tiles: int, t: int, ar: int, fold_tile: np.ndarray
                 ) -> _LazyCopies | None:
    """The lazily built copy table of a forward ifmap stream (os/ws), or None above COPY_TABLE_LIMIT
    entries (the closed form then stands alone)."""
    if n_tiles * t * ar > COPY_TABLE_LIMIT:
        return None
    return _LazyCopies((layer.dims, dataflow, ar),
                       lambda: _DiagCopies(n_tiles, t, ar, layer, pixel_columns=dataflow == "os"), fold_tile)


def _streams(layer: Layer, d: NPUDesign, mp: _Mapping, fc: np.ndarray, fr: np.ndarray
             ) -> tuple[_ReadStream, _ReadStream]:
    """Prefetch order and per-fold demanded words of the ifmap and filter operands, following
    SCALE-Sim's systolic_compute_{os,ws,is}.create_*_prefetch_mat / create_*_demand_mat."""
    npx, w, m = layer.ofmap_px, layer.window, layer.num_filters
    ar, ac = d.rows, d.cols
    im = _Im2col(layer)
    valid_if = layer.valid_window_elems()
    if d.dataflow == "os":  # ifmap tile k: pixels [k*ar, (k+1)*ar) as columns, window rows
        ifm = _diag_valid_stream(fr, mp.row_fold, w, ar,
                                 lambda k, j, x: im.window_prefix(k * ar + j, x), valid_if)
        ifm.copies = _diag_copies(layer, "os", mp.row_fold, w, ar, fr)
        fil = _diag_stream(fc, mp.col_fold, w, ac, m - (mp.col_fold - 1) * ac, 1.0, w * m)
    elif d.dataflow == "ws":  # ifmap tile k: window indices [k*ar, (k+1)*ar) as columns, pixel rows
        ifm = _diag_valid_stream(fr, mp.row_fold, npx, ar,
                                 lambda k, j, x: im.pixel_prefix(k * ar + j, x), valid_if)
        ifm.copies = _diag_copies(layer, "ws", mp.row_fold, npx, ar, fr)
        fil = _rowmajor_stream(fc, fr, w, ac, _used(m, ac), ar, 1.0, w * m)
    else:  # is: ifmap tile fc = pixels [fc*ac, ...) as columns, window rows, stored row-major
        pix = np.arange(mp.col_fold * ac).reshape(mp.col_fold, ac)
        base = np.concatenate(([0], np.cumsum(im.window_prefix(pix, np.full_like(pix, w)).sum(axis=1))))
        r0 = fr.astype(np.int64) * ar
        r1 = np.minimum(r0 + ar, w)
        lo = base[fc] + im.window_prefix(pix[fc], r0[:, None]).sum(axis=1)
        hi = base[fc] + im.window_prefix(pix[fc], r1[:, None]).sum(axis=1) - 1
        copies = None
        if mp.col_fold * ac * (layer.filt_h * layer.filt_w + 1) <= COPY_TABLE_LIMIT:
            copies = _IsIfmapCopies(im, ac, mp.col_fold, fc, r0, r1)
        ifm = _ReadStream(lo.astype(np.float64), hi.astype(np.float64), True, valid_if, mp.col_fold * ac * w,
                          copies=copies)
        fil = _diag_stream(fr, mp.row_fold, m, ar, w - (mp.row_fold - 1) * ar, 1.0, w * m)
    return ifm, fil


Bursts = tuple[np.ndarray, np.ndarray]  # refills of one operand: demand lines (float) and counts (int)


def _read_buffer_walk(st: _ReadStream, buf_words: int, bw: int, fold_start: np.ndarray,
                      span: tuple[int, int]) -> tuple[int, Bursts]:
    """DRAM words read and the refills as (demand line, count) bursts, for SCALE-Sim's read buffer.

    The buffer's content is a ring of L hit-sets of `eps` words in prefetch order; the active window
    covers A sets and a demanded word outside it slides the window forward (circularly) by P <= A
    sets (read_buffer.new_prefetch), so a step backwards costs a full turn of the ring.  A set at
    window offset o >= A is reached after ceil((o - A + 1) / P) slides (O(1)).  Both walks, tile by tile
    (``kernels.walk_tiles``) and word by word (the copies' ``walk``), are compiled."""
    eps = math.ceil(buf_words / SETS_PER_BUFFER)
    active = math.ceil(buf_words * ACTIVE_FRACTION)
    prefetch = buf_words - active
    n_sets = st.n_valid // eps + 1
    a = min(math.ceil(active / eps), n_sets)
    p = min(math.ceil(prefetch / eps), n_sets - a)
    fetch_rows = math.ceil(st.n_padded / bw)
    words = min(math.ceil(active / bw), fetch_rows) * bw  # initial fill of the active half
    refill_words = math.ceil(prefetch / bw) * bw
    no_refill = (np.empty(0), np.empty(0, dtype=np.int64))
    if p <= 0:
        return words, no_refill
    lo_set = (np.floor(st.lo) // eps).astype(np.int64)
    hi_set = (np.floor(np.maximum(st.hi, st.lo)) // eps).astype(np.int64)
    lo_line, hi_line = span
    if st.copies is not None:  # per-word scan of every fold (compiled): a word hits on any copy
        off = lo_set % n_sets
        if ((off < a) & (off + hi_set - lo_set < a)).all():
            return words, no_refill  # every tile fits the first window: no refill, no copy table needed
        missed = st.copies.walk(lo_set, hi_set, eps, n_sets, a, p)
        lines = fold_start[missed[:, 0]] + lo_line + missed[:, 1]
        return words + int(missed[:, 2].sum()) * refill_words, (lines, missed[:, 2].copy())
    from archgym.simulators.npu import kernels  # numba: not imported by the families that never evaluate a layer

    row_words = np.empty(0) if st.row_words is None else np.asarray(st.row_words, dtype=np.float64)
    lines, counts = kernels.walk_tiles(lo_set, hi_set, st.lo, st.hi, row_words, st.descending, fold_start, lo_line,
                                       hi_line, eps, n_sets, a, p)
    return words + int(counts.sum()) * refill_words, (lines, counts)


def _ofmap_writes_per_fold(layer: Layer, d: NPUDesign, mp: _Mapping, fc: np.ndarray, fr: np.ndarray
                           ) -> tuple[np.ndarray, tuple[int, int]]:
    """Valid ofmap words each fold writes, and the line span (within the fold) they occupy."""
    npx, m = layer.ofmap_px, layer.num_filters
    if d.dataflow == "os":
        rows, cols = _used(npx, d.rows), _used(m, d.cols)
        return rows[fr] * cols[fc], (mp.t - 1, mp.t - 1 + d.rows + d.cols - 1)
    cols = _used(m if d.dataflow == "ws" else npx, d.cols)
    per_col = npx if d.dataflow == "ws" else m
    return per_col * cols[fc], (2 * d.rows - 1, mp.fold_cycles)


def _stall_cycles(read_bursts: Sequence[tuple[Bursts, int]], wr_lines: np.ndarray,
                  wr_cum: np.ndarray, ofmap_words: int, bw: int) -> tuple[float, int]:
    """Replay SCALE-Sim's memory timing at refill/drain granularity (``kernels.stall_replay``).

    Reads: refill k of an operand completes at cycle k*(refill_lines + latency) - 1 (refills queue
    back to back on the DRAM port); a demand that arrives earlier stalls, and SCALE-Sim adds the wait
    twice (read_buffer.service_reads adds `potential_stall_cycles` to the offset twice when positive).
    Writes: the ofmap buffer drains half of itself (ceil(half/bw) lines, one a cycle) once it is more
    than half full; a write that finds it full waits for the running drain (write_buffer.service_writes).
    ``read_bursts``: the ifmap's and the filter's (demand line, refills) bursts, each with its refill
    duration.  Returns the stall cycles and SCALE-Sim's DRAM ofmap write count (``kernels.drain_state``)."""
    from archgym.simulators.npu import kernels  # numba: not imported by the families that never evaluate a layer

    ((if_lines, if_counts), dur_if), ((f_lines, f_counts), dur_f) = read_bursts
    half = ofmap_words - math.ceil(ofmap_words * ACTIVE_FRACTION)
    stall, written = kernels.stall_replay(if_lines, if_counts, dur_if, f_lines, f_counts, dur_f,
                                          np.asarray(wr_lines, np.float64),
                                          np.asarray(wr_cum, np.float64), ofmap_words, half, bw, DRAM_READ_LATENCY)
    return stall, int(written)


# ------------------------------------------------------------------------------------------------
# Row-stationary (Eyeriss) analytical model
# ------------------------------------------------------------------------------------------------
def _row_stationary(layer: Layer, d: NPUDesign) -> dict[str, float]:
    """Eyeriss row-stationary mapping (Chen et al., ISCA 2016, Sec. IV): a logical PE set of
    r filter rows x e output rows runs 1-D row convolutions (S x F MACs per PE); sets for different
    (channel, filter) pairs are replicated over the array; psums accumulate vertically."""
    r_f, s_f, c, m = layer.filt_h, layer.filt_w, layer.channels, layer.num_filters
    e_o, f_o, st = layer.ofmap_h, layer.ofmap_w, layer.stride
    r = min(r_f, d.rows)
    r_folds = math.ceil(r_f / r)
    e = min(e_o, d.cols)
    strips = math.ceil(e_o / e)
    sets = (d.rows // r) * (d.cols // e)
    items = c * m * strips * r_folds            # (channel, filter, strip, filter-row fold) work items
    passes = math.ceil(items / sets)
    pass_cycles = s_f * f_o + r + e              # 1-D convolution plus pipeline fill/drain
    compute = passes * pass_cycles
    in_rows = (e - 1) * st + r
    # a pass multicasts each ifmap row to the sets sharing its channel; filters stay in the spads
    ifmap_sram = c * strips * r_folds * in_rows * layer.ifmap_w * math.ceil(m / max(1, min(sets, m)))
    filter_sram = c * m * r_f * s_f * strips
    ofmap_sram = m * e_o * f_o * (2 * c - 1) * r_folds  # psum read-modify-write across channels
    return {"compute_cycles": compute, "sram_ifmap_reads": ifmap_sram, "sram_filter_reads": filter_sram,
            "sram_ofmap_writes": ofmap_sram, "rf_accesses": 4 * layer.ofmap_px * layer.window * m,
            "noc_hops": layer.ofmap_px * layer.window * m}


def _reuse_dram(footprint: int, buf_words: int, passes: int) -> int:
    """Operand words fetched from DRAM when it is streamed `passes` times through a buffer."""
    return footprint if footprint <= buf_words else footprint * passes


# ------------------------------------------------------------------------------------------------
# Public evaluation
# ------------------------------------------------------------------------------------------------
COUNT_KEYS = ("macs", "compute_cycles", "stall_cycles", "cycles", "sram_ifmap_reads", "sram_filter_reads",
              "sram_ofmap_writes", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
              "rf_accesses", "noc_hops")


def evaluate_layer(layer: Layer, design: NPUDesign | Mapping[str, Any]) -> dict[str, float]:
    """Cycles and accesses per memory level of one layer (all its groups)."""
    d = design if isinstance(design, NPUDesign) else NPUDesign.from_dict(design)
    g = layer.single_group()
    if_buf, f_buf, o_buf = d.buffer_words(d.ifmap_kb), d.buffer_words(d.filter_kb), d.buffer_words(d.ofmap_kb)
    npx, w, m = g.ofmap_px, g.window, g.num_filters
    if d.dataflow == "rs":
        out = _row_stationary(g, d)
        # DRAM: each operand once if it fits its buffer; otherwise the ifmap is re-streamed for
        # every group of filters in flight and the filters for every output-row strip
        sets = (d.rows // min(g.filt_h, d.rows)) * (d.cols // min(g.ofmap_h, d.cols))
        strips = math.ceil(g.ofmap_h / min(g.ofmap_h, d.cols))
        out["dram_ifmap_reads"] = _reuse_dram(g.ifmap_h * g.ifmap_w * g.channels, if_buf,
                                              math.ceil(m / max(1, min(sets, m))))
        out["dram_filter_reads"] = _reuse_dram(w * m, f_buf, strips)
        out["dram_ofmap_writes"] = _reuse_dram(npx * m, o_buf, 1)
        dram_time = math.ceil(max(out["dram_ifmap_reads"], out["dram_filter_reads"], out["dram_ofmap_writes"])
                              / d.dram_bw)  # whole cycles: bw words per cycle
        out["stall_cycles"] = float(max(0, dram_time - out["compute_cycles"]))
    else:
        mp = _mapping(g, d)
        sram_if, sram_f, sram_o = _sram_counts(g, d, mp)
        fc, fr = _fold_order(mp, d.loop_order)
        fold_start = np.arange(len(fc), dtype=np.float64) * mp.fold_cycles
        ifm, fil = _streams(g, d, mp, fc, fr)
        t, ar, ac = mp.t, d.rows, d.cols
        spans = {"os": ((0, t + ar - 1), (0, t + ac - 1)),
                 "ws": ((ar, 2 * ar + t - 1), (0, ar)),
                 "is": ((0, ar), (ar, 2 * ar + t - 1))}[d.dataflow]
        dram_if, ev_if = _read_buffer_walk(ifm, if_buf, d.dram_bw, fold_start, spans[0])
        dram_f, ev_f = _read_buffer_walk(fil, f_buf, d.dram_bw, fold_start, spans[1])
        wr, (o0, o1) = _ofmap_writes_per_fold(g, d, mp, fc, fr)
        wr_lines = np.empty(2 * len(wr))
        wr_lines[0::2] = fold_start + o0
        wr_lines[1::2] = fold_start + o1
        cum = np.cumsum(wr, dtype=np.float64)
        wr_cum = np.empty(2 * len(wr))
        wr_cum[0::2] = cum - wr
        wr_cum[1::2] = cum
        refill_cycles = lambda buf: math.ceil((buf - math.ceil(buf * ACTIVE_FRACTION)) / d.dram_bw) \
            + DRAM_READ_LATENCY
        stall, dram_o = _stall_cycles([(ev_if, refill_cycles(if_buf)), (ev_f, refill_cycles(f_buf))],
                                      wr_lines, wr_cum, o_buf, d.dram_bw)
        out = {"compute_cycles": len(fc) * mp.fold_cycles, "sram_ifmap_reads": sram_if,
               "sram_filter_reads": sram_f, "sram_ofmap_writes": sram_o,
               "dram_ifmap_reads": dram_if, "dram_filter_reads": dram_f, "dram_ofmap_writes": dram_o,
               "stall_cycles": float(round(stall)),  # whole cycles, as SCALE-Sim counts them
               # each MAC reads its two operand registers and updates its psum register, and forwards
               # the moving operands to a neighbour (systolic array: two hops per MAC)
               "rf_accesses": 3 * npx * w * m, "noc_hops": 2 * npx * w * m,
               "row_fold": mp.row_fold, "col_fold": mp.col_fold, "fold_cycles": mp.fold_cycles}
    out["macs"] = npx * w * m
    out["cycles"] = out["compute_cycles"] + out["stall_cycles"]
    if layer.groups > 1:
        for k in COUNT_KEYS:
            out[k] = out[k] * layer.groups
    return out


def _energy_area(d: NPUDesign, tot: Mapping[str, float]) -> dict[str, float]:
    wb = d.word_bytes
    e_if, e_f, e_o = (costs.sram_energy_pj_per_byte(kb) * wb for kb in (d.ifmap_kb, d.filter_kb, d.ofmap_kb))
    dram_words = tot["dram_ifmap_reads"] + tot["dram_filter_reads"] + tot["dram_ofmap_writes"]
    e = {
        "energy_mac_pj": tot["macs"] * costs.E_MAC_PJ,
        "energy_rf_pj": tot["rf_accesses"] * costs.E_RF_PJ,
        "energy_noc_pj": tot["noc_hops"] * costs.E_NOC_HOP_PJ,
        "energy_sram_pj": tot["sram_ifmap_reads"] * e_if + tot["sram_filter_reads"] * e_f
        + tot["sram_ofmap_writes"] * e_o
        # words brought from DRAM are also written into the buffers, ofmap words read out to DRAM
        + tot["dram_ifmap_reads"] * e_if + tot["dram_filter_reads"] * e_f + tot["dram_ofmap_writes"] * e_o,
        "energy_dram_pj": dram_words * wb * costs.E_DRAM_PJ_PER_BYTE,
    }
    e["energy_pj"] = sum(e.values())
    e.update(area(d))
    return e


def area(d: NPUDesign) -> dict[str, float]:
    """Silicon area (mm^2) of the PE array and the three SRAMs (`npu_costs`, 45 nm)."""
    pe = costs.pe_area_um2(d.dataflow) * d.rows * d.cols
    sram = sum(costs.sram_area_um2(kb) for kb in (d.ifmap_kb, d.filter_kb, d.ofmap_kb))
    return {"area_pe_mm2": pe / 1e6, "area_sram_mm2": sram / 1e6, "area_mm2": (pe + sram) / 1e6}


def layer_key(layer: Layer, d: NPUDesign) -> tuple:
    """What one layer's result depends on: its dimensions (not its name) and the design, with the
    loop order dropped where it cannot matter (row-stationary, or a single row or column fold: the
    fold sequence is then the same in both orders)."""
    g = layer.single_group()
    order = d.loop_order
    if d.dataflow == "rs":
        order = ""
    else:
        mp = _mapping(g, d)
        if mp.row_fold == 1 or mp.col_fold == 1:
            order = ""
    return (*layer.dims, layer.groups), (d.rows, d.cols, d.dataflow, d.ifmap_kb, d.filter_kb, d.ofmap_kb, order,
                                         d.dram_bw, d.word_bytes)


def evaluate(design: NPUDesign | Mapping[str, Any], workload: str | Sequence[Layer] = "resnet18",
             per_layer: bool = False, cache: MutableMapping[tuple, dict[str, float]] | None = None,
             layer_evaluator: Callable[[Layer, NPUDesign], dict[str, float]] | None = None) -> dict[str, Any]:
    """Metrics of a design on a workload (shipped name, topology CSV path, or list of Layers).

    Returns cycles (incl. stalls), compute/stall cycles, PE utilization, accesses per memory level
    (register file, inter-PE, SRAM per operand, DRAM per operand), energy (pJ) with breakdown, area
    (mm^2) and a DRAM bandwidth check (`dram_bw_required` words/cycle to run without stalls).
    Layers with equal `layer_key` are evaluated once; pass a `cache` (any mapping) to share those
    per-layer results across calls (a DSE run revisits layers under equal knobs).  ``layer_evaluator``
    replaces this model's per-layer figures (`evaluate_layer`) by another simulator's (SCALE-Sim's)
    while keeping the totals, energy and area computed here."""
    d = design if isinstance(design, NPUDesign) else NPUDesign.from_dict(design)
    layers = load_workload(workload) if isinstance(workload, str) else list(workload)
    if not layers:
        raise DesignError("workload has no layers")
    memo: MutableMapping[tuple, dict[str, float]] = {} if cache is None else cache
    rows = []
    for layer in layers:
        key = layer_key(layer, d)
        r = memo.get(key)
        if r is None:
            r = memo[key] = (layer_evaluator or evaluate_layer)(layer, d)
        rows.append(r)
    tot: dict[str, Any] = {k: float(sum(r[k] for r in rows)) for k in COUNT_KEYS}
    pes = d.rows * d.cols
    tot["pe_utilization"] = tot["macs"] / (tot["cycles"] * pes)
    tot["compute_utilization"] = tot["macs"] / (tot["compute_cycles"] * pes)
    dram_words = tot["dram_ifmap_reads"] + tot["dram_filter_reads"] + tot["dram_ofmap_writes"]
    # three operand interfaces of dram_bw words/cycle each (SCALE-Sim's model)
    tot["dram_bw_required"] = max(tot[k] for k in ("dram_ifmap_reads", "dram_filter_reads",
                                                   "dram_ofmap_writes")) / tot["compute_cycles"]
    tot["dram_bw_available"] = float(d.dram_bw)
    tot["dram_bw_ok"] = bool(tot["dram_bw_required"] <= d.dram_bw)
    tot["dram_bytes"] = dram_words * d.word_bytes
    tot.update(_energy_area(d, tot))
    if per_layer:
        tot["layers"] = [dict(name=layer.name, **r) for layer, r in zip(layers, rows)]
    return tot
