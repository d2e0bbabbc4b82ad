"""The one exception every fixer raises when a rewrite would not be safe."""


class Refused(Exception):
    """This node cannot be rewritten safely; ``str(error)`` says why."""
