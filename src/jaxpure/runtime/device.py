"""Starting JAX on the device ``--device`` names. JAX is imported in ``start_jax`` only (the child calls it)."""

from __future__ import annotations

# JAX platform names to try for each --device, in order.
CANDIDATES = {"cpu": ("cpu",), "gpu": ("cuda", "rocm"), "tpu": ("tpu",)}
INSTALL_HINTS = {"cuda": "pip install 'jax[cuda12]'", "rocm": "a ROCm build of jaxlib", "tpu": "pip install 'jax[tpu]'"}


class DeviceUnavailable(Exception):
    """JAX cannot start the requested platform here; the message says what was tried."""


def start_jax(device: str):
    """Import JAX, bring up the platform for ``device``, and return its first device."""
    import jax

    failures = []
    for platform in CANDIDATES[device]:
        jax.config.update("jax_platforms", platform)
        try:
            return jax.devices()[0]
        except Exception as error:  # JAX raises RuntimeError, or a bare AssertionError for a missing plugin
            detail = str(error).strip().splitlines()[0] if str(error).strip() else "no backend plugin found"
            failures.append(f"{platform}: {type(error).__name__}: {detail}")
    hints = " or ".join(INSTALL_HINTS[p] for p in CANDIDATES[device] if p in INSTALL_HINTS)
    raise DeviceUnavailable(
        f"--device {device}: JAX cannot start a {device.upper()} backend on this machine ({'; '.join(failures)}); "
        f"run where one is available ({hints}), or use --device cpu"
    )


def describe(device) -> str:
    """``cpu:0``, or ``cuda:0 (NVIDIA H100 80GB HBM3)`` where the kind says more than the platform."""
    name = f"{device.platform}:{device.id}"
    kind = getattr(device, "device_kind", "")
    return f"{name} ({kind})" if kind and kind.lower() != device.platform else name
