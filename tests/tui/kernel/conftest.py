"""Fixtures of the kernel tests (helpers in ``kernel_lab``): every kernel and server a test starts is
stopped at its end, and the test fails if the server is still running."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.blocking.client import BlockingKernelClient

from tests.tui.kernel.kernel_lab import KernelLab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[KernelLab]:
    """A lab for one test (kernels it starts are stopped at its end, with their server)."""
    kernels = KernelLab(tmp_path)
    try:
        yield kernels
    finally:
        kernels.stop_all()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KernelLab, BlockingKernelClient]]:
    """One kernel for the tests of a module that only run cells (starting a kernel costs seconds)."""
    kernels = KernelLab(tmp_path_factory.mktemp("kernel-lab"))
    try:
        _, client = kernels.start(JPY_SESSION_NAME="shared.ipynb")
        yield kernels, client
    finally:
        kernels.stop_all()
