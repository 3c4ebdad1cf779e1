"""``python -m archgym.export env=<env> design=<baseline | design.json | run dir> out=FILE.v [env.<field>=...]``

Writes the design's Verilog and verifies it (equivalence / simulation) unless ``verify=false``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from archgym.config import build_problem, nested_values, parse_overrides, user_errors
from archgym.designs import resolve_design
from archgym.errors import ArchGymError
from archgym.problem import VerilogExport


@user_errors
def main(argv: list[str] | None = None) -> str:
    top, nested = parse_overrides(sys.argv[1:] if argv is None else argv, {"env", "design", "out", "verify"})
    for key in ("env", "design", "out"):
        if key not in top:
            raise ArchGymError(f"missing argument {key}=...")
    problem = build_problem(top["env"], nested_values(nested, "env"))
    design = resolve_design(problem, top["design"])
    module = Path(top["out"]).stem.replace("-", "_").replace(".", "_") or "top"
    if not module[0].isalpha():
        module = "m_" + module
    if not isinstance(problem, VerilogExport):
        raise ArchGymError(f"env '{problem.name}' does not export Verilog")
    verilog = problem.to_verilog(design, module_name=module)
    Path(top["out"]).write_text(verilog)
    message = f"wrote {top['out']}"
    if top.get("verify", "true").lower() not in ("false", "0", "no"):
        message += f" ({problem.verify_verilog(design, verilog)})"
    print(message)
    return message


if __name__ == "__main__":
    main()
