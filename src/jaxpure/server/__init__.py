"""``jaxpure server``: the Language Server Protocol front end (needs ``pip install "jaxpure[server]"``).

A front end: it calls ``jaxpure.api`` and lower layers, and only the CLI's
``server`` subcommand imports it. ``app`` wires the LSP features; ``session`` schedules
checks and publishes diagnostics; ``projects`` opens one workspace per
folder; ``documents`` snapshots open files and notebooks; ``convert``,
``actions`` and ``hover`` turn findings into what the editor shows.
"""

from __future__ import annotations

import logging


def serve() -> int:
    logging.basicConfig(level=logging.WARNING, format="jaxpure server: %(levelname)s: %(message)s")
    from jaxpure.driver.workers import prepare_fork_server

    try:  # first: the fork server imports the analyzer while this process imports pygls
        prepare_fork_server()
    except (OSError, ValueError, RuntimeError) as error:  # workers are then spawned when needed
        logging.getLogger("jaxpure.server").warning("no fork server: %s", error)
    from jaxpure.server.app import serve as run

    return run()
