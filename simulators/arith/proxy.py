"""A learned proxy of the ground truth (the proxy-model idea of ArchGym, Krishnan et al., ISCA 2023):
gradient-boosted trees from the analytical model's figures of a design to its synthesized delay and area.

Training data is any log store: every row scored by the ground truth (``env.cost_model=yosys``: the rows of
``cost_model=yosys`` runs and of the ``<run>-gt`` refinement runs, recognized by their ``synth_runs`` metric)
of the family and width asked for.  The features are all numeric analytical metrics of the design
(``cost_models.AdderAnalytical`` / ``MultiplierAnalytical``: unit-gate delay and area, prefix size, depth,
fanout, compressor counts, stages ...), recomputed from the logged design JSON, so a proxy never depends
on anything the log does not hold.  Targets are log delay and log area (ratios are what the costs use).

Use::

    python -m archgym.simulators.arith.proxy --log runs/x/log.db --env adder --width 32 --out adder32.proxy
    python -m archgym.run env=adder env.width=32 env.cost_model=proxy env.proxy_model=adder32.proxy ...
"""

from __future__ import annotations

import argparse
import json
import pickle
from dataclasses import dataclass
from typing import Any

import numpy as np

from archgym.errors import ConfigError
from archgym.problem import Simulator
from archgym.simulators.arith.multiplier import MultiplierDesign
from archgym.simulators.arith.multiplier import evaluate as multiplier_metrics
from archgym.simulators.arith.prefix import PrefixGraph, analytical_metrics

FORMAT = 1


def _analytical(family: str, design: Any) -> dict[str, float]:
    return analytical_metrics(design) if family == "adder" else multiplier_metrics(design)


def _parse(family: str, data: dict[str, Any]) -> Any:
    return PrefixGraph.from_json(data) if family == "adder" else MultiplierDesign.from_json(data)


@dataclass
class Proxy:
    """A trained proxy: the family, width, feature names and one regressor per target (log delay, log area)."""

    family: str
    width: int
    features: list[str]
    models: dict[str, Any]
    rows: int
    format: int = FORMAT

    def feature_vector(self, design: Any) -> np.ndarray:
        m = _analytical(self.family, design)
        return np.array([[float(m.get(k, 0.0)) for k in self.features]])

    def predict(self, design: Any) -> dict[str, float]:
        x = self.feature_vector(design)
        return {k: float(np.exp(model.predict(x)[0])) for k, model in self.models.items()}

    def save(self, path: str) -> None:
        with open(path, "wb") as f:
            pickle.dump(self, f)

    @staticmethod
    def load(path: str) -> Proxy:
        try:
            with open(path, "rb") as f:
                proxy = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            raise ConfigError("proxy_model", f"cannot read a proxy from {path!r}: {exc}") from None
        if not isinstance(proxy, Proxy) or proxy.format != FORMAT:
            raise ConfigError("proxy_model", f"{path!r} is not an archgym proxy (format {FORMAT})")
        return proxy


def fit(family: str, width: int, designs: list[Any], delay: list[float], area: list[float], seed: int = 0) -> Proxy:
    """Fit a proxy on designs with known ground-truth delay and area."""
    from sklearn.ensemble import GradientBoostingRegressor

    if len(designs) < 5:
        raise ConfigError("log", f"need at least 5 ground-truth rows to fit a proxy, got {len(designs)}")
    names = sorted(k for k, v in _analytical(family, designs[0]).items() if isinstance(v, (int, float)))
    x = np.array([[float(_analytical(family, d).get(k, 0.0)) for k in names] for d in designs])
    models = {}
    for key, y in (("delay", delay), ("area", area)):
        model = GradientBoostingRegressor(n_estimators=300, max_depth=3, learning_rate=0.05, subsample=0.8,
                                          random_state=seed)
        models[key] = model.fit(x, np.log(np.asarray(y, dtype=float)))
    return Proxy(family, width, names, models, len(designs))


def ground_truth_rows(log: str, family: str, width: int) -> tuple[list[Any], list[float], list[float]]:
    """The designs of ``family`` at ``width`` that the log holds ground-truth figures for (one per design)."""
    from archgym import logs

    df = logs.load(log)
    if "metric.synth_runs" not in df:
        return [], [], []
    df = df[(df["env"] == family) & df["metric.synth_runs"].notna() & df["feasible"].astype(bool)]
    df = df.drop_duplicates("design_hash")
    designs, delay, area = [], [], []
    for text, d, a in zip(df["design"], df["metric.delay"], df["metric.area"]):
        design = _parse(family, json.loads(text))
        if getattr(design, "n", getattr(design, "width", None)) == width:
            designs.append(design)
            delay.append(float(d))
            area.append(float(a))
    return designs, delay, area


class _ProxySimulator(Simulator[Any]):
    """The analytical figures with delay and area replaced by the proxy's predictions of the ground truth."""

    name = "proxy"

    def __init__(self, config: Any):
        super().__init__(config)
        path = getattr(config, "proxy_model", None)
        if not path:
            raise ConfigError("proxy_model", "cost_model=proxy needs env.proxy_model=<file> "
                                             "(train one: python -m archgym.simulators.arith.proxy --help)")
        self.proxy = Proxy.load(str(path))
        width = int(config.width)
        if self.proxy.family != self.family or self.proxy.width != width:
            raise ConfigError("proxy_model", f"{path!r} was trained for {self.proxy.family} width {self.proxy.width}, "
                                             f"not {self.family} width {width}")

    def metrics(self, design: Any) -> dict[str, float]:
        m = dict(_analytical(self.family, design))
        m["analytical_delay"], m["analytical_area"] = m["delay"], m["area"]
        m.update(self.proxy.predict(design))
        return m


class AdderProxy(_ProxySimulator):
    """Learned proxy of the synthesized adder (``adder.proxy``)."""

    family = "adder"
    description = "gradient-boosted proxy of the ground truth, trained from any log's synthesized rows"


class MultiplierProxy(_ProxySimulator):
    """Learned proxy of the synthesized multiplier (``multiplier.proxy``)."""

    family = "multiplier"
    description = "gradient-boosted proxy of the ground truth, trained from any log's synthesized rows"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Train a ground-truth proxy from a log store's synthesized rows.")
    ap.add_argument("--log", required=True, help="a run directory, a .db path or a SQLAlchemy URL")
    ap.add_argument("--env", required=True, choices=("adder", "multiplier"))
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    designs, delay, area = ground_truth_rows(a.log, a.env, a.width)
    proxy = fit(a.env, a.width, designs, delay, area)
    proxy.save(a.out)
    print(f"trained on {proxy.rows} ground-truth designs ({a.env}, width {a.width}); wrote {a.out}")


if __name__ == "__main__":
    main()
