"""Malformed inputs for every command, and the check that each one gets a clean error.

A clean error is what the README promises: exit status 2, one line on stderr that starts with
``error:`` (naming the field), no traceback, within a time bound.  The cases are built from what the
code declares, so a new env, agent or config field is fuzzed without touching this module:

* top-level keys of ``run`` / ``compare`` (:class:`archgym.fields.RunOptions`, ``CompareOptions``);
* every env and agent field that declares constraints (``archgym.fields.option``): a value of the wrong
  type, below ``low``, above ``high``, outside ``choices``; unknown fields and group names;
* design JSON of every env, mutated from its documented form (``to_json`` of a baseline): unknown or
  missing keys, values of the wrong JSON type, duplicated keys, truncated, non-UTF-8 and non-object files;
* paths: ``out_dir``/``log`` under a file, malformed store URLs, ``export out=`` in a missing directory,
  on a directory or empty, run directories with a broken ``summary.json``.

:func:`corpus` enumerates them all (``experiments/fuzz_inputs.py`` runs it and prints the counts);
the test suite draws from the same generators with hypothesis.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archgym import registry

#: evaluation budget and flags every fuzzed run gets, so an input that is wrongly accepted ends fast
SAFE_RUN = ("budget=2", "progress=false", "verify=false", "ground_truth=false")
#: small instances per env, so that a wrongly accepted input costs little
SMALL_ENV = {"adder": ("env.width=8",), "multiplier": ("env.width=4",)}
#: words YAML (Hydra's value parser) reads as something other than a string
YAML_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "nan", "inf", "y", "n", "none", "~"}


@dataclass(frozen=True)
class Case:
    """One malformed command line: ``python -m archgym.<command> <argv...>``."""

    command: str
    argv: tuple[str, ...]
    kind: str  # the class of malformation (for the counts)


@dataclass
class Outcome:
    code: int | None
    stderr: str
    seconds: float

    @property
    def clean(self) -> bool:
        lines = self.stderr.strip().splitlines()
        return (self.code == 2 and len(lines) == 1 and lines[0].startswith("error: ")
                and "Traceback" not in self.stderr and len(lines[0]) <= 600)


class _Deadline(Exception):
    pass


def run_case(case: Case, timeout: float = 60.0) -> Outcome:
    """Run one case in this process (as ``python -m`` would), capturing stderr; a hang past ``timeout``
    seconds is an outcome with code None."""
    import importlib

    from archgym.config import hydra_entry

    module = importlib.import_module(f"archgym.{case.command}")
    err, out = io.StringIO(), io.StringIO()
    code: int | None = 0
    start = time.perf_counter()

    def _alarm(*_: Any) -> None:
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    old_argv = sys.argv
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                if case.command in ("run", "compare"):
                    sys.argv = [f"archgym.{case.command}", *case.argv]
                    groups = ("env", "agent") if case.command == "run" else ("env",)
                    hydra_entry(module.main, case.command, groups)
                else:
                    module.main(list(case.argv))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except _Deadline:
                code = None
            except Exception:  # a traceback is what a user would see
                import traceback

                traceback.print_exc()
                code = 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.argv = old_argv
    return Outcome(code, err.getvalue(), time.perf_counter() - start)


# ---- bad values of declared fields ------------------------------------------------------------------
def bad_values(f: dataclasses.Field) -> Iterator[tuple[str, str]]:
    """(override text, kind) pairs that the field's declaration rules out."""
    meta: Any = f.metadata or {}
    typ = str(f.type)
    numeric = any(t in typ for t in ("int", "float")) and "list" not in typ and "str" not in typ
    if numeric:
        yield "abc", "wrong type"
        yield "[1,2]", "wrong type"
    if meta.get("integer") and "list" not in typ:
        yield "1.5", "not an integer"
    low, high = meta.get("low"), meta.get("high")
    if low is not None and "list" not in typ:
        yield _number(low - (1 if meta.get("integer") else max(abs(low) * 0.5, 0.5))), "below low"
    if high is not None and "list" not in typ:
        yield _number(high + (1 if meta.get("integer") else max(abs(high), 1.0))), "above high"
    if low is not None and "list" in typ:
        yield f"[{_number(low - 1)}]", "list element below low"
    if meta.get("choices") is not None:
        choices = {str(c).lower() for c in meta["choices"]}
        if choices <= {"true", "false"}:
            yield "maybe", "outside choices"
        else:
            yield "no_such_choice", "outside choices"
    if "bool" in typ:
        yield "2", "wrong type"


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def field_cases(command: str, prefix: str, config_class: type, base: tuple[str, ...]) -> Iterator[Case]:
    """A case per bad value of every field of ``config_class``, plus an unknown field."""
    for f in dataclasses.fields(config_class):
        for value, kind in bad_values(f):
            yield Case(command, (*base, f"{prefix}{f.name}={value}"), f"{prefix or 'top'}:{kind}")
    yield Case(command, (*base, f"{prefix}no_such_field=1"), f"{prefix or 'top'}:unknown field")


