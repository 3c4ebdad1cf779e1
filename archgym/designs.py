"""Resolving a design named on the command line: a baseline name, a design JSON file, or a run
directory (its best design, from summary.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from archgym.errors import ArchGymError, DesignError
from archgym.problem import DesignProblem


def resolve_design(problem: DesignProblem, spec: str) -> Any:
    path = Path(spec)
    if path.is_dir():
        summary_path = path / "summary.json"
        if not summary_path.exists():
            raise ArchGymError(f"design '{spec}': directory has no summary.json (not a run directory)")
        summary = json.loads(summary_path.read_text())
        if summary.get("env") != problem.name:
            raise ArchGymError(f"design '{spec}': run is of env '{summary.get('env')}', not '{problem.name}'")
        if not summary.get("best"):
            raise ArchGymError(f"design '{spec}': the run found no feasible design")
        return problem.load_design(summary["best"]["design"])
    if path.suffix == ".json" or path.exists():
        if not path.exists():
            raise ArchGymError(f"design file '{spec}' does not exist")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise DesignError(f"design file '{spec}' is not valid JSON: {exc}") from None
        return problem.load_design(data)
    return problem.baseline(spec)
