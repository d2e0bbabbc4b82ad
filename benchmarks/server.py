"""The language server's benchmark, measured from the client side (``run.py --server``).

- Edit latency: a 200-file workspace (199 small modules, several calling
  into each other, and one 1,000-line module); the 1,000-line module is
  opened, then edited ``EDITS`` times (one traced line changed each time), and
  for each edit the time from sending ``didChange`` to receiving its
  ``publishDiagnostics`` is taken. The server runs with ``debounceMs: 0``, so
  the debounce is not in the numbers. Two 1,000-line modules: the generated
  worst case (every function traced) and, when a corpus is given, a real
  module of about 1,000 lines from it.
- First diagnostics: from spawning the server (initialize, open the
  1,000-line module) to its first diagnostics, beside a cold ``jaxpure check
  --no-cache`` of the same workspace; both with the same worker count.
- Memory: the server's resident memory (``VmRSS``, and its peak ``VmHWM``)
  after the first diagnostics of a workspace holding the whole corpus.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from lsp_client import LspClient  # noqa: E402 - the test suite's LSP client
from procmem import status_kb, tree_rss_kb  # noqa: E402

EDITS = 15
SMALL_MODULE = textwrap.dedent('''\
    """Module {n}."""
    import jax
    import jax.numpy as jnp

    from proj import core


    def helper_{n}(x):
        y = core.scale(x, {n})
        return jnp.tanh(y) + {n}


    @jax.jit
    def step_{n}(params, x):
        h = helper_{n}(x)
        for w in params:
            h = h @ w
        return core.norm(h)


    def untraced_{n}(values):
        total = 0
        for value in values:
            total += value * {n}
        return total
''')
CORE = textwrap.dedent("""\
    import jax.numpy as jnp


    def scale(x, factor):
        return x * factor


    def norm(x):
        return jnp.sqrt(jnp.sum(x ** 2))
""")


def make_workspace(folder: Path, big_module: str, files: int = 200) -> Path:
    """``folder/proj``: a package of ``files`` modules, ``big.py`` among them; returns big.py's path."""
    package = folder / "proj"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core.py").write_text(CORE)
    for n in range(files - 3):
        (package / f"mod_{n:03d}.py").write_text(SMALL_MODULE.format(n=n))
    big = package / "big.py"
    big.write_text(big_module)
    return big


def _edited(text: str, round_number: int) -> str:
    """``text`` with one traced line changed: a new constant in the first multiplication or addition."""
    for marker in (" * 0.5", " + 1", " * 2", " + 0.01"):
        if marker in text:
            return text.replace(marker, marker + f" + 0.{round_number + 1}", 1)
    return text + f"\n# edit {round_number}\n"


def _env() -> dict[str, str]:
    return dict(os.environ)


def _server(folder: Path, jobs: int, debounce_ms: int = 0) -> LspClient:
    command = [sys.executable, "-m", "jaxpure", "server"]
    client = LspClient(command, folder, _env())
    client.initialize(folder, {"debounceMs": debounce_ms, "cache": False, "jobs": jobs})
    return client


FIRST_REPEAT = 3  # first diagnostics and cold checks, alternated; medians (the machine may be busy)


@contextlib.contextmanager
def _opened(folder: Path, opened: Path, jobs: int) -> Iterator[tuple[LspClient, str, float]]:
    """A server spawned on ``folder`` with ``opened`` open: (client, its uri, seconds from the spawn to
    the first diagnostics of ``opened``); shut down and killed afterwards."""
    start = time.perf_counter()
    client = _server(folder, jobs)
    try:
        uri = client.open(opened)
        client.diagnostics(uri, timeout=600)
        yield client, uri, time.perf_counter() - start
        client.shutdown()
    finally:
        client.kill()


def edit_latency(folder: Path, big: Path, jobs: int) -> tuple[float, list[float], float]:
    """(first diagnostics in s, per-edit latencies in ms, cold check in s) on ``folder``; the first
    diagnostics and the cold check are medians of ``FIRST_REPEAT`` runs, alternated."""
    with _opened(folder, big, jobs) as (client, uri, first):
        text = big.read_text()
        latencies = []
        for round_number in range(EDITS):
            text = _edited(text, round_number)
            sent = time.perf_counter()
            client.change(uri, text, round_number + 2)
            client.diagnostics(uri, timeout=600)
            latencies.append((time.perf_counter() - sent) * 1000)
    firsts, colds = [first], [_cold_check(folder, jobs)]
    for _ in range(FIRST_REPEAT - 1):
        firsts.append(first_diagnostics(folder, big, jobs))
        colds.append(_cold_check(folder, jobs))
    return statistics.median(firsts), latencies, statistics.median(colds)


