"""jaxpure's performance benchmark: jaxpure, flake8 and ruff on the same files, side by side.

Usage (installs nothing; the tools must already be importable / on PATH)::

    python benchmarks/run.py CORPUS_DIR... [--large DIR...] [--repeat N] [--output FILE]

``CORPUS_DIR``s are the main corpus (e.g. the installed optax, flax, equinox,
haiku and numpyro); ``--large`` adds the large case (e.g. jax). Every tool
gets the same explicit list of ``*.py`` files (sorted), so file discovery
rules cannot make one of them look at more or less code. Each command runs
in a fresh temporary working directory (no configuration, no cache of
another run), and what is reported for it is the median of ``--repeat``
runs (flake8: one run, it takes long enough to be steady).

Measured per command: wall seconds, CPU seconds (user + system of the
process and its workers, from ``os.wait4``), kLOC per wall second, the
ratio to flake8's wall time on the same files, and peak memory: the
largest single process (``ru_maxrss``) and, sampled from ``/proc`` every
20 ms, the largest sum over the process and its workers at one time.

What the rows mean:

* ``flake8 --jobs 1`` runs flake8's default plugins (pycodestyle, pyflakes,
  mccabe) *without* jaxpure's plugin: the plugin is registered by installing
  jaxpure, so this row filters it out of flake8's plugin discovery (the same
  flake8, in the same way, minus one plugin). It is the baseline.
* ``flake8 --jobs 1 + JP plugin`` is flake8 as installed. The plugin's cost is
  the difference between the two rows. ``--select JP`` is shown too: flake8
  runs every plugin whatever ``--select`` says and only filters what it
  reports, so that row costs as much as the full one and says nothing about
  the plugin on its own.
* ``jaxpure cold`` runs with ``--no-cache``; ``jaxpure warm`` runs twice in the
  same folder and times the second run (the cache holds every result, nothing
  changed).
* ``ast.parse loop`` reads and parses the same files with ``ast.parse`` in
  one process, and nothing else: the floor of any analyzer hosted in Python
  that looks at every file. ``jaxpure cold --jobs 1`` is reported as a
  multiple of it, measured in the same run.
* The plugin's per-file latency is measured in-process on a generated
  1,000-line module of jitted functions: the first call (which imports the
  analyzer) and the median of the following calls.
* ``--jaxlint PATH`` (the ``jaxlint`` executable of a separate venv: ``pip
  install jaxlint``) adds the other JAX linter beside jaxpure, library by
  library of the corpus, where it finishes (``jaxlint check --jobs 1
  --no-doc``: its JAX checks, without its docstring checks).
* The profile section runs ``jaxpure check --no-cache --jobs 1`` on the
  corpus under cProfile and lists the functions with the most own time
  (cProfile slows Python-heavy code several times: read shares, not seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from procmem import tree_rss_kb

HERE = Path(__file__).resolve().parent


# -- running one command ------------------------------------------------------------------


@dataclass
class Measure:
    wall: float
    cpu: float
    max_rss_mb: float  # largest single process
    peak_tree_mb: float  # largest sum over the process tree, sampled
    returncode: int


def run_once(command: list[str], cwd: Path, must_finish: bool = True, env: dict[str, str] | None = None) -> Measure:
    """One run of ``command`` in ``cwd``; a run that fails stops the benchmark, unless not ``must_finish``
    (then its ``returncode`` is -1). ``env``: the environment, when not this process's."""
    peak = [0]
    done = threading.Event()
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:  # closed once the run is checked
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors, env=env)

        def sample() -> None:
            while not done.wait(0.02):
                peak[0] = max(peak[0], tree_rss_kb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        failure = _failure(command, process.returncode, errors)
        if failure is not None and must_finish:
            sys.exit(failure)
    return Measure(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024,
        peak_tree_mb=max(peak[0], usage.ru_maxrss) / 1024,
        returncode=process.returncode if failure is None else -1,
    )


def _failure(command: list[str], returncode: int, errors) -> str | None:
    """Why a command failed rather than checked (exit 1 means findings, for every tool here), or None."""
    errors.seek(0)
    text = errors.read().decode(errors="replace")
    errors.close()
    if returncode not in (0, 1) or "Traceback (most recent call last)" in text or "No module named" in text:
        return f"benchmark: {' '.join(command[:4])} ... failed (exit {returncode}):\n{text[-2000:]}"
    return None


def run_median(command: list[str], repeat: int, prepare=None, must_finish: bool = True) -> Measure:
    """The run with the median wall time of ``repeat``, each in a fresh temporary folder
    (the first failed one, where ``must_finish`` is False)."""
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="jaxpure-bench-") as folder:
            cwd = Path(folder)
            if prepare is not None:
                prepare(cwd)
            runs.append(run_once(command, cwd, must_finish))
            if runs[-1].returncode < 0:
                return runs[-1]
    runs.sort(key=lambda m: m.wall)
    return runs[len(runs) // 2]


def run_alternating(commands: list[tuple[list[str], dict[str, str] | None]], repeat: int) -> list[Measure]:
    """Each (command, environment) ``repeat`` times, taking turns, and the median run of each: commands
    compared with each other meet the same load on a shared machine."""
    runs: list[list[Measure]] = [[] for _ in commands]
    for _ in range(repeat):
        for measures, (command, env) in zip(runs, commands, strict=True):
            with tempfile.TemporaryDirectory(prefix="jaxpure-bench-") as folder:
                measures.append(run_once(command, Path(folder), env=env))
    return [sorted(measures, key=lambda m: m.wall)[len(measures) // 2] for measures in runs]


def code_at(root: Path | None) -> dict[str, str] | None:
    """The environment that runs jaxpure (and its flake8 plugin) from the checkout at ``root``."""
    if root is None:
        return None
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root / "plugins")])}


