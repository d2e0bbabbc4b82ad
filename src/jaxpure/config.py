"""``[tool.jaxpure]`` configuration: loading, validation, and its cache fingerprint.

Every mistake in a configuration file is a ``ConfigError`` whose message names
the file and the key; the CLI turns it into exit status 2.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

TRANSFORM_KINDS = ("staging", "differentiation")
DEVICES = ("cpu", "gpu", "tpu")


class ConfigError(Exception):
    """A configuration file or option that jaxpure cannot use."""


@dataclass(frozen=True)
class RuntimeConfig:
    device: str = "cpu"
    timeout: float = 60.0  # seconds per module child process
    examples: str | None = None  # path of a user examples file
    run: tuple[str, ...] = ()  # commands whose own runs confirm findings (``--run``)


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()  # code prefixes; empty means every rule
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # gitignore-style patterns
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    extend_transforms: tuple[tuple[str, str], ...] = ()  # (qualified name, kind)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    root: Path | None = None  # the folder the configuration file is in
    source: Path | None = None  # the configuration file itself

    def fingerprint(self) -> str:
        """A key that changes whenever the analysis could give other results."""
        relevant = [self.extend_transforms]
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


_TOP_KEYS = {"select", "ignore", "exclude", "per-file-ignores", "extend-transforms", "runtime"}
_RUNTIME_KEYS = {"device", "timeout", "examples", "run"}


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.jaxpure]`` table, upwards from ``start``."""
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else [start.parent, *start.parent.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                # A broken pyproject that is not ours to read is reported only if it is the one we use.
                return candidate
            tool = data.get("tool", {})
            if isinstance(tool, dict) and "jaxpure" in tool:
                return candidate
    return None


def load_config(path: Path | None) -> Config:
    """Read ``[tool.jaxpure]`` from ``path``; ``None`` gives the defaults."""
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read configuration: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: configuration is not valid UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    tool = data.get("tool", {})
    if "tool" in data and not isinstance(tool, dict):
        raise ConfigError(f"{path}: 'tool' must be a table, got {tool!r}")
    table = tool.get("jaxpure", {}) if path.name == "pyproject.toml" else tool.get("jaxpure", data)
    return parse_table(table, path)


def parse_table(table: object, path: Path) -> Config:
    where = f"{path}: [tool.jaxpure]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s): {', '.join(unknown)} (known: {', '.join(sorted(_TOP_KEYS))})")
    runtime_table = table.get("runtime", {})
    if not isinstance(runtime_table, dict):
        raise ConfigError(f"{where}: 'runtime' must be a table")
    unknown = sorted(set(runtime_table) - _RUNTIME_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}.runtime: unknown key(s): {', '.join(unknown)} (known: {', '.join(sorted(_RUNTIME_KEYS))})"
        )
    return Config(
        select=_codes(table, "select", where),
        ignore=_codes(table, "ignore", where),
        exclude=_patterns(table, "exclude", where),
        per_file_ignores=_per_file_ignores(table, where),
        extend_transforms=_extend_transforms(table, where),
        runtime=_runtime(runtime_table, where, path.parent),
        root=path.parent.resolve(),
        source=path,
    )


def _strings(table: dict, key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: '{key}' must be a list of strings, got {value!r}")
    return tuple(value)


def _patterns(table: dict, key: str, where: str) -> tuple[str, ...]:
    from jaxpure.files.discovery import wildmatch_spec

    patterns = _strings(table, key, where)
    for pattern in patterns:
        try:
            wildmatch_spec([pattern])
        except (ValueError, re.error) as error:
            raise ConfigError(
                f"{where}: '{key}' pattern {pattern!r} is not a valid gitignore pattern ({error})"
            ) from None
    return patterns


def _codes(table: dict, key: str, where: str) -> tuple[str, ...]:
    codes = _strings(table, key, where)
    for code in codes:
        validate_code_prefix(code, f"{where}: '{key}'")
    return codes


def validate_code_prefix(code: str, where: str) -> None:
    if not (code.startswith("JP") and code[2:].isdigit() and len(code) <= 5) and code not in ("JP", "ALL"):
        raise ConfigError(f"{where}: {code!r} is not a rule code or prefix (like JP101 or JP1)")


def _per_file_ignores(table: dict, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    value = table.get("per-file-ignores", {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'per-file-ignores' must be a table of pattern = [codes]")
    pairs = []
    for pattern, codes in value.items():
        if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
            raise ConfigError(f"{where}: 'per-file-ignores' entry {pattern!r} must be a list of codes")
        for code in codes:
            validate_code_prefix(code, f"{where}: 'per-file-ignores' entry {pattern!r}")
        pairs.append((pattern, tuple(codes)))
    return tuple(pairs)


def _extend_transforms(table: dict, where: str) -> tuple[tuple[str, str], ...]:
    value = table.get("extend-transforms", {})
    if not isinstance(value, dict):
        raise ConfigError(
            f'{where}: \'extend-transforms\' must be a table of "module.name" = "staging"|"differentiation"'
        )
    pairs = []
    for name, kind in value.items():
        if kind not in TRANSFORM_KINDS:
            raise ConfigError(
                f"{where}: 'extend-transforms' entry {name!r} has kind {kind!r};"
                f" use one of {', '.join(TRANSFORM_KINDS)}"
            )
        if not all(part.isidentifier() for part in name.split(".")):
            raise ConfigError(f"{where}: 'extend-transforms' entry {name!r} is not a dotted name")
        pairs.append((name, kind))
    return tuple(sorted(pairs))


def _runtime(table: dict, where: str, folder: Path) -> RuntimeConfig:
    device = table.get("device", "cpu")
    if device not in DEVICES:
        raise ConfigError(f"{where}.runtime: 'device' must be one of {', '.join(DEVICES)}, got {device!r}")
    timeout = table.get("timeout", 60.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
        raise ConfigError(f"{where}.runtime: 'timeout' must be a positive number of seconds, got {timeout!r}")
    examples = table.get("examples")
    if examples is not None and (not isinstance(examples, str) or "\0" in examples):
        raise ConfigError(f"{where}.runtime: 'examples' must be a path string, got {examples!r}")
    run = table.get("run", [])
    if isinstance(run, str):
        run = [run]
    if not isinstance(run, list) or not all(isinstance(command, str) and command.strip() for command in run):
        raise ConfigError(f"{where}.runtime: 'run' must be a command string or a list of them, got {run!r}")
    return RuntimeConfig(
        device=device,
        timeout=float(timeout),
        examples=str((folder / examples).resolve()) if examples else None,
        run=tuple(run),
    )
