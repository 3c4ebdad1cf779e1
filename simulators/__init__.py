"""Cost models, one package per design family, plus the EDA toolchain layer.

* ``arith``: parallel-prefix graphs, compressor trees, multipliers and their analytical cost models;
* ``approx``: the approximate-multiplier library and DNN error propagation;
* ``npu``: the analytical NPU dataflow model, multi-array systems, workloads, and the SCALE-Sim wrapper;
* ``scratchpad``: operator graphs, the scratchpad replay model and the COSMA-style ILP;
* ``eda``: the one place external tools are found and run (Yosys, Icarus, Verilator, OpenSTA), the
  Liberty reader and the synthesis runner.

Nothing here imports ``archgym.rtl``, ``archgym.envs`` or ``archgym.agents`` (see the README's
dependency rule; ``tests/test_layering.py`` checks it).
"""
