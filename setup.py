"""Packaging of archgym's layout: the user-facing top-level folders (envs/, simulators/, rtl/, agents/,
experiments/) install as sub-packages of ``archgym`` (``archgym.envs`` ...), see the README's "Layout".

Every folder with an ``__init__.py`` under them is a package, found here, so a new family package needs no
listing anywhere; the rest of the metadata is in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent
#: installed package -> source folder
PACKAGE_DIR = {"archgym": "archgym", "archgym.envs": "envs", "archgym.simulators": "simulators",
               "archgym.rtl": "rtl", "archgym.agents": "agents", "archgym.experiments": "experiments"}


def mapped_packages() -> list[str]:
    """Every package of the layout: each folder holding an ``__init__.py``, under its installed name."""
    return [".".join([package, *init.parent.relative_to(ROOT / folder).parts])
            for package, folder in PACKAGE_DIR.items() for init in sorted((ROOT / folder).rglob("__init__.py"))]


if __name__ == "__main__":
    from setuptools import setup

    setup(package_dir=PACKAGE_DIR, packages=mapped_packages())
