"""Fuzzing every command with malformed input: each gets one clean error line and exit status 2.

``archgym.fuzzing.corpus`` enumerates the malformations declared by the code (every constrained field
of every env and agent, top-level keys, design JSON of every family, paths, stores); hypothesis then
draws its own bad values for the same fields and its own JSON for the same designs.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import string
from concurrent.futures import ProcessPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archgym import registry
from archgym.config import build_problem
from archgym.fields import RunOptions
from archgym.fuzzing import SAFE_RUN, SMALL_ENV, YAML_WORDS, Case, Outcome, corpus, run_case, summarize

#: examples per hypothesis test: 40 in CI (derandomized, so CI is reproducible); ARCHGYM_FUZZ_EXAMPLES=400 for
#: a longer, random campaign
EXAMPLES = os.environ.get("ARCHGYM_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(EXAMPLES or 40), deadline=None, derandomize=EXAMPLES is None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _assert_clean(case: Case, tmp_path) -> None:
    outcome = run_case(case, timeout=60)
    assert outcome.clean, f"{case.command} {' '.join(case.argv)} -> code {outcome.code}: {outcome.stderr[-800:]}"


def _run_case(case: Case) -> Outcome:
    return run_case(case, timeout=60)


def test_the_whole_corpus_gets_clean_errors(tmp_path):
    cases = corpus(tmp_path)
    # two processes (the machines have two cores): each case composes a Hydra config, ~0.15 s of CPU
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(zip(cases, pool.map(_run_case, cases, chunksize=8)))
    report = summarize(results)
    assert report["tried"] > 700 and len(report["by_kind"]) > 40
    assert report["clean"] == report["tried"], json.dumps(report["unclean"][:5], indent=1)
    assert max(o.seconds for _, o in results) < 30


# ---- hypothesis: its own bad values for declared fields ------------------------------------------------
def _words():
    return st.text(string.ascii_letters + "_", min_size=1, max_size=12).filter(lambda w: w.lower() not in YAML_WORDS)


def _bad_value(f: dataclasses.Field):
    """A strategy of override texts that the field's declaration rules out (None: the field declares nothing)."""
    meta, typ = f.metadata or {}, str(f.type)
    options = []
    if "list" in typ:
        return None
    if any(t in typ for t in ("int", "float")) and "str" not in typ:
        options.append(_words())
    if meta.get("integer"):
        options.append(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
                       .filter(lambda x: not float(x).is_integer()).map(repr))
        if meta.get("low") is not None:
            options.append(st.integers(max_value=int(meta["low"]) - 1, min_value=-10**12).map(str))
        if meta.get("high") is not None:
            options.append(st.integers(min_value=int(meta["high"]) + 1, max_value=10**12).map(str))
    elif meta.get("low") is not None:
        low = float(meta["low"])
        options.append(st.floats(max_value=low, exclude_max=True, min_value=-1e12, allow_nan=False).map(repr))
    if meta.get("choices") is not None and {type(c) for c in meta["choices"]} == {str}:
        options.append(_words().filter(lambda w: w not in meta["choices"]))
    return st.one_of(options) if options else None


def _field_cases(kind: str):
    rows = []
    if kind == "env":
        for env in registry.envs.names():
            for f in dataclasses.fields(registry.envs.get(env).config_class):
                if _bad_value(f) is not None:
                    rows.append((env, "random", f))
    elif kind == "agent":
        for agent in registry.agents.names():
            for f in dataclasses.fields(registry.agents.get(agent).config_class):
                if _bad_value(f) is not None:
                    rows.append(("adder", agent, f))
    else:
        rows = [("adder", "random", f) for f in dataclasses.fields(RunOptions) if _bad_value(f) is not None]
    return rows


@st.composite
def _bad_override(draw, kind: str):
    env, agent, f = draw(st.sampled_from(_field_cases(kind)))
    value = draw(_bad_value(f))
    key = {"env": f"env.{f.name}", "agent": f"agent.{f.name}", "top": f.name}[kind]
    base = [f"env={env}", f"agent={agent}", *SMALL_ENV.get(env, ())]
    base += [a for a in SAFE_RUN if a.split("=")[0] != f.name]
    return Case("run", (*base, f"{key}={value}"), kind)


@pytest.mark.parametrize("kind", ["env", "agent", "top"])
@FUZZ
@given(data=st.data())
def test_hypothesis_bad_field_values_get_clean_errors(kind, data, tmp_path):
    case = data.draw(_bad_override(kind))
    _assert_clean(Case(case.command, (*case.argv, f"out_dir={tmp_path / 'out'}"), case.kind), tmp_path)


@FUZZ
@given(name=st.from_regex(r"\A[a-z][a-z_]{0,15}\Z"), group=st.sampled_from(["env", "agent", None]))
def test_hypothesis_unknown_keys_get_clean_errors(name, group, tmp_path):
    fields = {f.name for f in dataclasses.fields(RunOptions)} | {"env", "agent", "out_dir", "log", "hydra"}
    fields |= {f.name for f in dataclasses.fields(registry.agents.get("random").config_class)}
    fields |= {f.name for f in dataclasses.fields(registry.envs.get("adder").config_class)}
    if name in fields:
        return
    key = f"{group}.{name}" if group else name
    _assert_clean(Case("run", ("env=adder", "agent=random", "env.width=8", *SAFE_RUN, f"out_dir={tmp_path}",
                               f"{key}=1"), "unknown"), tmp_path)


# ---- hypothesis: its own JSON in place of a design's values --------------------------------------------
_JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False,
                     allow_infinity=False) | st.text(max_size=8),
                     lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4),
                                                                                      children, max_size=3),
                     max_leaves=8)


def _kind(v):
    return "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else type(v).__name__


_PROBLEMS = {env: build_problem(env, {"width": 8} if env == "adder" else {"width": 4} if env == "multiplier" else {})
             for env in registry.envs.names()}


@FUZZ
@given(env=st.sampled_from(sorted(_PROBLEMS)), data=st.data())
def test_hypothesis_design_values_of_the_wrong_json_type_get_clean_errors(env, data, tmp_path):
    problem = _PROBLEMS[env]
    reference = problem._reference_json()
    key = data.draw(st.sampled_from(sorted(reference)))
    value = data.draw(_JSON.filter(lambda v: _kind(v) != _kind(reference[key]) and v is not None
                                   and not (_kind(reference[key]) == "float" and _kind(v) == "int")))
    path = tmp_path / "design.json"
    path.write_text(json.dumps({**reference, key: value}))
    small = SMALL_ENV.get(env, ())
    _assert_clean(Case("evaluate", (f"env={env}", f"design={path}", *small), "design"), tmp_path)
