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
        summary = read_json(summary_path, f"design '{spec}': summary.json")
        if not isinstance(summary, dict):
            raise ArchGymError(f"design '{spec}': summary.json is not a run summary (not a JSON object)")
        if summary.get("env") != problem.name:
            raise ArchGymError(f"design '{spec}': run is of env '{summary.get('env')}', not '{problem.name}'")
        if not summary.get("best"):
            raise ArchGymError(f"design '{spec}': the run found no feasible design")
        return problem.load_design(summary["best"]["design"])
    if path.suffix == ".json" or path.exists():
        if not path.exists():
            raise ArchGymError(f"design file '{spec}' does not exist")
        return problem.load_design(read_json(path, f"design file '{spec}'"))
    return problem.baseline(spec)


def read_json(path: Path, what: str) -> Any:
    """A JSON file's value; an unreadable, non-UTF-8 or malformed file is one DesignError line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DesignError(f"{what} is not a UTF-8 text file") from None
    except OSError as exc:
        raise DesignError(f"{what} cannot be read ({exc.strerror or exc})") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise DesignError(f"{what} is not valid JSON: {exc}") from None
    except DesignError as exc:
        raise DesignError(f"{what}: {exc}") from None
    except RecursionError:
        raise DesignError(f"{what} is nested too deeply to be a design") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique (Python's json keeps the last of a duplicated key silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DesignError(f"key '{key}' appears twice in one JSON object")
        out[key] = value
    return out
