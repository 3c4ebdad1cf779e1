"""Liberty (.lib) standard-cell libraries: locate the default one, read what the synthesis flow needs.

The synthesis runner needs a few facts Yosys's ``stat`` does not give in machine-readable form on
every Yosys version: each cell's area, a buffer cell (OpenSTA's Verilog reader cannot read the
``assign`` aliases Yosys writes, so ``insbuf`` replaces them by buffers) and an inverter's input
capacitance (the fanout-of-4 output load used for timing).  This module reads just those from the
Liberty text (Synopsys Liberty Reference Manual: groups ``name (args) { ... }``, simple attributes
``name : value ;``); table-lookup timing itself is left to the static timing analyser.

Default library: Debian's ``qflow-tech-osu018`` (Oklahoma State University 0.18 um cells, 32 cells
with table-lookup timing), which the archgym setup installs.  Point archgym at a real PDK with
``env.liberty=/path/to/cells.lib`` (for instance a sky130 ``..._tt_025C_1v80.lib``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from archgym.errors import ConfigError

# Debian package qflow-tech-osu018 (installed by the archgym setup script).
DEBIAN_OSU018 = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")
LIBERTY_ENV_VAR = "ARCHGYM_LIBERTY"

INSTALL_HINT = (
    "install the default cell library with `apt-get install qflow-tech-osu018` "
    "(or, without root: `apt-get download qflow-tech-osu018 && dpkg-deb -x qflow-tech-osu018_*.deb DIR`, "
    "then set env.liberty=DIR/usr/share/qflow/tech/osu018/osu018_stdcells.lib), "
    "or set env.liberty=/path/to/your_pdk.lib"
)


def find_liberty(configured: str | os.PathLike[str] | None = None) -> Path:
    """The Liberty file to map to: the configured path, else $ARCHGYM_LIBERTY, else Debian's osu018.

    A configured path that does not exist is an error (never silently replaced by the default).
    """
    if configured is None or str(configured) == "":
        configured = os.environ.get(LIBERTY_ENV_VAR) or None
    if configured is not None:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ConfigError("env.liberty", f"Liberty file {str(path)!r} does not exist or is not a file")
        return path.resolve()
    if DEBIAN_OSU018.is_file():
        return DEBIAN_OSU018
    raise ConfigError("env.liberty", f"no Liberty cell library found at {DEBIAN_OSU018}; {INSTALL_HINT}")


@dataclass(frozen=True)
class LibPin:
    """One pin of a Liberty cell: name, direction, function and input capacitance."""

    name: str
    direction: str  # "input" | "output" | "inout" | "internal"
    function: str | None = None
    capacitance: float | None = None


@dataclass(frozen=True)
class LibCell:
    """One Liberty cell: name, area and pins."""

    name: str
    area: float
    pins: tuple[LibPin, ...] = ()
    sequential: bool = False  # has an ff/latch group

    @property
    def inputs(self) -> list[LibPin]:
        return [p for p in self.pins if p.direction == "input"]

    @property
    def outputs(self) -> list[LibPin]:
        return [p for p in self.pins if p.direction == "output"]


@dataclass(frozen=True)
class Library:
    """The parts of a Liberty library the synthesis flow uses."""

    name: str
    path: Path
    content_hash: str  # sha256 of the file: part of the synthesis cache key
    cells: dict[str, LibCell] = field(default_factory=dict)

    def area_of(self, counts: dict[str, int]) -> float:
        """Total area of ``counts`` (cell name -> instances); unknown cells are an error."""
        missing = sorted(set(counts) - set(self.cells))
        if missing:
            raise KeyError(f"cells not in library {self.name}: {', '.join(missing)}")
        return sum(self.cells[name].area * n for name, n in counts.items())

    def _single_io(self, want: str) -> LibCell:
        candidates = []
        for cell in self.cells.values():
            ins, outs = cell.inputs, cell.outputs
            if cell.sequential or len(ins) != 1 or len(outs) != 1 or not outs[0].function:
                continue
            func = _strip_parens(re.sub(r"\s+", "", outs[0].function.strip('"')))
            pin = ins[0].name
            if (want == "buffer" and func == pin) or (want == "inverter" and func in (f"!{pin}", f"{pin}'")):
                candidates.append(cell)
        if not candidates:
            raise ConfigError("env.liberty", f"library {self.path} has no {want} cell")
        return min(candidates, key=lambda c: (c.area, c.name))

    def buffer(self) -> LibCell:
        """The smallest non-inverting buffer (used by ``insbuf`` and as the input driving cell)."""
        return self._single_io("buffer")

    def inverter(self) -> LibCell:
        """The smallest inverter (its input capacitance sets the fanout-of-4 output load)."""
        return self._single_io("inverter")

    def fo4_load(self) -> float:
        """Four inverter input capacitances, in the library's capacitance unit."""
        cap = self.inverter().inputs[0].capacitance
        if cap is None:
            raise ConfigError("env.liberty", f"inverter {self.inverter().name} has no input pin capacitance")
        return 4.0 * cap


