"""The product's layering, read from the source: hw/ stands alone, product code never reaches into the test tree,
no import circle among product modules (lazy imports inside functions count: they only hide a circle), and no
function of hw/ over 150 lines."""

from sim_tests.lib.product_modules import (PRODUCT_PACKAGES, REPO, import_circles, import_graph, imports_of,
                                          long_functions, product_modules)

MODULES = product_modules()


def _imports_into(importer_top, forbidden_tops):
    return [f"{imp.path.relative_to(REPO)}:{imp.line} imports {imp.target}"
            for name, path in MODULES.items() if name.split(".")[0] in importer_top
            for imp in imports_of(name, path, MODULES) if imp.target.split(".")[0] in forbidden_tops]


def test_hw_imports_neither_emu_nor_firmware():
    found = _imports_into({"hw"}, {"emu", "firmware"})
    assert not found, "\n".join(found)


def test_product_code_never_imports_the_test_tree():
    # Lazy imports inside functions count: they break an installed package just the same, only later.
    found = _imports_into(set(PRODUCT_PACKAGES), {"sim_tests"})
    assert not found, "\n".join(found)


def test_no_import_circle_among_product_modules():
    circles = [" <-> ".join(c) for c in import_circles(import_graph(MODULES))]
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_circle_finder_finds_circles():
    # The check above is only as good as the finder: a three-module ring and a self-contained pair are found,
    # a diamond is not a circle.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"f"}, "f": {"e"},
             "g": {"h", "i"}, "h": {"j"}, "i": {"j"}, "j": set()}
    assert sorted(import_circles(graph)) == [["a", "b", "c"], ["e", "f"]]


#: The longest a function of hw/ may be: a block is small components with one job each (issue 11).
MAX_HW_FUNCTION_LINES = 150


def test_hw_functions_are_short():
    found = long_functions(MODULES, "hw", MAX_HW_FUNCTION_LINES)
    assert not found, f"hw functions over {MAX_HW_FUNCTION_LINES} lines:\n" + "\n".join(found)
