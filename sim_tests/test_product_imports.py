"""Every product module (hw, emu, firmware) imports without the test tree: an installed disagg has no sim_tests.

The modules are imported in a fresh interpreter (``python -I``: no PYTHONPATH, no user site, no script folder on
``sys.path``) started in an empty folder, whose ``sys.path`` reaches the product only through a folder holding links
to ``hw/``, ``emu/`` and ``firmware/``, and where any import of ``sim_tests`` raises.
"""

import json
import subprocess
import sys
import textwrap

from sim_tests.lib.product_modules import PRODUCT_PACKAGES, REPO, product_modules

_CHILD = textwrap.dedent("""
    import importlib, importlib.abc, json, sys, traceback
    from pathlib import Path

    class NoTestTree(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "sim_tests" or name.startswith("sim_tests."):
                raise ImportError(f"product code imported {name} (the test tree)")
            return None

    product_root, names = sys.argv[1], json.loads(sys.argv[2])
    sys.meta_path.insert(0, NoTestTree())
    sys.path.insert(0, product_root)
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:
            failed.append(f"{name}: " + traceback.format_exc(limit=-3))
    files = {n: str(Path(m.__file__).resolve()) for n, m in list(sys.modules.items())
             if n.split(".")[0] in ("hw", "emu", "firmware") and getattr(m, "__file__", None)}
    print(json.dumps({"failed": failed, "files": files,
                      "test_modules": sorted(n for n in sys.modules if n.split(".")[0] == "sim_tests")}))
""")


def test_every_product_module_imports_without_sim_tests(tmp_path):
    names = sorted(product_modules())
    product_root = tmp_path / "product"
    product_root.mkdir()
    for top in PRODUCT_PACKAGES:
        (product_root / top).symlink_to(REPO / top, target_is_directory=True)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    result = subprocess.run([sys.executable, "-I", "-c", _CHILD, str(product_root), json.dumps(names)],
                            cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert not report["failed"], "\n".join(report["failed"])
    assert report["test_modules"] == []
    # The modules came from this checkout (not, say, another editable install of disagg).
    elsewhere = {n: f for n, f in report["files"].items() if not f.startswith(str(REPO) + "/")}
    assert not elsewhere, elsewhere
    assert set(names) <= set(report["files"])
