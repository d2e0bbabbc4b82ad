"""jaxpure: find the places where JAX code stops being a pure function."""

__version__ = "0.1.0"
