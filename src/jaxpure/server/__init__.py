"""``jaxpure server``: the Language Server Protocol front end (needs ``pip install "jaxpure[server]"``).

A front end like the CLI: it calls ``jaxpure.api`` and lower layers, and
nothing imports it. ``app`` wires the LSP features; ``session`` schedules
checks and publishes diagnostics; ``projects`` opens one workspace per
folder; ``documents`` snapshots open files and notebooks; ``convert``,
``actions`` and ``hover`` turn findings into what the editor shows.
"""

from __future__ import annotations


def serve() -> int:
    from jaxpure.server.app import serve as run

    return run()
