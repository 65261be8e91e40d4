"""Command line front door: ``recgan`` (also ``python -m recgan``)."""
