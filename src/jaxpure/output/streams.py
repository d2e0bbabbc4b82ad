"""Writing jaxpure's own output when the reader may have gone (``jaxpure check | head -1``)."""

from __future__ import annotations

import os


def write(stream, text: str) -> None:
    """Write and flush; a reader that has gone (a broken pipe) is no error: the rest is dropped."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        drop_broken_output(stream)


def drop_broken_output(stream) -> None:
    """Point a stream whose reader has gone at /dev/null: what is still buffered must not fail
    again when Python flushes it at exit ("Exception ignored ... BrokenPipeError", status 120)."""
    try:
        descriptor = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (AttributeError, ValueError, OSError):  # not a real file (a test's StringIO)
        return
    try:
        os.dup2(devnull, descriptor)
    except OSError:
        pass
    finally:
        os.close(devnull)
