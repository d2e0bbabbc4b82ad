"""The public API the CLI, the flake8 plugin, the fixer and tests use."""

from __future__ import annotations

import ast
from pathlib import Path

from jaxpure.driver.cache import CACHE_DIR_NAME, ResultCache
from jaxpure.config import Config
from jaxpure.files.discovery import discover
from jaxpure.driver.engine import cache_namespace, check_files
from jaxpure.driver.modules import analyze_text, fewer_collections
from jaxpure.findings import Finding, Report
from jaxpure.driver.selection import Selection


def check_source(
    source: str,
    path: str = "<string>",
    config: Config | None = None,
    *,
    apply_noqa: bool = True,
    tree: ast.Module | None = None,
) -> list[Finding]:
    """One module's findings, sorted; ``select``/``ignore`` from ``config`` applied.

    With ``apply_noqa=False`` the ``# noqa`` comments are left for the caller
    (flake8 applies them itself). ``tree``: the source's ``ast``, when the
    caller has already parsed it.
    """
    config = config or Config()
    selection = Selection(config)
    with fewer_collections():  # flake8 calls this per file, under the default GC thresholds
        result = analyze_text(source, path, config, noqa=apply_noqa, tree=tree)
    findings = [f for f in result.findings if selection.enabled(f.code, path if path != "<string>" else None)]
    return sorted(findings, key=lambda f: f.sort_key)


def check_paths(
    paths: list[str],
    config: Config | None = None,
    *,
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    jobs: int = 1,
    cache_dir: Path | None = None,
) -> Report:
    """Check files and directories as ``jaxpure check`` does (raises ``MissingPath``)."""
    config = config or Config()
    files = discover(paths, config.exclude, config.root)
    cache = ResultCache(cache_dir, cache_namespace(config)) if cache_dir is not None else None
    return check_files(files, config, Selection(config, select, ignore), jobs=jobs, cache=cache)


def fix_report(
    report: Report, config: Config, *, select: tuple[str, ...] = (), ignore: tuple[str, ...] = (), diff: bool = False
) -> int:
    """Apply the safe fixes for ``report``'s fixable findings (``diff``: print the patch, write nothing).

    Returns 1 when ``diff`` printed changes, else 0.
    """
    from jaxpure.driver.fixing import run_fixes  # late: libcst and the fixers

    return run_fixes(report, config, Selection(config, select, ignore), diff=diff)


def default_cache_dir(config: Config) -> Path:
    return (config.root or Path.cwd()) / CACHE_DIR_NAME
