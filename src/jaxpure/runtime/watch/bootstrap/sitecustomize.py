"""jaxpure's watch agent, started in every Python process of a ``jaxpure check --run`` command.

This folder is put first on ``PYTHONPATH`` of the command, so Python imports
this file at start-up (``site``), in ``pytest``, ``python script.py`` and
their Python subprocesses alike. It imports jaxpure from the folder the
parent names, installs the agent, then hands over to any other
``sitecustomize`` the environment has. A failure here never stops the user's program.
"""

import os
import sys


def _start_agent():
    root = os.environ.get("JAXPURE_WATCH_ROOT")
    if not root or not os.environ.get("JAXPURE_WATCH_PLAN"):
        return
    added = root not in sys.path
    if added:
        sys.path.append(root)  # last: the user's own packages win
    try:
        from jaxpure.runtime.watch import agent

        agent.install()
    except Exception as error:  # the user's program must run anyway
        print(
            f"jaxpure: the runtime watch could not start: {type(error).__name__}: {error}",
            file=sys.stderr,
        )


def _chain():
    """Run the sitecustomize this one hides, if the environment has one."""
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in sys.path:
        if os.path.abspath(folder or ".") == here:
            continue
        candidate = os.path.join(folder or ".", "sitecustomize.py")
        if os.path.isfile(candidate):
            with open(candidate, encoding="utf-8") as source:
                exec(
                    compile(source.read(), candidate, "exec"),
                    {"__name__": "sitecustomize", "__file__": candidate},
                )
            return


_start_agent()
_chain()
