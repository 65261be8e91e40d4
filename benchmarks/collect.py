"""Assemble benchmarks/RESULTS.md from the section files in benchmarks/results/*.md (sorted by name).

Each benchmark script writes its own section file (figures plus the exact command that produced them);
this script only concatenates, so sections written by different benchmarks never overwrite each other.

    python benchmarks/collect.py
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = """# recgan benchmark results

Every figure below was produced by the command written next to it, on the machine named in its section
(2-core CPU unless said otherwise), following ../shared/benchmarks/PROTOCOL.md: hyper-parameters and epochs
chosen on a validation carve of train, test read once. Anchors from ../shared/benchmarks/ANCHORS.md are
quoted where relevant. Regenerate this file with `python benchmarks/collect.py`.

"""


def main() -> None:
    parts = [HEADER]
    for f in sorted((HERE / "results").glob("*.md")):
        parts.append(f.read_text().rstrip() + "\n\n")
    out = HERE / "RESULTS.md"
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text("".join(parts))
    tmp.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
