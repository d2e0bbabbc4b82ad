"""The table from rule code to fixer, and the cheap check the driver makes per finding."""

from __future__ import annotations

import libcst as cst

from jaxpure.fixes import jp2_at_update, jp101_debug_print, jp401_where, jp501_jnp
from jaxpure.fixes.base import Fixer

FIXERS: dict[str, Fixer] = {
    code: fixer
    for fixer in (jp101_debug_print.FIXER, jp2_at_update.FIXER, jp401_where.FIXER, jp501_jnp.FIXER)
    for code in fixer.codes
}


def refusal_reason(code: str, node: cst.CSTNode, transform: str | None = None) -> str | None:
    """Why ``node``, flagged as ``code`` under ``transform``, has no automatic fix; ``None`` when it has one."""
    fixer = FIXERS.get(code)
    if fixer is None:
        return f"{code} has no automatic fix"
    if not isinstance(node, fixer.node_types):
        return f"{code} is fixed on {'/'.join(t.__name__ for t in fixer.node_types)} nodes, not {type(node).__name__}"
    return fixer.transform_refusal(transform) or fixer.refusal(node)


def is_fixable(code: str, node: cst.CSTNode, transform: str | None = None) -> bool:
    """Whether ``--fix`` can rewrite this finding, judged from the flagged node and its transform alone.

    A ``True`` is a promise about the node's shape; ``--fix`` can still refuse
    for reasons only the module shows (the name rebinding would not be local,
    ``jnp`` is taken, the re-check still reports the finding).
    """
    return refusal_reason(code, node, transform) is None