# -- the files ------------------------------------------------------------------------------


def python_files(roots: list[str]) -> list[str]:
    files = []
    for root in roots:
        path = Path(root)
        if path.is_file():
            files.append(str(path))
            continue
        for folder, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            files.extend(os.path.join(folder, n) for n in sorted(names) if n.endswith(".py"))
    return sorted(files)


def compile_jaxpure() -> None:
    """Byte-compile jaxpure as ``pip install`` does for an installed package.

    An editable install run with ``PYTHONDONTWRITEBYTECODE`` (set on some CI
    machines) would otherwise compile its own source in every process, every
    worker included: start-up that no installed copy pays.
    """
    import compileall

    import jaxpure
    import jaxpure_flake8

    for package in (jaxpure, jaxpure_flake8):
        compileall.compile_dir(os.path.dirname(package.__file__), quiet=1)


def _absolute_pythonpath() -> None:
    """``PYTHONPATH=src:plugins`` made absolute: every command runs in a temporary folder, where a relative
    entry finds nothing and the installed jaxpure would be measured instead of this checkout."""
    entries = os.environ.get("PYTHONPATH")
    if entries:
        os.environ["PYTHONPATH"] = os.pathsep.join(os.path.abspath(e) for e in entries.split(os.pathsep) if e)


def count_lines(files: list[str]) -> int:
    total = 0
    for name in files:
        with open(name, "rb") as handle:
            total += handle.read().count(b"\n")
    return total


# -- the commands ---------------------------------------------------------------------------


def jaxpure(*options: str) -> list[str]:
    return [sys.executable, "-m", "jaxpure", "check", *options]


def parse_floor(*names: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--parse-floor", "--", *names]


def _parse_all(names: list[str]) -> int:
    """Read and ``ast.parse`` each file, as jaxpure reads them (bytes: the parser decodes), and nothing else."""
    import ast
    import contextlib
    import warnings

    warnings.simplefilter("ignore")  # invalid escape sequences, as jaxpure parses
    for name in names:
        with open(name, "rb") as handle:
            source = handle.read()
        with contextlib.suppress(SyntaxError, ValueError):  # jaxpure reports these files
            ast.parse(source, filename=name)
    return 0


def flake8(*options: str, plugin: bool) -> list[str]:
    if plugin:
        return [sys.executable, "-m", "flake8", "--isolated", *options]
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--flake8-without-plugin",
        "jaxpure",
        "--",
        "--isolated",
        *options,
    ]


