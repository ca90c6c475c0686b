"""Run every Python block of every page under pytest (see tests/docs_testing.py).

Each page is one test module; its blocks share one namespace, top to bottom.
"""

from pathlib import Path

import matplotlib
import pytest

from tests.docs_testing import make_sybil

matplotlib.use("Agg")  # pages draw figures without a screen


@pytest.fixture(scope="module", autouse=False)
def _page_setup():
    """Fix the seeds and print precision a page's results depend on."""
    import numpy as np
    import torch

    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_printoptions(precision=4, sci_mode=False)
    np.set_printoptions(precision=4, suppress=True)
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


pytest_collect_file = make_sybil(path=str(Path(__file__).parent), fixtures=["_page_setup"]).pytest()
