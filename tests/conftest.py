"""Shared fixtures. Tests that read ../shared skip with a reason when it is absent (it is present in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(*parts: str) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} not present (../shared is only guaranteed in CI)")
    return p


@pytest.fixture
def shared():
    return shared_path
