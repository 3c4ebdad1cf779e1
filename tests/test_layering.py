"""The dependency rule of the README, checked on every import statement (function-level ones included):

    agents -> envs -> rtl -> simulators -> archgym core

A layer imports only the layers below it (experiments may import anything); the core imports none of
them and reaches envs, agents and cost models only by name, through the registry."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: folder -> (package name, rank); a module may import only packages of lower or equal rank
LAYERS = {"archgym": ("archgym", 0), "simulators": ("archgym.simulators", 1), "rtl": ("archgym.rtl", 2),
          "envs": ("archgym.envs", 3), "agents": ("archgym.agents", 4)}
RANK_OF_PACKAGE = {pkg: rank for pkg, rank in LAYERS.values()}


def _layer_of_import(name: str) -> int | None:
    """The rank of the archgym layer an imported module belongs to (None: not archgym's)."""
    if name != "archgym" and not name.startswith("archgym."):
        return None
    parts = name.split(".")
    if len(parts) >= 2 and f"archgym.{parts[1]}" in RANK_OF_PACKAGE:
        return RANK_OF_PACKAGE[f"archgym.{parts[1]}"]
    if len(parts) >= 2 and parts[1] == "experiments":
        return 5
    return 0


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            # `from archgym import envs` imports the envs layer, not the core
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names if node.module == "archgym"]
    return out


#: modules of the core folder that are harnesses across all layers (ranked like experiments)
CROSS_LAYER = {"archgym/testing.py"}


def _modules() -> list[tuple[str, Path]]:
    return [(folder, p) for folder in LAYERS for p in sorted((ROOT / folder).rglob("*.py"))
            if str(p.relative_to(ROOT)) not in CROSS_LAYER]


@pytest.mark.parametrize(("folder", "path"), _modules(), ids=lambda x: str(x.relative_to(ROOT)) if isinstance(x, Path) else x)
def test_imports_point_down_the_layers(folder: str, path: Path) -> None:
    rank = LAYERS[folder][1]
    for line, name in _imports(path):
        target = _layer_of_import(name)
        if target is None:
            continue
        allowed = target == 0 if rank == 0 else target <= rank
        assert allowed, f"{path.relative_to(ROOT)}:{line} imports {name} (layer {target}) from layer {rank}"


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("def f():\n    from archgym.rtl.arith import adder_verilog\n")
    assert _imports(bad) == [(2, "archgym.rtl.arith")]
    assert _layer_of_import("archgym.rtl.arith") == 2 > LAYERS["simulators"][1]
    assert _layer_of_import("archgym.envs.base") == 3 and _layer_of_import("numpy") is None
