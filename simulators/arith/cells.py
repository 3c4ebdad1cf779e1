"""The documented cell model behind the analytical delay and area estimates.

Units: the *unit-gate model* of Zimmermann ("Binary Adder Architectures for Cell-Based VLSI and
their Synthesis", PhD thesis, ETH Zurich, 1997, sec. 2.5): a 2-input AND/OR gate costs one unit of
area and one unit of delay, an XOR/XNOR two of each; complex gates count their equivalent 2-input
gates.  Full and half adders follow the same model (Zimmermann table 2.3: FA area 7, sum delay 4,
carry delay 2; HA area 3, sum delay 2, carry delay 1).

Fanout: the unit-gate model ignores load.  We add the logical-effort view (Sutherland, Sproull &
Harris, "Logical Effort", 1999): the delay of a gate grows linearly with its electrical effort, i.e.
with the number of equal gates it drives.  ``FANOUT_DELAY`` is the extra delay (in unit-gate
delays) per additional load; 0.25 is the logical effort of a 2-input NAND-based cell (4/3) times the
FO1 stage delay normalized to a unit gate (about 0.19) rounded to a quarter.

Calibration against synthesis (``experiments/calibrate_rtl.py``: 24 classical adders at 16-128 bits,
36 array/Wallace/Dadda x 4-adder multipliers at 8-32 bits, structural flow onto osu018, OpenSTA).
Spearman rho of these constants vs synthesis, mean over widths / worst width / pooled: adder delay
0.946 / 0.899 / 0.981, adder area 0.986 / 0.986 / 0.990, multiplier delay 0.688 / 0.420 / 0.918,
multiplier area 0.613 / 0.601 / 0.957.  A least-squares re-fit of all constants (log-error Nelder-Mead
for delays, relative NNLS for areas) lifts the multiplier figures only to 0.70 (delay) and 0.70 (area)
within width, and only by unphysical values (XOR2 area 0, half-adder sum slower than a full adder's),
so the Zimmermann values are kept.  The within-width misranking comes from the array trees (without
them: delay 0.84, area 0.90): synthesized, a 16-bit array + Brent-Kung is only 2% slower than Dadda +
Kogge-Stone (the model: 52%), and it is smaller because the delay-targeted mapping spends area on
critical paths only and the array has the most slack (area-only mapping ``map -a`` shrinks 16-bit
Wallace/Dadda netlists by 32-37% but the array by 24%); no per-cell constant can express either.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """A logic cell: area and pin-to-pin delays in unit-gate units."""

    name: str
    area: float
    delay: float  # worst input-to-output delay at fanout 1
    carry_delay: float | None = None  # second output (full/half adder carry), if any


# Pre-processing of an adder bit: generate g = a & b, propagate p = a ^ b.
AND2 = Cell("AND2", area=1.0, delay=1.0)
XOR2 = Cell("XOR2", area=2.0, delay=2.0)
# Prefix operator (g, p) o (g', p') = (g | p & g', p & p'): an AO21 (2 units) plus an AND2.
BLACK = Cell("BLACK", area=3.0, delay=2.0)
# Prefix operator that only needs the group generate: one AO21.
GREY = Cell("GREY", area=2.0, delay=2.0)
# Compressors of a multiplier's partial-product tree.
FULL_ADDER = Cell("FA", area=7.0, delay=4.0, carry_delay=2.0)
HALF_ADDER = Cell("HA", area=3.0, delay=2.0, carry_delay=1.0)

FANOUT_DELAY = 0.25


def load_delay(fanout: int) -> float:
    """Extra delay of a gate that drives ``fanout`` loads (none for a single load)."""
    return FANOUT_DELAY * max(0, fanout - 1)