def _strip_parens(expr: str) -> str:
    """``"((!A))"`` -> ``"!A"``: drop parentheses that enclose the whole expression."""
    while expr.startswith("(") and expr.endswith(")"):
        depth = 0
        for i, ch in enumerate(expr):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(expr) - 1:
                return expr  # the first "(" closes before the end: "(A)&(B)"
        expr = expr[1:-1]
    return expr


_TOKEN = re.compile(
    r"""(?P<comment>/\*.*?\*/|//[^\n]*)
      | (?P<group>[A-Za-z_][\w.]*)\s*\((?P<args>[^()]*)\)\s*\{
      | (?P<close>\})
      | (?P<attr>[A-Za-z_][\w.]*)\s*:\s*(?P<value>"[^"]*"|[^;\n}]+?)\s*(?:;|(?=\n|\}|$))
      | (?P<complex>[A-Za-z_][\w.]*)\s*\((?:[^()]|\\\n)*\)\s*;?
      | (?P<cont>\\\n)
      | (?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)


def parse_liberty(text: str, path: Path, content_hash: str = "") -> Library:
    """Read library name, cells, areas, pin directions, functions and capacitances from Liberty text."""
    stack: list[tuple[str, str]] = []  # (group kind, group argument)
    lib_name = ""
    cells: dict[str, LibCell] = {}
    cell: dict | None = None
    pin: dict | None = None
    for m in _TOKEN.finditer(text):
        if m.group("group"):
            gkind, arg = m.group("group"), m.group("args").strip().strip('"')
            stack.append((gkind, arg))
            if gkind == "library" and len(stack) == 1:
                lib_name = arg
            elif gkind == "cell" and len(stack) == 2:
                cell = {"name": arg, "area": None, "pins": [], "sequential": False}
            elif gkind == "pin" and cell is not None and len(stack) == 3:
                pin = {"name": arg, "direction": "", "function": None, "capacitance": None}
            elif gkind in ("ff", "latch", "ff_bank", "latch_bank", "statetable") and cell is not None:
                cell["sequential"] = True
        elif m.group("close"):
            if not stack:
                raise ConfigError("env.liberty", f"{path}: unbalanced '}}' at offset {m.start()}")
            gkind, _ = stack.pop()
            if gkind == "pin" and pin is not None and cell is not None and len(stack) == 2:
                cell["pins"].append(LibPin(**pin))
                pin = None
            elif gkind == "cell" and cell is not None and len(stack) == 1:
                if cell["area"] is None:
                    raise ConfigError("env.liberty", f"{path}: cell {cell['name']} has no area")
                cells[cell["name"]] = LibCell(cell["name"], cell["area"], tuple(cell["pins"]), cell["sequential"])
                cell = None
        elif m.group("attr"):
            name, value = m.group("attr"), m.group("value").strip()
            if cell is not None and len(stack) == 2 and name == "area":
                cell["area"] = float(value)
            elif pin is not None and len(stack) == 3:
                if name == "direction":
                    pin["direction"] = value.strip('"')
                elif name == "function":
                    pin["function"] = value.strip('"')
                elif name == "capacitance":
                    pin["capacitance"] = float(value)
    if not lib_name or not cells:
        raise ConfigError("env.liberty", f"{path} is not a Liberty library (no library group or no cells)")
    if stack:
        raise ConfigError("env.liberty", f"{path}: unterminated group {stack[-1][0]}({stack[-1][1]})")
    return Library(lib_name, path, content_hash, cells)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int, size: int) -> Library:
    content_hash = file_sha256(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise ConfigError("env.liberty", f"cannot read {path}: {exc}") from exc
    return parse_liberty(text, path, content_hash)


def load_liberty(configured: str | os.PathLike[str] | None = None) -> Library:
    """Locate (see :func:`find_liberty`) and parse a Liberty library; parsed once per file version."""
    path = find_liberty(configured)
    st = path.stat()
    return _load(path, st.st_mtime_ns, st.st_size)
