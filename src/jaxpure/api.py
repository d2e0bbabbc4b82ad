"""The public API the CLI, the language server, the flake8 plugin, the fixer and tests use."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

from jaxpure.config import Config
from jaxpure.driver.cache import CACHE_DIR_NAME, ResultCache
from jaxpure.driver.engine import cache_namespace, check_files
from jaxpure.driver.modules import analyze_text, fewer_collections
from jaxpure.driver.selection import Selection, check_codes
from jaxpure.driver.workspace import FileFindings, Workspace
from jaxpure.files.discovery import SourceFile, discover, module_name
from jaxpure.files.source import Unreadable, decode
from jaxpure.findings import Finding, Report, RuleInfo

__all__ = [
    "FileFindings",
    "Workspace",
    "check_paths",
    "check_source",
    "check_stdin",
    "default_cache_dir",
    "open_workspace",
    "validate_codes",
]


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
    overlays: Mapping[Path, str | bytes] | None = None,
) -> Report:
    """Check files and directories as ``jaxpure check`` does.

    ``overlays``: contents to analyze instead of some files' on disk (by the
    discovered file's path). Raises ``MissingPath``, and ``ConfigError`` for a
    code or prefix in ``select``/``ignore``/the configuration that names no rule.
    """
    config = config or Config()
    files = discover(paths, config.exclude, config.root)
    cache = ResultCache(cache_dir, cache_namespace(config)) if cache_dir is not None else None
    report = check_files(files, config, Selection(config, select, ignore), jobs=jobs, cache=cache, overlays=overlays)
    validate_codes(config, select, ignore, report.rules)  # after the run: a warm run has the rules from its cache
    return report


def check_stdin(
    data: bytes,
    filename: str | None,
    config: Config | None = None,
    *,
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
) -> tuple[Report, str]:
    """Check source read from stdin as the file ``filename`` (its module name, per-file ignores,
    messages), whether or not that file exists. Returns the report and the decoded text."""
    path = Path(filename) if filename else Path("-")
    module, is_package = module_name(path) if filename else (None, False)
    file = SourceFile(path, filename or "-", module, is_package)
    config = config or Config()
    report = check_files([file], config, Selection(config, select, ignore), overlays={path: data})
    validate_codes(config, select, ignore, report.rules)
    text = decode(data)
    return report, "" if isinstance(text, Unreadable) else text


def validate_codes(
    config: Config,
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    rules: Mapping[str, RuleInfo] | None = None,
) -> None:
    """``ConfigError`` naming a code or prefix in the options or the configuration that matches no rule.

    ``rules``: every rule's metadata when a run has it (from its cache, without importing the rules).
    """
    from jaxpure.output.context import load_rule_infos

    check_codes(config, select, ignore, rules or load_rule_infos())


def open_workspace(root: Path | None, config: Config, *, jobs: int = 1, cache_dir: Path | None = None) -> Workspace:
    """A project held in memory for repeated checks with overlays (the language server's)."""
    validate_codes(config)
    cache = ResultCache(cache_dir, cache_namespace(config)) if cache_dir is not None else None
    return Workspace(root, config, jobs=jobs, disk_cache=cache)


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
