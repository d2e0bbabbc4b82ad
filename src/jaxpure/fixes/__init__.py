"""Safe automatic fixes (``jaxpure check --fix``): libcst codemods that keep every comment.

- ``is_fixable(code, node, transform)``: the driver's per-finding check (cheap: the node and its transform).
- ``fix_source(source, findings, recheck)``: rewrite a module's source, verified.
- ``fix_file(path, findings, recheck, write=...)``: the same on a file, with a
  unified diff or an atomic write.

One module per fix: ``jp101_debug_print``, ``jp2_at_update``, ``jp401_where``,
``jp501_jnp``; ``registry`` maps rule codes to them.
"""

from jaxpure.fixes.apply import FixOutcome, Recheck, fix_source
from jaxpure.fixes.files import FileFixResult, fix_file, unified_diff
from jaxpure.fixes.registry import FIXERS, is_fixable, refusal_reason

__all__ = [
    "FIXERS",
    "FileFixResult",
    "FixOutcome",
    "Recheck",
    "fix_file",
    "fix_source",
    "is_fixable",
    "refusal_reason",
    "unified_diff",
]
