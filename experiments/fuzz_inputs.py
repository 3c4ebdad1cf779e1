"""Run every malformed input of ``archgym.fuzzing.corpus`` and print how many get a clean error.

A clean error: exit status 2, one ``error:`` line on stderr naming the field, no traceback, within
the time bound.  ``python -m archgym.experiments.fuzz_inputs [--json out.json]``; exits 1 if any
input is not handled cleanly, listing those.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from tqdm.auto import tqdm

    from archgym.fuzzing import corpus, run_case, summarize

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None, help="write the counts and the unclean cases here")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per input")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="archgym-fuzz-") as tmp:
        cases = corpus(Path(tmp))
        results = [(c, run_case(c, args.timeout)) for c in tqdm(cases, desc="malformed inputs", unit="input")]
    report = summarize(results)
    report["seconds"] = round(time.perf_counter() - start, 1)
    report["slowest_s"] = round(max(o.seconds for _, o in results), 2)
    print(f"{report['tried']} malformed inputs, {report['clean']} clean errors "
          f"({report['tried'] - report['clean']} not), {report['seconds']} s, slowest {report['slowest_s']} s")
    for kind, c in report["by_kind"].items():
        print(f"  {kind:40s} {c['clean']:4d} / {c['tried']}")
    for u in report["unclean"][:40]:
        print(f"NOT CLEAN: {u['command']} {u['argv']}\n    code={u['code']} {u['stderr'][-300:]!r}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0 if report["clean"] == report["tried"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
