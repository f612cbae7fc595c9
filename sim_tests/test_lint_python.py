"""The Python tree is clean under ruff with the rules of pyproject.toml ``[tool.ruff]``.

ruff is a dev dependency (pyproject.toml ``[project.optional-dependencies] dev``): where it is missing this test
fails, it does not skip.
"""

import subprocess
import sys

from sim_tests.lib.product_modules import PRODUCT_PACKAGES, REPO


def test_ruff_is_clean():
    # --no-cache: nothing written into the checkout; the configuration is found from cwd (pyproject.toml).
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                             *PRODUCT_PACKAGES, "sim_tests"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"ruff check failed:\n{result.stdout}{result.stderr}"
