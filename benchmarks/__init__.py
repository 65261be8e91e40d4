"""This repository's benchmarks (not part of the installed recgan). A regular package so that, from the
repository root, ``benchmarks.harness`` is this folder's harness (opacus installs an unrelated top-level
``benchmarks`` package into site-packages, which would otherwise shadow a namespace package)."""
