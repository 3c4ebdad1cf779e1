"""``python -m archgym.evaluate env=<env> design=<baseline | design.json> [env.<field>=...]``

Prints one JSON object with the design's cost and metrics under the configured cost model.
"""

from __future__ import annotations

import json
import sys

from archgym.config import build_problem, nested_values, parse_overrides, user_errors
from archgym.designs import resolve_design
from archgym.errors import ArchGymError


@user_errors
def main(argv: list[str] | None = None) -> dict:
    top, nested = parse_overrides(sys.argv[1:] if argv is None else argv, {"env", "design"})
    for key in ("env", "design"):
        if key not in top:
            raise ArchGymError(f"missing argument {key}=...")
    problem = build_problem(top["env"], nested_values(nested, "env"))
    design = resolve_design(problem, top["design"])
    evaluation = problem.evaluate(design)
    result = {
        "env": top["env"],
        "design": top["design"],
        "cost": evaluation.cost if evaluation.feasible else None,
        "feasible": evaluation.feasible,
        "reason": evaluation.reason or None,
        "metrics": evaluation.metrics,
    }
    print(json.dumps(result, indent=2, default=float))
    return result


if __name__ == "__main__":
    main()
