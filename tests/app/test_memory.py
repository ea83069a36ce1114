"""The malloc arena cap: set on glibc, skipped when turned off."""

from __future__ import annotations

import platform

import pytest

from app.memory import limit_malloc_arenas


def test_zero_leaves_default() -> None:
    assert limit_malloc_arenas(0) is False


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="M_ARENA_MAX is a glibc setting")
def test_cap_is_set_on_glibc() -> None:
    assert limit_malloc_arenas(4) is True