def _flake8_without_plugin(package: str, arguments: list[str]) -> int:
    """flake8's main with the plugins of one distribution left out of its plugin discovery."""
    from flake8.main.cli import main
    from flake8.plugins import finder

    discover = finder._find_importlib_plugins

    def without():
        for plugin in discover():
            if plugin.package != package:
                yield plugin

    finder._find_importlib_plugins = without
    return main(arguments) or 0


_LATENCY = """
import ast, json, statistics, sys, time
from jaxpure_flake8 import JaxpureChecker

def timed(source, name, calls):
    lines = source.splitlines(keepends=True)
    times = []
    for _ in range(calls):
        tree = ast.parse(source)
        start = time.perf_counter()
        list(JaxpureChecker(tree, lines, name).run())
        times.append((time.perf_counter() - start) * 1000)
    return times

generated = timed(sys.argv[1], "traced_module.py", 7)
real = [min(timed(open(path).read(), path, 3)) for path in sys.argv[2:]]
print(json.dumps([generated[0], statistics.median(generated[1:]), real]))
"""


def plugin_latency(real_files: list[str]) -> tuple[float, float, list[float]]:
    """The flake8 plugin's time per file, in ms, in one process (as flake8 runs it).

    On a generated 1,000-line module where every function is traced: the first
    call (which imports the analyzer) and the median of the next six; and on
    each of ``real_files``: the best of three calls.
    """
    with tempfile.TemporaryDirectory(prefix="jaxpure-bench-") as folder:
        out = subprocess.run(
            [sys.executable, "-c", _LATENCY, traced_module(1000), *real_files],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        )
    first, steady, real = json.loads(out.stdout)
    return first, steady, real


def real_traced_modules(files: list[str], low: int = 800, high: int = 1300) -> list[str]:
    """The corpus files of about 1,000 lines that use JAX."""
    found = []
    for name in files:
        with open(name, "rb") as handle:
            data = handle.read()
        if low <= data.count(b"\n") <= high and b"jax" in data:
            found.append(name)
    return found


def traced_module(lines: int) -> str:
    """A module of ``lines`` lines: jitted and differentiated functions with loops, keys and branches."""
    head = "import functools\n\nimport jax\nimport jax.numpy as jnp\nimport numpy as np\n\n"
    block = textwrap.dedent("""

        @functools.partial(jax.jit, static_argnums=(2,))
        def step_{n}(params, batch, depth, key):
            key, sub = jax.random.split(key)
            noise = jax.random.normal(sub, batch.shape)
            hidden = batch + noise
            for layer in range(depth):
                weight = params["w"][layer]
                hidden = jnp.tanh(hidden @ weight + params["b"][layer])
                if depth > 2:
                    hidden = hidden * 0.5
            scale = jnp.where(hidden > 0, hidden, 0.0)
            total = jnp.sum(scale) / np.prod(batch.shape)
            return total, key


        def loss_{n}(params, batch, key):
            value, _ = step_{n}(params, batch, 2, key)
            return value + 0.01 * sum(jnp.sum(w ** 2) for w in params["w"])


        grad_{n} = jax.grad(loss_{n})
    """)
    parts = [head]
    n = 0
    while sum(p.count("\n") for p in parts) < lines:
        parts.append(block.format(n=n))
        n += 1
    return "".join(parts)


def imports_jax() -> bool:
    """Whether ``jaxpure check FILE`` imports jax (it must not: the static path is jax-free)."""
    with tempfile.TemporaryDirectory(prefix="jaxpure-bench-") as folder:
        target = Path(folder) / "traced.py"
        target.write_text(traced_module(100))
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "jaxpure", "check", "--no-cache", str(target)],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
    return any(line.split("|")[-1].strip() in ("jax", "jaxlib") for line in out.stderr.splitlines() if "|" in line)


# -- the report -----------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    measure: Measure
    kloc: float


