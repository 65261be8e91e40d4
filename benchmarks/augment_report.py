"""The augmentation report (benchmarks/results/60-augmentation.md + .png + .json) rebuilt from a grid folder's
finished units. Code: benchmarks/harness/augment_report.py.

    python benchmarks/augment_report.py --grid GRID --results benchmarks/results/60-augmentation.md \
        --preamble examples/60-augmentation-preamble.md
"""

from harness.augment_report import main
from harness.cli import run_main

if __name__ == "__main__":
    run_main(main, "augment_report.py")
