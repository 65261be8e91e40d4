"""The augmentation grid (benchmarks/results/60-augmentation.md): datasets x scarcity settings x seeds x
strategies x downstream models, with controls; finished units are kept in --out and skipped on a rerun.
Code: benchmarks/harness/augment_grid.py.

    OMP_NUM_THREADS=1 python benchmarks/augment_grid.py --out GRID --datasets ml-100k-p1 --settings n5 --seeds 0,1,2
"""

from harness.augment_grid import main
from harness.cli import run_main

if __name__ == "__main__":
    run_main(main, "augment_grid.py")
