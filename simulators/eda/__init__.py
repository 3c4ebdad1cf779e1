"""The EDA toolchain layer: ``tools`` finds and runs every external tool (deadlines, process-group kill,
SimulationError); ``liberty`` reads cell libraries; ``synthesis`` runs Yosys/ABC + OpenSTA with a disk
cache; ``yosys_model`` is the base of every synthesis-backed cost model."""

from archgym.simulators.eda.liberty import Library, find_liberty, load_liberty
from archgym.simulators.eda.synthesis import FLOWS, SynthesisResult, synthesize, synthesize_many
from archgym.simulators.eda.yosys_model import YosysSimulator

__all__ = [
    "FLOWS",
    "Library",
    "SynthesisResult",
    "YosysSimulator",
    "find_liberty",
    "load_liberty",
    "synthesize",
    "synthesize_many",
]
