"""``jaxpure check | rule | rules``: argument parsing and exit statuses (0 clean, 1 findings, 2 error)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import NoReturn

from jaxpure import __version__
from jaxpure.config import Config, ConfigError, find_pyproject, load_config, validate_code_prefix
from jaxpure.files.discovery import MissingPath
from jaxpure.findings import Report
from jaxpure.output import FORMATS
from jaxpure.output.streams import drop_broken_output, write

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # exit 2 with one clear line, as argparse does, but ours
        self.print_usage(sys.stderr)
        raise SystemExit(f"jaxpure: error: {message}") from None


def _codes(text: str) -> tuple[str, ...]:
    codes = tuple(code.strip().upper() for code in text.split(",") if code.strip())
    for code in codes:
        try:
            validate_code_prefix(code, "option")
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return codes


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jaxpure", description="A pure-function linter and purity checker for JAX.")
    parser.add_argument("--version", action="version", version=f"jaxpure {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = commands.add_parser("check", help="check files and directories")
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .); - reads stdin")
    check.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="the name of the source read from stdin (config, module name, messages)",
    )
    check.add_argument("--select", type=_codes, default=(), help="codes or prefixes to report, e.g. JP1,JP302")
    check.add_argument("--ignore", type=_codes, default=(), help="codes or prefixes not to report")
    check.add_argument("--format", choices=tuple(FORMATS), default="text")
    check.add_argument("--show-source", action="store_true", help="show the offending line under each finding")
    check.add_argument("--runtime", action="store_true", help="confirm each finding by running it (imports your code)")
    check.add_argument("--device", choices=("cpu", "gpu", "tpu"), help="JAX platform for --runtime")
    check.add_argument(
        "--run", action="append", default=[], metavar="COMMAND",
        help='with --runtime: confirm through this command\'s own run, e.g. "pytest tests/" (repeatable)',
    )  # fmt: skip
    check.add_argument("--fix", action="store_true", help="apply the safe fixes")
    check.add_argument("--diff", action="store_true", help="with --fix: print the patch, write nothing")
    check.add_argument("--jobs", "-j", type=int, default=0, help="worker processes (default: all cores)")
    check.add_argument("--no-cache", action="store_true", help="neither read nor write .jaxpure_cache")
    check.add_argument("--baseline", metavar="FILE", help="report only findings not recorded in FILE")
    check.add_argument("--write-baseline", action="store_true", help="with --baseline: record today's findings")
    check.add_argument("--config", metavar="FILE", help="a pyproject.toml or jaxpure TOML file")
    check.add_argument("--statistics", action="store_true", help="print the number of findings per rule instead")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--output-file", metavar="FILE", help="write the report to FILE instead of stdout")
    check.add_argument("--quiet", "-q", action="store_true", help="print the findings only (no summary)")

    commands.add_parser("server", help="run the language server (LSP over stdin/stdout)")
    rule = commands.add_parser("rule", help="show a rule's documentation")
    rule.add_argument("code")
    commands.add_parser("rules", help="list every rule")
    return parser


def main(argv: list[str] | None = None) -> int:
    _usable_output_streams()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit:
        if isinstance(exit.code, str):
            print(exit.code, file=sys.stderr)
            return EXIT_ERROR
        return EXIT_ERROR if exit.code else EXIT_CLEAN
    try:
        if args.command == "rules":
            return _rules()
        if args.command == "rule":
            return _rule(args.code)
        if args.command == "server":
            return _server()
        return _check(args)
    except ConfigError as error:
        print(f"jaxpure: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except MissingPath as error:
        print(f"jaxpure: error: {error}: no such file or directory", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `jaxpure rules | head -1`; a check keeps its status (see _check)
        drop_broken_output(sys.stdout)
        return EXIT_CLEAN


def _usable_output_streams() -> None:
    """A file name that is not valid UTF-8 (or a console that cannot show it) must not crash the report;
    nor a closed stdout or stderr (``jaxpure check >&-``: only the exit status is wanted)."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict":
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]


def _server() -> int:
    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401
    except ImportError:
        print('jaxpure: error: the language server needs pygls: pip install "jaxpure[server]"', file=sys.stderr)
        return EXIT_ERROR
    from jaxpure.server import serve

    return serve()


def _rules() -> int:
    from jaxpure.analysis.rules import RULES

    for rule in RULES.values():
        print(f"{rule.code}  {rule.name:<45} {rule.severity:<8} {rule.summary()}")
    return EXIT_CLEAN


def _rule(code: str) -> int:
    from jaxpure.analysis.rules import RULES
    from jaxpure.analysis.rules.base import documentation

    rule = RULES.get(code.upper())
    if rule is None:
        print(f"jaxpure: error: unknown rule {code!r}; `jaxpure rules` lists them", file=sys.stderr)
        return EXIT_ERROR
    print(f"# {rule.code} {rule.name} ({rule.severity})\n")
    print(documentation(type(rule)))
    return EXIT_CLEAN


