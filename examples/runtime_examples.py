"""Arguments for `jaxpure check --runtime examples/`: real inputs for the functions in train.py.

Without them jaxpure tries small float arrays, which a function taking a dict of
parameters or a list of batches cannot use (the finding is then `skipped`, saying so).
"""

import jax
import jax.numpy as jnp


def _params():
    return {"w": jnp.ones((3, 2)), "b": jnp.zeros((2,))}


EXAMPLES = {
    "train:init_params": lambda: ((jax.random.key(0), (3, 2)), {}),
    "train:train_step": lambda: ((_params(), jnp.ones((4, 3)), jnp.ones((4, 2))), {}),
    "train:train": lambda: ((_params(), [(jnp.ones((4, 3)), jnp.ones((4, 2)))] * 2), {}),
}
