"""``python -m recgan`` is the same command line as ``recgan``."""

from recgan.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
