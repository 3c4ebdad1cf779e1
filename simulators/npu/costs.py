"""Per-access energy and per-component area figures for the NPU dataflow family (45 nm).

Why a table: energy and area are computed as (access or component counts) x (documented unit costs),
so every unit cost here carries its source.  All figures are 45 nm; they are used as relative costs
for design-space exploration, not as sign-off numbers.
"""

from __future__ import annotations

import math

# --- Energy (pJ) --------------------------------------------------------------------------------
# M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, Fig. 1.1.9
# (45 nm, 0.9 V): 8-bit integer multiply 0.2 pJ, 32-bit integer add 0.1 pJ.
E_MULT8_PJ = 0.2
E_ADD32_PJ = 0.1
E_MAC_PJ = E_MULT8_PJ + E_ADD32_PJ  # 8-bit operands, 32-bit accumulation

# Y.-H. Chen, J. Emer, V. Sze, "Eyeriss: A spatial architecture for energy-efficient dataflow for
# convolutional neural networks", ISCA 2016, Fig. 5 / Table: normalized energy per access relative to
# one MAC: register file (RF) 1x, inter-PE array (NoC) 2x, global buffer 6x, DRAM 200x.
# We use the RF and inter-PE ratios on top of Horowitz's MAC; buffers and DRAM use Horowitz's
# absolute figures below (size-dependent), the Eyeriss ratios serve as a cross-check.
E_RF_PJ = 1.0 * E_MAC_PJ
E_NOC_HOP_PJ = 2.0 * E_MAC_PJ

# Horowitz ISSCC 2014, Fig. 1.1.9: 64-bit SRAM read 10 pJ (8 KB), 20 pJ (32 KB), 100 pJ (1 MB).
_SRAM_POINTS_KB_PJ64 = ((8.0, 10.0), (32.0, 20.0), (1024.0, 100.0))
# Horowitz ISSCC 2014, Fig. 1.1.9: DRAM 1.3-2.6 nJ per 64-bit access; we take the lower end.
E_DRAM_PJ_PER_BYTE = 1300.0 / 8.0


def sram_energy_pj_per_byte(size_kb: float) -> float:
    """Energy per byte read/written in an SRAM of `size_kb`: log-log interpolation (and
    extrapolation) of Horowitz's three 64-bit points, so larger buffers cost more per access."""
    pts = _SRAM_POINTS_KB_PJ64
    x = math.log(max(size_kb, 1e-3))
    if size_kb <= pts[1][0]:
        (x0, y0), (x1, y1) = pts[0], pts[1]
    else:
        (x0, y0), (x1, y1) = pts[1], pts[2]
    lx0, lx1, ly0, ly1 = math.log(x0), math.log(x1), math.log(y0), math.log(y1)
    ly = ly0 + (x - lx0) * (ly1 - ly0) / (lx1 - lx0)
    return math.exp(ly) / 8.0


# --- Area (um^2) --------------------------------------------------------------------------------
# Horowitz ISSCC 2014, Fig. 1.1.9 (45 nm): 8-bit multiplier 282 um^2, 32-bit adder 137 um^2.
A_MULT8_UM2 = 282.0
A_ADD32_UM2 = 137.0
# NanGate FreePDK45 Open Cell Library: DFF_X1 area 4.522 um^2 (one register bit).
A_FLOP_BIT_UM2 = 4.522
# K. Mistry et al., "A 45nm logic technology with high-k+metal gate transistors ...", IEDM 2007:
# 6T SRAM cell 0.346 um^2.  ARRAY_EFFICIENCY (cells / total macro area) = 0.7 is our assumption for
# periphery (decoders, sense amplifiers), typical of CACTI macros of 8-1024 KB.
A_SRAM_CELL_UM2 = 0.346
SRAM_ARRAY_EFFICIENCY = 0.7

# Systolic PE registers: 8-bit ifmap, 8-bit weight, 32-bit partial sum (SCALE-Sim's PE).
SYSTOLIC_PE_REG_BITS = 8 + 8 + 32
# Eyeriss PE (Chen et al., ISCA 2016, Sec. V): filter scratchpad 224 entries (an SRAM), ifmap 12 and
# psum 24 entries (registers).  We keep 8-bit filter/ifmap and 32-bit psum entries (Eyeriss used
# 16-bit) to match the other dataflows.
RS_PE_FILTER_SPAD_BITS = 224 * 8
RS_PE_REG_BITS = 12 * 8 + 24 * 32


def pe_area_um2(dataflow: str) -> float:
    """Area of one PE: MAC datapath plus its local storage (registers or Eyeriss scratchpads)."""
    mac = A_MULT8_UM2 + A_ADD32_UM2
    if dataflow == "rs":
        return mac + RS_PE_REG_BITS * A_FLOP_BIT_UM2 + RS_PE_FILTER_SPAD_BITS * A_SRAM_CELL_UM2 / SRAM_ARRAY_EFFICIENCY
    return mac + SYSTOLIC_PE_REG_BITS * A_FLOP_BIT_UM2


def sram_area_um2(size_kb: float) -> float:
    """Area of an SRAM macro of `size_kb` kilobytes (cells / array efficiency)."""
    return size_kb * 1024 * 8 * A_SRAM_CELL_UM2 / SRAM_ARRAY_EFFICIENCY
