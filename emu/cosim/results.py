"""What a cocotb run did, read from its ``results.xml`` (JUnit XML written by cocotb), and whether it passed.

cocotb's runner only counts failures: a run whose test filter matched nothing (a misspelled ``testcase``)
writes an empty ``<testsuites/>`` and counts as passed. :func:`verdict` also fails a run that executed no test,
or did not execute every test it was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

__all__ = ["TestResult", "read_results", "verdict", "requested_names"]


@dataclass(frozen=True)
class TestResult:
    """One ``<testcase>`` of a results file."""
    name: str
    module: str
    outcome: str          # "passed", "failed" or "skipped"
    message: str = ""


def read_results(path: Path) -> list[TestResult]:
    """The test cases of a cocotb results file (``[]`` when cocotb ran none)."""
    root = ElementTree.parse(path).getroot()
    out = []
    for case in root.iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error"):
            node = case.find(tag)
            if node is not None:
                outcome, message = "failed", node.get("message", "") or (node.text or "").strip()
                break
        else:
            if case.find("skipped") is not None:
                outcome = "skipped"
        out.append(TestResult(case.get("name", ""), case.get("classname", ""), outcome, message))
    return out


def requested_names(testcase) -> list[str]:
    """The test names a ``testcase`` argument asks for (cocotb's runner accepts a comma list or a sequence)."""
    if testcase is None:
        return []
    if isinstance(testcase, str):
        return [s.strip() for s in testcase.split(",") if s.strip()]
    return list(testcase)


def verdict(results_xml: Path, *, testcase=None, exit_code: int = 0) -> str | None:
    """``None`` if the run passed, else one line saying why it did not.

    A run passes when its results file exists, at least one test ran (not skipped), every test named in
    ``testcase`` ran, no test failed, and the simulator exited with 0.
    """
    if not Path(results_xml).is_file():
        return f"the simulation ended abnormally (exit code {exit_code}): no results file {results_xml}"
    cases = read_results(results_xml)
    failed = [c for c in cases if c.outcome == "failed"]
    if failed:
        first = failed[0].message.splitlines()[0] if failed[0].message else "no message"
        return (f"{len(failed)} of {len(cases)} cocotb tests failed: {', '.join(c.name for c in failed)} "
                f"(first: {first})")
    ran = [c.name for c in cases if c.outcome == "passed"]
    missing = [name for name in requested_names(testcase) if name not in ran]
    if missing:
        return (f"cocotb testcase {', '.join(map(repr, missing))} did not run (misspelled or skipped?); "
                f"tests run: {', '.join(ran) or 'none'}")
    if not ran:
        return "cocotb ran no test (the test module has none, or all were filtered out or skipped)"
    if exit_code not in (0, None):
        return f"every cocotb test passed but the simulator exited with code {exit_code}"
    return None
