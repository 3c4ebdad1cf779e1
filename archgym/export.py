"""``python -m archgym.export env=<env> design=<baseline | design.json | run dir> out=FILE.v [env.<field>=...]``

Writes the design's Verilog and verifies it (equivalence / simulation) unless ``verify=false``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from archgym.config import build_problem, nested_values, parse_overrides, user_errors
from archgym.designs import resolve_design
from archgym.errors import ArchGymError, ConfigError
from archgym.problem import VerilogExport


@user_errors
def main(argv: list[str] | None = None) -> str:
    top, nested = parse_overrides(sys.argv[1:] if argv is None else argv, {"env", "design", "out", "verify"})
    for key in ("env", "design", "out"):
        if key not in top:
            raise ArchGymError(f"missing argument {key}=...")
    out = _output_file(top["out"])
    verify = top.get("verify", "true").lower()
    if verify not in ("true", "false"):
        raise ConfigError("verify", f"must be one of true, false, got '{top['verify']}'")
    problem = build_problem(top["env"], nested_values(nested, "env"))
    design = resolve_design(problem, top["design"])
    if not isinstance(problem, VerilogExport):
        raise ArchGymError(f"env '{problem.name}' does not export Verilog")
    module = re.sub(r"\W", "_", out.stem) or "top"
    if not module[0].isalpha():
        module = "m_" + module
    verilog = problem.to_verilog(design, module_name=module)
    try:
        out.write_text(verilog)
    except OSError as exc:
        raise ConfigError("out", f"cannot write '{out}' ({exc.strerror or exc})") from None
    message = f"wrote {out}"
    if verify == "true":
        message += f" ({problem.verify_verilog(design, verilog)})"
    print(message)
    return message


def _output_file(text: str) -> Path:
    """``out=``: a file path in an existing directory (checked before any work is done)."""
    if not text.strip():
        raise ConfigError("out", "give a file path, e.g. out=adder.v")
    out = Path(text)
    if out.is_dir():
        raise ConfigError("out", f"'{text}' is a directory; give a file path in it, e.g. out={out / 'design.v'}")
    if not out.parent.is_dir():
        raise ConfigError("out", f"the directory '{out.parent}' does not exist")
    return out


if __name__ == "__main__":
    main()