def table(rows: list[Row], baseline: float | None) -> str:
    out = [
        "| command | wall s | CPU s | kLOC/s | × flake8 | peak RSS MB (largest process / all) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        m = row.measure
        ratio = f"{baseline / m.wall:.1f}×" if baseline else "–"
        out.append(
            f"| {row.name} | {m.wall:.2f} | {m.cpu:.2f} | {row.kloc / m.wall:.1f} | {ratio} | "
            f"{m.max_rss_mb:.0f} / {m.peak_tree_mb:.0f} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--flake8-without-plugin"]:
        package, separator, *rest = argv[1:]
        assert separator == "--"
        return _flake8_without_plugin(package, rest)
    if argv[:2] == ["--parse-floor", "--"]:
        return _parse_all(argv[2:])

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="+", help="the main corpus: folders (or files)")
    parser.add_argument("--large", nargs="*", default=[], help="the large case: folders (or files)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per jaxpure/ruff command (median)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="jaxpure's parallel run")
    parser.add_argument("--output", help="also write the report (Markdown) to this file")
    parser.add_argument("--server", action="store_true", help="add the language server's section (server.py)")
    parser.add_argument("--server-only", action="store_true", help="measure the language server only")
    parser.add_argument("--jaxlint", help="the jaxlint executable (a separate venv), to run beside jaxpure")
    parser.add_argument("--profile-top", type=int, default=15, help="profile entries to report (0: no profile)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of earlier code (src/, plugins/): its cold run "
        "and flake8 plugin measured beside this code's, taking turns",
    )
    args = parser.parse_args(argv)
    if args.server_only:
        text = (
            f"Command: `python benchmarks/run.py {' '.join(argv)}`; {os.cpu_count()} cores, "
            f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n\n" + server_section(args)
        )
        print(text)
        if args.output:
            Path(args.output).write_text(text)
        return 0

    _absolute_pythonpath()
    compile_jaxpure()
    if args.baseline:
        import compileall

        compileall.compile_dir(str(args.baseline), quiet=1)
    files = python_files(args.corpus)
    large = python_files(args.large) if args.large else []
    kloc = count_lines(files) / 1000
    report = [
        "# jaxpure benchmark\n",
        f"Command: `python benchmarks/run.py {' '.join(argv)}`\n",
        (
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}; "
            f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
        ),
    ]
    print(report[-1], file=sys.stderr)

    def section(title: str, names: list[str], lines_k: float, with_flake8: bool, cold: bool = True) -> None:
        rows: list[Row] = []
        baseline = None
        base = full = None
        print(f"{title}: {len(names)} files, {lines_k:.0f} kLOC", file=sys.stderr)

        def add(name: str, command: list[str], repeat: int = args.repeat, prepare=None) -> Measure:
            measure = run_median(command, repeat, prepare)
            note(name, measure)
            return measure

        def note(name: str, measure: Measure) -> None:
            print(f"  {name}: {measure.wall:.2f} s (exit {measure.returncode})", file=sys.stderr)
            rows.append(Row(name, measure, lines_k))

        def add_alternating(named: list[tuple[str, list[str], dict[str, str] | None]]) -> list[Measure]:
            measures = run_alternating([(command, env) for _, command, env in named], args.repeat)
            for (name, _, _), measure in zip(named, measures, strict=True):
                note(name, measure)
            return measures

        earlier = code_at(args.baseline)
        if with_flake8:
            plain = ("flake8 --jobs 1 (default plugins, without JP)", flake8("--jobs", "1", *names, plugin=False), None)
            installed = ("flake8 --jobs 1 + JP plugin (as installed)", flake8("--jobs", "1", *names, plugin=True), None)
            before = [(BASELINE_PLUGIN, flake8("--jobs", "1", *names, plugin=True), earlier)] if earlier else []
            base, full, *_ = add_alternating([plain, installed, *before])
            baseline = base.wall
            add(
                "flake8 --jobs 1 --select JP (all plugins still run)",
                flake8("--jobs", "1", "--select", "JP", *names, plugin=True),
                1,
            )
        if cold:
            one = jaxpure("--no-cache", "--jobs", "1", *names)
            before = [(BASELINE_COLD, one, earlier)] if earlier else []
            add_alternating(
                [(FLOOR, parse_floor(*names), None), ("jaxpure cold --no-cache --jobs 1", one, None), *before]
            )
            add(f"jaxpure cold --no-cache --jobs {args.jobs}", jaxpure("--no-cache", "--jobs", str(args.jobs), *names))

        def prime(cwd: Path) -> None:
            subprocess.run(jaxpure(*names), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

        add("jaxpure warm (cache primed, nothing changed)", jaxpure(*names), prepare=prime)
        if shutil.which("ruff"):
            add("ruff check --no-cache", ["ruff", "check", "--no-cache", "--quiet", *names])
        text = [f"## {title}: {len(names)} files, {lines_k:.1f} kLOC\n", table(rows, baseline), ""]
        by_name = {row.name: row.measure for row in rows}
        if cold:
            text.append(floor_ratio(by_name))
            one = by_name["jaxpure cold --no-cache --jobs 1"].wall
            many = by_name[f"jaxpure cold --no-cache --jobs {args.jobs}"].wall
            text.append(
                f"- `--jobs {args.jobs}` speed-up over `--jobs 1`: {one / many:.2f}× "
                f"(CPU spent: {by_name[f'jaxpure cold --no-cache --jobs {args.jobs}'].cpu:.1f} s "
                f"vs {by_name['jaxpure cold --no-cache --jobs 1'].cpu:.1f} s)"
            )
        if with_flake8:
            text.append(plugin_cost("JP plugin's cost in flake8", full, base))
            if BASELINE_PLUGIN in by_name:
                text.append(plugin_cost("... with the baseline code", by_name[BASELINE_PLUGIN], base))
            text.append(
                f"- jaxpure cold, one process, vs flake8 --jobs 1: {base.wall / one:.1f}× faster "
                f"(CPU: {base.cpu / by_name['jaxpure cold --no-cache --jobs 1'].cpu:.1f}×)"
            )
        if "ruff check --no-cache" in by_name:
            warm = by_name["jaxpure warm (cache primed, nothing changed)"].wall
            ruff = by_name["ruff check --no-cache"].wall
            text.append(f"- jaxpure warm vs ruff --no-cache: {warm:.2f} s vs {ruff:.2f} s")
        report.append("\n".join(text) + "\n")

    section("Corpus", files, kloc, with_flake8=True)
    if args.jaxlint:
        report.append(jaxlint_section(args.jaxlint, args.corpus, args.repeat))
    if args.profile_top:
        report.append(profile_section(files, args.profile_top))
    if large:
        section("Large case", large, count_lines(large) / 1000, with_flake8=False)
        everything = sorted(set(files) | set(large))
        section(
            "Everything (corpus + large case)",
            everything,
            count_lines(everything) / 1000,
            with_flake8=False,
            cold=False,
        )

    real = real_traced_modules(files)
    first, steady, times = plugin_latency(real)
    lines = [
        "## flake8 plugin latency per file\n",
        (
            f"- generated 1,000-line module, every function traced (worst case): first call {first:.0f} ms "
            f"(imports the analyzer), then {steady:.0f} ms per call (median)"
        ),
    ]
    if times:
        slowest = max(range(len(times)), key=times.__getitem__)
        lines.append(
            f"- the corpus's {len(times)} files of 800-1,300 lines that use JAX: median "
            f"{sorted(times)[len(times) // 2]:.0f} ms, slowest {times[slowest]:.0f} ms "
            f"(`{os.path.relpath(real[slowest], os.path.commonpath(args.corpus))}`), "
            f"{sum(t < 150 for t in times)} of {len(times)} under 150 ms"
        )
    report.append("\n".join(lines) + "\n")
    if args.server:
        report.append(server_section(args))
    report.append(f"## Static path imports jax: {'YES (regression)' if imports_jax() else 'no'}\n")
    text = "\n".join(report)
    print(text)
    if args.output:
        Path(args.output).write_text(text)
    return 0


FLOOR = "ast.parse loop over the same files (the floor)"
BASELINE_COLD = "jaxpure cold --no-cache --jobs 1, baseline code"
BASELINE_PLUGIN = "flake8 --jobs 1 + JP plugin, baseline code"


def floor_ratio(by_name: dict[str, Measure]) -> str:
    floor = by_name[FLOOR]
    lines = []
    for name in ("jaxpure cold --no-cache --jobs 1", BASELINE_COLD):
        if name in by_name:
            one = by_name[name]
            lines.append(
                f"- {name}, over the parse floor: {one.wall / floor.wall:.2f}× wall ({one.wall:.2f} s vs "
                f"{floor.wall:.2f} s), {one.cpu / floor.cpu:.2f}× CPU (target ≤ 2.5×, goal 2×)"
            )
    return "\n".join(lines)


def plugin_cost(label: str, full: Measure, base: Measure) -> str:
    overhead = (full.wall - base.wall) / base.wall
    return (
        f"- {label}: {full.wall - base.wall:+.2f} s wall ({overhead:+.0%} of flake8's own time; target ≤ +15%, "
        f"goal +10%), {full.cpu - base.cpu:+.2f} s CPU ({(full.cpu - base.cpu) / base.cpu:+.0%})"
    )


def jaxlint_section(executable: str, roots: list[str], repeat: int) -> str:
    """jaxpure and the other JAX linter side by side, library by library, where it finishes."""
    out = [
        "## The other JAX linter, library by library\n",
        f"`{Path(executable).name} check --jobs 1 --no-doc` (jaxlint {_version(executable)}, its own venv) "
        "beside `jaxpure check --no-cache --jobs 1`, on the same files; wall s, median of "
        f"{repeat}.\n",
        "| library | files | jaxpure | jaxlint | jaxlint / jaxpure |",
        "|---|---:|---:|---:|---:|",
    ]
    for root in roots:
        names = python_files([root])
        ours = run_median(jaxpure("--no-cache", "--jobs", "1", *names), repeat)
        theirs = run_median([executable, "check", "--jobs", "1", "--no-doc", *names], repeat, must_finish=False)
        print(f"  jaxlint on {Path(root).name}: {theirs.wall:.2f} s (exit {theirs.returncode})", file=sys.stderr)
        if theirs.returncode < 0:
            out.append(f"| {Path(root).name} | {len(names)} | {ours.wall:.2f} | did not finish (crashed) | – |")
        else:
            out.append(
                f"| {Path(root).name} | {len(names)} | {ours.wall:.2f} | {theirs.wall:.2f} | "
                f"{theirs.wall / ours.wall:.1f}× |"
            )
    return "\n".join(out) + "\n"


def _version(executable: str) -> str:
    out = subprocess.run([executable, "version"], capture_output=True, text=True, check=False)
    words = out.stdout.split()
    return words[-1] if words else "?"


def profile_section(files: list[str], top: int) -> str:
    """The functions with the most own time in a profiled cold one-process run of the corpus."""
    with tempfile.TemporaryDirectory(prefix="jaxpure-bench-") as folder:
        output = Path(folder) / "profile.out"
        command = [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(output),
            "-m",
            "jaxpure",
            "check",
            "--no-cache",
            "--jobs",
            "1",
            *files,
        ]
        subprocess.run(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        stats = pstats.Stats(str(output))
    entries = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:top]  # type: ignore[attr-defined]
    out = [
        f"## Profile: `jaxpure check --no-cache --jobs 1` on the corpus, top {top} by own time\n",
        f"cProfile, {stats.total_tt:.1f} s in all under the profiler (it slows Python code several times: "  # type: ignore[attr-defined]
        "compare shares, not seconds).\n",
        "| function | calls | own s | own share | with callees s |",
        "|---|---:|---:|---:|---:|",
    ]
    for (path, line, name), (_, calls, own, cumulative, _) in entries:
        where = f"{_short(path)}:{line}({name})" if line else name
        out.append(f"| `{where}` | {calls:,} | {own:.2f} | {own / stats.total_tt:.0%} | {cumulative:.2f} |")  # type: ignore[attr-defined]
    return "\n".join(out) + "\n"


def _short(path: str) -> str:
    """A source path from its package on (``jaxpure/analysis/index.py``, ``libcst/...``)."""
    parts = Path(path).parts
    for anchor in ("site-packages", "src", "lib"):
        if anchor in parts:
            return "/".join(parts[len(parts) - parts[::-1].index(anchor) :])
    return path


def server_section(args) -> str:
    import server

    files = python_files(args.corpus)
    real = real_traced_modules(files)
    middle = sorted(real, key=lambda name: Path(name).stat().st_size)[len(real) // 2] if real else None
    return server.report(args.corpus, middle, args.jobs, traced_module)


if __name__ == "__main__":
    sys.exit(main())
