"""Test code, which runs once: test files and test functions (SPEC §8); and benchmarks.

A fixed seed is the point of a test file, and a transform built inside a
test function compiles once because the test runs once; rules use these
questions to stay quiet there. A benchmark times code on synthetic inputs
nobody looks at: a key drawn from twice there changes no measurement.
"""

from __future__ import annotations

import functools
from pathlib import PurePath

from jaxpure.analysis.index import FunctionInfo, ModuleIndex


@functools.lru_cache(maxsize=1024)  # asked for every function of a module, and a PurePath costs
def is_test_file(path: str) -> bool:
    """``test_*.py``, ``*_test.py``, ``conftest.py``, or anything under a ``tests/`` folder."""
    pure = PurePath(path)
    name = pure.name
    if name == "conftest.py" or (name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))):
        return True
    return "tests" in pure.parts[:-1]


_BENCHMARK_FOLDERS = frozenset({"benchmarks", "benchmark", "bench"})


@functools.lru_cache(maxsize=1024)
def is_benchmark_file(path: str) -> bool:
    """``bench_*.py``, ``benchmark_*.py``, ``*_benchmark.py``, ``*_bench.py``, or anything under a
    ``benchmarks/`` (``benchmark/``, ``bench/``) folder."""
    pure = PurePath(path)
    stem = pure.stem
    if pure.suffix == ".py" and (stem.startswith(("bench_", "benchmark_")) or stem.endswith(("_benchmark", "_bench"))):
        return True
    return not _BENCHMARK_FOLDERS.isdisjoint(pure.parts[:-1])


def in_test_function(function: FunctionInfo | None, index: ModuleIndex) -> bool:
    """Inside a pytest ``test*`` function or method, or a method of a ``unittest.TestCase`` subclass."""
    while function is not None:
        if function.name.startswith("test") or _is_test_case(function.class_name, index, 0):
            return True
        function = index.functions.get(function.parent) if function.parent else None
    return False


def _is_test_case(class_name: str | None, index: ModuleIndex, depth: int) -> bool:
    """A subclass of ``TestCase`` (unittest's, absltest's, ...), through classes of this module."""
    cls = index.classes.get(class_name) or index.classes.get(class_name.rsplit(".", 1)[-1]) if class_name else None
    if cls is None or depth > 8:
        return False
    for base in cls.bases:
        if base.rsplit(".", 1)[-1].endswith("TestCase") or _is_test_case(base, index, depth + 1):
            return True
    return False
