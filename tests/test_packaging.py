"""Packaging: every Python folder of the layout is a package of the wheel, and imports from anywhere."""

from __future__ import annotations

import runpy
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_found():
    setup = runpy.run_path(str(REPO / "setup.py"), run_name="archgym_setup")
    found = set(setup["mapped_packages"]())
    for package, folder in setup["PACKAGE_DIR"].items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            assert ".".join([package, *rel.parts]) in found, f"{init.parent} would be missing from the wheel"
    assert {"archgym.simulators.npu.scalesim", "archgym.rtl.arith", "archgym.conf"} <= found


def test_wheel_contents(tmp_path):
    import subprocess
    import sys
    import zipfile

    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    names = zipfile.ZipFile(next(tmp_path.glob("archgym-*.whl"))).namelist()
    for member in ("archgym/simulators/npu/scalesim/worker.py", "archgym/rtl/arith/cost_models.py",
                   "archgym/simulators/data/npu/configs/scale.cfg", "archgym/conf/run.yaml", "archgym/envs/adder.py"):
        assert member in names, f"{member} missing from the wheel"


def test_subpackages_import_from_anywhere():
    import subprocess
    import sys

    code = "import archgym.envs.adder, archgym.agents.base, archgym.simulators.arith.cells; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
