"""Which rules are on for a file: ``select``/``ignore`` and ``per-file-ignores``.

As in ruff, the most specific prefix wins: ``select = ["JP1"]`` with
``ignore = ["JP101"]`` leaves JP102–JP106 on.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from jaxpure.config import Config, ConfigError


def _best(code: str, prefixes: tuple[str, ...]) -> int:
    lengths = [0 if p in ("ALL", "JP") else len(p) for p in prefixes if p in ("ALL", "JP") or code.startswith(p)]
    return max(lengths, default=-1)


class Selection:
    def __init__(self, config: Config, select: tuple[str, ...] = (), ignore: tuple[str, ...] = ()) -> None:
        self.select = select or config.select
        self.ignore = (*config.ignore, *ignore)
        self.per_file = config.per_file_ignores
        self.root = config.root

    def enabled(self, code: str, path: str | None = None) -> bool:
        if code == "JP000":
            return True  # a file that cannot be read is always worth saying
        chosen = _best(code, self.select) if self.select else 0
        if chosen < 0 or _best(code, self.ignore) >= chosen:
            return False
        return not (path and self.per_file and code.startswith(self._per_file_codes(path)))

    def _per_file_codes(self, path: str) -> tuple[str, ...]:
        relative = _relative(Path(path), self.root)
        codes: list[str] = []
        for pattern, pattern_codes in self.per_file:
            if _matches(relative, pattern):
                codes.extend(pattern_codes)
        return tuple("" if c in ("ALL", "JP") else c for c in codes) or ("\0",)


def _relative(path: Path, root: Path | None) -> PurePosixPath:
    resolved = path.resolve() if root else path
    if root is not None:
        try:
            return PurePosixPath(resolved.relative_to(root).as_posix())
        except ValueError:
            pass
    return PurePosixPath(path.as_posix())


def _matches(path: PurePosixPath, pattern: str) -> bool:
    text = str(path)
    return (
        fnmatch.fnmatch(text, pattern)
        or fnmatch.fnmatch(path.name, pattern)
        or text.startswith(pattern.rstrip("/") + "/")
    )


def check_codes(config: Config, select: tuple[str, ...], ignore: tuple[str, ...], known: Iterable[str]) -> None:
    """Raise ``ConfigError`` naming the first code or prefix (option or configuration) that matches no rule.

    ``known``: every rule's code. As in ruff, ``--select JP999`` is a mistake to
    report, not a selection of nothing.
    """
    known = tuple(known)
    where = f"{config.source}: [tool.jaxpure]"
    named = [
        *((code, "--select") for code in select),
        *((code, "--ignore") for code in ignore),
        *((code, f"{where}: 'select'") for code in config.select),
        *((code, f"{where}: 'ignore'") for code in config.ignore),
        *(
            (code, f"{where}: 'per-file-ignores' entry {pattern!r}")
            for pattern, codes in config.per_file_ignores
            for code in codes
        ),
    ]
    for code, source in named:
        if code not in ("ALL", "JP") and not any(rule.startswith(code) for rule in known):
            raise ConfigError(f"{source}: {code!r} matches no rule (`jaxpure rules` lists them)")
