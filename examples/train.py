"""A small training script with the purity bugs jaxpure exists to catch.

Run ``jaxpure check examples/`` to see them; ``jaxpure check --fix --diff examples/``
shows the fixes it can make safely.
"""

import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

LEARNING_RATE = 0.1
history = []


def init_params(key, sizes):
    w = jax.random.normal(key, (sizes[0], sizes[1]))
    b = jax.random.normal(key, (sizes[1],))  # the same key again: w and b are correlated
    return {"w": w, "b": b}


def loss_fn(params, x, y):
    pred = x @ params["w"] + params["b"]
    return jnp.mean((pred - y) ** 2)


@jax.jit
def train_step(params, x, y):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    print(f"loss = {loss}")  # prints a tracer, once
    history.append(loss)  # runs at trace time only, and leaks a tracer
    if loss > 10.0:  # a Python if on a traced value
        grads = jax.tree_util.tree_map(lambda g: g / 10.0, grads)
    params = jax.tree_util.tree_map(lambda p, g: p - LEARNING_RATE * g, params, grads)
    return params, np.asarray(loss)  # NumPy cannot take a tracer


@partial(jax.jit, static_argnames="n")
def add_noise(x, n):
    seed = int(time.time())  # frozen at trace time
    return x + n * np.random.normal(size=x.shape)  # drawn once, then constant


def clip_first(x):
    x = jnp.asarray(x)
    x[0] = jnp.clip(x[0], -1.0, 1.0)  # JAX arrays are immutable
    return x


def train(params, batches):
    for x, y in batches:
        params, _ = train_step(params, x, y)
        params = jax.jit(partial(loss_fn, params))(x, y)  # recompiled every iteration
    return params


if __name__ == "__main__":
    print(jax.vmap(clip_first)(jnp.ones((2, 3))))