def first_diagnostics(folder: Path, opened: Path, jobs: int) -> float:
    """Seconds from spawning a server on ``folder`` to the first diagnostics of ``opened``."""
    with _opened(folder, opened, jobs) as (_, _, elapsed):
        return elapsed


def _cold_check(folder: Path, jobs: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "jaxpure", "check", "--no-cache", "--jobs", str(jobs), "."],
        cwd=folder,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - start


def server_memory(corpus: list[str], jobs: int) -> tuple[int, float, float, float, float]:
    """A server on a workspace holding ``corpus``, after its first diagnostics and an edit of the
    largest module: (files, first diagnostics in s, VmRSS MB, VmHWM MB, MB of it and its children)."""
    with tempfile.TemporaryDirectory(prefix="jaxpure-bench-server-") as name:
        folder = Path(name)
        for index, root in enumerate(corpus):
            shutil.copytree(root, folder / f"{index}-{Path(root).name}", ignore=shutil.ignore_patterns("__pycache__"))
        sources = sorted(folder.rglob("*.py"))
        opened = max(sources, key=lambda path: path.stat().st_size)
        with _opened(folder, opened, jobs) as (client, uri, first):
            client.change(uri, _edited(opened.read_text(), 0), 2)  # the server now analyzes in its own process
            client.diagnostics(uri, timeout=600)
            rss, peak = _memory(client.process.pid)
            tree = _tree_memory(client.process.pid)
        cold = _cold_check(folder, jobs)
    return len(sources), first, rss, peak, tree, cold


def _memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    values = status_kb(pid, "VmRSS", "VmHWM")
    return values.get("VmRSS", 0) / 1024, values.get("VmHWM", 0) / 1024


def analysis_ms(source: str, calls: int = 7) -> float:
    """The median time of analyzing ``source`` alone, in this process (what an edit cannot go below)."""
    from jaxpure.api import check_source

    check_source(source, "big.py")  # imports the analyzer
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        check_source(source, "big.py")
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _tree_memory(pid: int) -> float:
    """VmRSS of ``pid`` and its descendants (the fork server and any worker), in MB."""
    return tree_rss_kb(pid) / 1024


def report(corpus: list[str], real_module: str | None, jobs: int, traced_module) -> str:
    lines = ["## Language server (client side: didChange → publishDiagnostics, debounce 0)\n"]
    cases = [("generated, every function traced (worst case)", traced_module(1000))]
    if real_module is not None:
        cases.append(
            (
                f"real: `{os.path.basename(real_module)}` ({Path(real_module).read_text().count(chr(10))} lines)",
                Path(real_module).read_text(),
            )
        )
    for title, source in cases:
        with tempfile.TemporaryDirectory(prefix="jaxpure-bench-server-") as name:
            folder = Path(name)
            big = make_workspace(folder, source)
            first, latencies, cold = edit_latency(folder, big, jobs)
        alone = analysis_ms(_edited(source, 0))
        print(
            f"  server, {title}: first {first:.2f} s, cold check {cold:.2f} s, "
            f"edit median {statistics.median(latencies):.0f} ms",
            file=sys.stderr,
        )
        lines.append(
            f"- 200-file workspace, 1,000-line module {title}: after an edit, diagnostics in "
            f"{statistics.median(latencies):.0f} ms median (min {min(latencies):.0f}, max {max(latencies):.0f}, "
            f"{EDITS} edits; analyzing that module alone, in-process: {alone:.0f} ms); "
            f"first diagnostics of the fresh workspace {first:.2f} s vs cold "
            f"`jaxpure check --no-cache --jobs {jobs}` {cold:.2f} s (medians of {FIRST_REPEAT}, alternated)"
        )
    if corpus:
        files, first, rss, peak, tree, cold = server_memory(corpus, jobs)
        print(
            f"  server memory: {rss:.0f} MB (peak {peak:.0f} MB, with children {tree:.0f} MB) on {files} files",
            file=sys.stderr,
        )
        lines.append(
            f"- the corpus as one workspace ({files} files): first diagnostics {first:.2f} s (cold `jaxpure check "
            f"--no-cache --jobs {jobs}` of it: {cold:.2f} s); after them and an "
            f"edit of its largest module, the server holds {rss:.0f} MB resident (peak {peak:.0f} MB); with its "
            f"fork server (the analyzer preloaded, idle) {tree:.0f} MB"
        )
    return "\n".join(lines) + "\n"
