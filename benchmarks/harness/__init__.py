"""The research harness of this repository: the code behind benchmarks/RESULTS.md that is not part of the
installed recgan package.

* :mod:`.run`: experiment files of ``kind: benchmark`` (``python -m benchmarks.harness.run examples/NN.yaml``);
* :mod:`.stats`: mean ± std over seeds (ddof 1) and the seed-averaged paired Wilcoxon test, one definition each;
* :mod:`.augment_grid`, :mod:`.augment_report`: the augmentation grid and its report
  (``python benchmarks/augment_grid.py``, ``python benchmarks/augment_report.py``);
* :mod:`.cli`: what the harness's command lines share.

Run it from the repository root (``python -m benchmarks.harness.run ...``) or through the scripts in
benchmarks/ (which find it beside them). Modules here import each other relatively, so both work.
"""