# ---- design JSON ------------------------------------------------------------------------------------
def design_mutations(reference: dict[str, Any], optional: frozenset[str]) -> Iterator[tuple[str | bytes, str]]:
    """(file content, kind) of malformed variants of a design's JSON form."""
    text = json.dumps(reference)
    yield json.dumps({**reference, "no_such_key": 1}), "unknown key"
    for key in sorted(set(reference) - optional):
        yield json.dumps({k: v for k, v in reference.items() if k != key}), "missing key"
    for key, value in sorted(reference.items()):
        for wrong in _wrong_json(value):
            yield json.dumps({**reference, key: wrong}), "wrong type"
        if isinstance(value, str):
            yield json.dumps({**reference, key: "no_such_value"}), "unknown name"
        if isinstance(value, list) and value:
            for wrong in _wrong_json(value[0])[:1]:
                yield json.dumps({**reference, key: [wrong, *value[1:]]}), "wrong element type"
            if isinstance(value[0], str):
                yield json.dumps({**reference, key: ["no_such_name", *value[1:]]}), "unknown name"
            yield json.dumps({**reference, key: value * max(1, 100_000 // len(value))}), "huge or duplicated list"
    first = next(iter(reference))
    yield text[:-1] + f', "{first}": {json.dumps(reference[first])}}}', "duplicate key"
    yield text[: len(text) // 2], "truncated"
    yield b"\xff\xfe\x00garbage", "not UTF-8"
    yield "[1, 2, 3]", "not an object"
    yield "", "empty file"


def _wrong_json(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return ["yes", 1]
    if isinstance(value, int):
        return [float(value) + 0.5, str(value), None]
    if isinstance(value, float):
        return [str(value), True]
    if isinstance(value, str):
        return [1, [value]]
    if isinstance(value, list):
        return ["x", {"a": 1}]
    if isinstance(value, dict):
        return ["x", [1]]
    return ["x"]


# ---- the corpus -------------------------------------------------------------------------------------
def corpus(tmp: Path) -> list[Case]:
    """Every malformed input the generators make (files they need are written under ``tmp``)."""
    from archgym.config import build_problem
    from archgym.fields import CompareOptions, RunOptions

    tmp.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    a_file = tmp / "a_file"
    a_file.write_text("x")
    out = f"out_dir={tmp / 'out'}"
    for env in registry.envs.names():
        small = SMALL_ENV.get(env, ())
        problem = build_problem(env, {k.split("=")[0][4:]: _yaml(k.split("=")[1]) for k in small})
        base = (f"env={env}", "agent=random", *SAFE_RUN, out, *small)
        env_cls = registry.envs.get(env)
        cases += field_cases("run", "env.", env_cls.config_class, base)
        cases += field_cases("evaluate", "env.", env_cls.config_class,
                             (f"env={env}", f"design={next(iter(problem.baselines()))}", *small))
        reference = problem._reference_json()
        if reference is not None:
            for i, (content, kind) in enumerate(design_mutations(reference, problem.optional_design_keys)):
                path = tmp / f"{env}-design-{i}.json"
                path.write_bytes(content if isinstance(content, bytes) else content.encode())
                cases.append(Case("evaluate", (f"env={env}", f"design={path}", *small), f"design:{kind}"))
    for agent in registry.agents.names():
        base = ("env=adder", f"agent={agent}", *SAFE_RUN, out, "env.width=8")
        cases += field_cases("run", "agent.", registry.agents.get(agent).config_class, base)
    run_base = ("env=adder", "agent=random", "env.width=8")
    for f in dataclasses.fields(RunOptions):
        for value, kind in bad_values(f):
            rest = tuple(a for a in SAFE_RUN if not a.startswith(f"{f.name}="))
            cases.append(Case("run", (*run_base, *rest, out, f"{f.name}={value}"), f"top:{kind}"))
    compare_base = ("env=adder", "env.width=8", "agents=[random]", "progress=false", f"out_dir={tmp / 'cmp'}")
    for f in dataclasses.fields(CompareOptions):
        for value, kind in bad_values(f):
            rest = tuple(a for a in compare_base if not a.startswith(f"{f.name}="))
            cases.append(Case("compare", (*rest, "budget=2", "seeds=1", f"{f.name}={value}")
                              if f.name not in ("budget", "seeds") else (*rest, f"{f.name}={value}"), f"top:{kind}"))
    cases += _name_and_syntax_cases(run_base)
    cases += _path_cases(tmp, a_file, run_base)
    return cases


def _name_and_syntax_cases(run_base: tuple[str, ...]) -> list[Case]:
    return [
        Case("run", ("env=no_such_env", "agent=random"), "name:unknown env"),
        Case("run", ("env=adder", "agent=no_such_agent"), "name:unknown agent"),
        Case("run", ("env=adder",), "name:missing agent"),
        Case("run", ("agent=random",), "name:missing env"),
        Case("run", (*run_base, "no_such_key=1"), "top:unknown key"),
        Case("run", (*run_base, "budget"), "syntax:not key=value"),
        Case("run", (*run_base, "env.width=["), "syntax:bad override"),
        Case("compare", ("env=adder", "agents=[no_such_agent]", "progress=false"), "name:unknown agent"),
        Case("compare", ("env=adder", "agents=[]", "progress=false"), "name:no agents"),
        Case("evaluate", ("env=adder",), "name:missing design"),
        Case("evaluate", ("env=no_such_env", "design=sklansky"), "name:unknown env"),
        Case("evaluate", ("env=adder", "design=no_such_baseline"), "name:unknown baseline"),
        Case("evaluate", ("env=adder", "design=sklansky", "design=ripple"), "syntax:key twice"),
        Case("evaluate", ("env=adder", "design=sklansky", "agent.x=1"), "syntax:foreign override"),
        Case("list", ("nonsense",), "syntax:not key=value"),
        Case("list", ("env=no_such_env",), "name:unknown env"),
        Case("list", ("foo=1",), "top:unknown key"),
        Case("export", ("env=adder", "design=sklansky"), "name:missing out"),
        Case("export", ("env=npu", "design=eyeriss", "out=x.v"), "name:no Verilog export"),
    ]


def _path_cases(tmp: Path, a_file: Path, run_base: tuple[str, ...]) -> list[Case]:
    bad_summary = tmp / "bad_run"
    bad_summary.mkdir(exist_ok=True)
    (bad_summary / "summary.json").write_text("{not json")
    list_summary = tmp / "list_run"
    list_summary.mkdir(exist_ok=True)
    (list_summary / "summary.json").write_text("[1]")
    garbage_db = tmp / "garbage_db"
    garbage_db.mkdir(exist_ok=True)
    (garbage_db / "log.db").write_bytes(b"garbage" * 200)
    run = (*run_base, *SAFE_RUN)
    return [
        Case("run", (*run, f"out_dir={a_file / 'sub'}"), "path:out_dir under a file"),
        Case("run", (*run, f"out_dir={a_file}"), "path:out_dir is a file"),
        Case("run", (*run, f"out_dir={tmp / 'o1'}", f"log=sqlite:///{a_file / 'log.db'}"), "path:log under a file"),
        Case("run", (*run, f"out_dir={tmp / 'o2'}", f"log=sqlite:///{tmp}"), "path:log is a directory"),
        Case("run", (*run, f"out_dir={tmp / 'o3'}", "log=notaurl"), "path:log not a URL"),
        Case("run", (*run, f"out_dir={tmp / 'o4'}", "log=nosuchdb://x/y"), "path:log unknown dialect"),
        Case("run", (*run, f"out_dir={garbage_db}", "resume=true"), "store:garbage log.db"),
        Case("compare", ("env=adder", "env.width=8", "agents=[random]", "seeds=1", "budget=2", "progress=false",
                         f"out_dir={a_file / 'sub'}"), "path:out_dir under a file"),
        Case("export", ("env=adder", "design=sklansky", "out="), "path:export out empty"),
        Case("export", ("env=adder", "design=sklansky", f"out={tmp}"), "path:export out is a directory"),
        Case("export", ("env=adder", "design=sklansky", f"out={tmp / 'missing' / 'x.v'}"), "path:export dir missing"),
        Case("export", ("env=adder", "design=sklansky", f"out={tmp / 'x.v'}", "verify=maybe"), "top:outside choices"),
        Case("evaluate", ("env=adder", f"design={bad_summary}"), "path:summary not JSON"),
        Case("evaluate", ("env=adder", f"design={list_summary}"), "path:summary not an object"),
        Case("evaluate", ("env=adder", f"design={tmp}"), "path:directory without summary"),
        Case("evaluate", ("env=adder", f"design={tmp / 'missing.json'}"), "path:design file missing"),
        Case("evaluate", ("env=scratchpad", "design=x", f"env.graph={a_file}"), "path:scratchpad graph not JSON"),
        Case("evaluate", ("env=npu", "design=eyeriss", f"env.workload={a_file}"), "path:workload not a CSV"),
        Case("evaluate", ("env=adder", "design=sklansky", "env.cost_model=yosys", f"env.liberty={a_file}"),
             "path:liberty not a library"),
    ]


def _yaml(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def summarize(results: list[tuple[Case, Outcome]]) -> dict[str, Any]:
    """Counts by kind of malformation: tried, clean, and the first few unclean cases."""
    by_kind: dict[str, list[int]] = {}
    unclean = []
    for case, outcome in results:
        counts = by_kind.setdefault(case.kind, [0, 0])
        counts[0] += 1
        counts[1] += outcome.clean
        if not outcome.clean:
            unclean.append({"command": case.command, "argv": " ".join(case.argv), "code": outcome.code,
                            "stderr": outcome.stderr.strip()[-400:]})
    return {"tried": len(results), "clean": sum(o.clean for _, o in results),
            "by_kind": {k: {"tried": v[0], "clean": v[1]} for k, v in sorted(by_kind.items())},
            "unclean": unclean}