def _load_config(args: argparse.Namespace) -> Config:
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise ConfigError(f"{args.config}: configuration file not found")
        return load_config(path)
    given = args.stdin_filename if _reads_stdin(args) and args.stdin_filename else (args.paths or ["."])[0]
    first = Path(given)
    if not first.exists() and first.parent.is_dir():  # stdin's name need not exist; its folder decides
        first = first.parent
    return load_config(find_pyproject(first if first.exists() else Path.cwd()))


def _reads_stdin(args: argparse.Namespace) -> bool:
    if "-" in args.paths and args.paths != ["-"]:
        raise ConfigError("- (stdin) cannot be combined with other paths")
    return args.paths == ["-"] or (not args.paths and args.stdin_filename is not None)


def _check(args: argparse.Namespace) -> int:
    from jaxpure.output import OutputContext, SourceReader, load_rule_infos

    if args.diff and not args.fix:
        raise ConfigError("--diff goes with --fix")
    if args.write_baseline and not args.baseline:
        raise ConfigError("--write-baseline needs --baseline FILE")
    stdin = _reads_stdin(args)
    if stdin and (args.fix or args.runtime or args.run):
        raise ConfigError("--fix and --runtime work on files, not on stdin")
    config = _load_config(args)
    if stdin:
        report, sources = _check_stdin(args, config)
    else:
        report, sources = _check_paths(args, config), SourceReader()
    if isinstance(report, int):  # --fix --diff: the patch is the output
        return report
    if args.baseline:
        report = _apply_baseline(report, args, sources)
    if args.runtime or args.run:  # --run implies --runtime
        report.findings = _confirm(report.findings, args, config)
    context = OutputContext(
        show_source=args.show_source,
        color=_use_color() and not args.output_file,
        sources=sources,
        rules=report.rules or load_rule_infos(),
    )
    return _report(report, context, args)


def _check_paths(args: argparse.Namespace, config: Config):
    """The report of the paths given (after ``--fix``); an exit status when ``--fix --diff`` ends the run."""
    from jaxpure.api import check_paths, default_cache_dir, fix_report

    def check() -> Report:
        return check_paths(
            args.paths or ["."],
            config,
            select=args.select,
            ignore=args.ignore,
            jobs=jobs,
            cache_dir=None if args.no_cache else default_cache_dir(config),
        )

    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    report = check()
    if args.fix:
        status = fix_report(report, config, select=args.select, ignore=args.ignore, diff=args.diff)
        if not args.diff:
            return check()
        if status:
            return status
    return report


def _check_stdin(args: argparse.Namespace, config: Config):
    from jaxpure.api import check_stdin
    from jaxpure.output import SourceReader

    data = sys.stdin.buffer.read()
    report, text = check_stdin(data, args.stdin_filename, config, select=args.select, ignore=args.ignore)
    return report, SourceReader({args.stdin_filename or "-": text})


def _report(report, context, args: argparse.Namespace) -> int:
    """Write the report (stdout or ``--output-file``) and the summary; the exit status."""
    from jaxpure.output import render_summary
    from jaxpure.output.statistics import format_statistics

    if args.statistics:
        text = format_statistics(report, context, as_json=args.format == "json")
    else:
        text = FORMATS[args.format](report, context)
    if args.output_file:
        try:
            Path(args.output_file).write_text(text, encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"--output-file {args.output_file}: {error.strerror or error}") from None
    else:
        # A reader that goes away (`jaxpure check | head -1`) ends the output, not the status:
        # the report is complete, and the findings decide (under `set -o pipefail` too).
        write(sys.stdout, text)
    if not args.quiet:
        write(sys.stderr, render_summary(report, context.severity) + "\n")
    for internal in report.internal_errors:
        write(sys.stderr, f"jaxpure: internal error in {internal}\n  please report this at the jaxpure issue tracker\n")
    if report.internal_errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if report.findings and not args.exit_zero else EXIT_CLEAN


def _apply_baseline(report, args, sources):
    from jaxpure.driver.baseline import filter_new, write_baseline

    if args.write_baseline:
        count = write_baseline(report.findings, args.baseline)
        print(f"jaxpure: wrote {count} finding(s) to the baseline {args.baseline}", file=sys.stderr)
        report.findings = []
        return report
    report.findings = filter_new(report.findings, args.baseline, sources.line)
    return report


def _confirm(findings, args, config: Config):
    from jaxpure.runtime import confirm

    device = args.device or config.runtime.device
    commands = args.run or list(config.runtime.run)
    return confirm(
        findings, device=device, timeout=config.runtime.timeout, examples=config.runtime.examples, run=commands
    )


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
