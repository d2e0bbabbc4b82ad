"""Check that a change leaves jaxpure's findings byte-identical, for performance work.

Usage (from the checkout, with ``PYTHONPATH=src:plugins``)::

    python benchmarks/same_findings.py record OUT_DIR NAME=PATH[,PATH...]...
    python benchmarks/same_findings.py compare OUT_DIR NAME=PATH[,PATH...]...

e.g. ``libs=.../optax,.../flax jax=.../jax dev=/work/shared/devcorpus``. ``record``
writes ``OUT_DIR/NAME.json``, the output of ``jaxpure check --no-cache --format
json PATH...``, before any change; ``compare`` runs the same again and says, per
name, whether the output is byte-identical (exit 1 if any differs). Each check
runs in a temporary folder with ``PYTHONPATH`` made absolute, so it is this
checkout's code that runs, not an installed jaxpure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def findings(paths: list[str], jobs: str) -> bytes:
    """``jaxpure check --no-cache --format json`` on ``paths``, as bytes."""
    entries = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(os.path.abspath(e) for e in entries if e)}
    command = [sys.executable, "-m", "jaxpure", "check", "--no-cache", "--jobs", jobs, "--format", "json", *paths]
    with tempfile.TemporaryDirectory(prefix="jaxpure-findings-") as folder:
        return subprocess.run(command, cwd=folder, env=env, capture_output=True, check=False).stdout


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("record", "compare"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, out, targets = argv[0], Path(argv[1]), argv[2:]
    out.mkdir(parents=True, exist_ok=True)
    differs = False
    for target in targets:
        name, _, paths = target.partition("=")
        text = findings([os.path.abspath(p) for p in paths.split(",")], os.environ.get("JOBS", "2"))
        recorded = out / f"{name}.json"
        if mode == "record":
            recorded.write_bytes(text)
            print(f"{name}: recorded {len(text):,} bytes")
        else:
            same = recorded.read_bytes() == text
            differs |= not same
            print(f"{name}: {'identical' if same else 'DIFFERS'}")
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
