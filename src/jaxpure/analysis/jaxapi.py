"""What jaxpure knows about JAX's transforms and APIs, as data.

Every name here is fully qualified (``jax.numpy.sum``); ``names.py`` maps a
module's local spellings (``jnp.sum``, ``J``) onto these.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGING = "staging"
DIFFERENTIATION = "differentiation"


@dataclass(frozen=True, slots=True)
class Transform:
    name: str
    kind: str  # STAGING | DIFFERENTIATION
    compiling: bool = False  # the body is compiled: every jax op on it is traced
    function_args: tuple[int, ...] = (0,)  # positional arguments that are traced functions
    branch_list_arg: int | None = None  # lax.switch: a list of branch functions
    all_params_traced: bool = False  # jvp/vjp/linearize: every primal is traced
    # The body is only traced for shapes and dtypes, never run on values (eval_shape,
    # make_jaxpr): a value frozen into it (a constant seed) can never be observed.
    abstract: bool = False
    # How many positional arguments the transform itself passes to the function
    # (a scan body gets (carry, x)); parameters past them keep their defaults and
    # are not traced. None: whatever the caller passes.
    arity: int | None = None
    # lax.cond/switch pass the operands after this many leading arguments: the branch's arity
    # is how many the call site gives.
    operands_from: int | None = None
    # The positional index of ``in_axes`` (``jax.vmap(f, (0, None))``).
    in_axes_arg: int | None = None
    # Traces only the arrays among its arguments (equinox's filter transforms): other
    # leaves, and parameters of non-array types, stay static Python values.
    arrays_only: bool = False
    # The function's parameters are mutable references (a Pallas kernel's refs): writing one,
    # ``o_ref[i] = v``, is an effect JAX stages, not a Python mutation.
    ref_params: bool = False
    # A lax loop's initial carry: its position in the call, its keyword, and the position of the
    # body's parameter that receives it. A list or dict given there reaches the body as one.
    carry: tuple[int, str, int] | None = None


def _family(kind: str, compiling: bool, names: str, **extra) -> dict[str, Transform]:
    return {name: Transform(name, kind, compiling, **extra) for name in names.split()}


TRANSFORMS: dict[str, Transform] = {
    **_family(
        STAGING,
        True,
        """jax.jit jax.pmap jax.pjit jax.experimental.pjit.pjit jax.shard_map jax.experimental.shard_map.shard_map
        jax.checkpoint jax.remat jax.ad_checkpoint.checkpoint jax.ad_checkpoint.remat
        jax.export.export jax.experimental.export.export jax.experimental.jax2tf.convert
        flax.linen.jit flax.linen.scan flax.linen.remat flax.linen.checkpoint flax.linen.remat_scan
        flax.nnx.jit flax.nnx.scan flax.nnx.remat flax.nnx.shard_map""",
    ),
    **_family(
        STAGING,
        False,
        """jax.custom_jvp jax.custom_vjp jax.custom_batching.custom_vmap
        flax.linen.vmap flax.nnx.vmap flax.nnx.custom_vjp""",
    ),
    **_family(STAGING, True, "jax.eval_shape jax.make_jaxpr", abstract=True),
    **_family(STAGING, True, "equinox.filter_jit equinox.filter_pmap equinox.filter_checkpoint", arrays_only=True),
    **_family(STAGING, False, "equinox.filter_vmap", arrays_only=True),
    **_family(DIFFERENTIATION, False, "equinox.filter_grad equinox.filter_value_and_grad", arrays_only=True),
    "jax.vmap": Transform("jax.vmap", STAGING, False, in_axes_arg=1),
    # lax control flow: the bodies are staged and compiled.
    "jax.lax.scan": Transform("jax.lax.scan", STAGING, True, (0,), arity=2, carry=(1, "init", 0)),
    "jax.lax.map": Transform("jax.lax.map", STAGING, True, (0,), arity=1),
    "jax.lax.associative_scan": Transform("jax.lax.associative_scan", STAGING, True, (0,), arity=2),
    "jax.lax.cond": Transform("jax.lax.cond", STAGING, True, (1, 2), operands_from=3),
    "jax.lax.switch": Transform("jax.lax.switch", STAGING, True, (), branch_list_arg=1, operands_from=2),
    "jax.lax.fori_loop": Transform("jax.lax.fori_loop", STAGING, True, (2,), arity=2, carry=(3, "init_val", 1)),
    "jax.lax.while_loop": Transform("jax.lax.while_loop", STAGING, True, (0, 1), arity=1, carry=(2, "init_val", 0)),
    "jax.lax.custom_root": Transform("jax.lax.custom_root", STAGING, True, (0, 2, 3)),
    "jax.lax.custom_linear_solve": Transform("jax.lax.custom_linear_solve", STAGING, True, (0, 2, 3)),
    # Pallas: the kernel is traced into the kernel's jaxpr, on references (its inputs', outputs' and scratch's),
    # and so are the bodies a kernel hands its pipelines and scoped allocations.
    **_family(
        STAGING,
        True,
        """jax.experimental.pallas.pallas_call jax.experimental.pallas.kernel jax.experimental.pallas.run_scoped
        jax.experimental.pallas.tpu.emit_pipeline jax.experimental.pallas.mosaic_gpu.emit_pipeline
        jax.experimental.pallas.mosaic_gpu.kernel""",
        ref_params=True,
    ),
    **_family(
        DIFFERENTIATION,
        False,
        """jax.grad jax.value_and_grad jax.jacfwd jax.jacrev jax.hessian
        flax.nnx.grad flax.nnx.value_and_grad""",
    ),
    **_family(DIFFERENTIATION, False, "jax.jvp jax.vjp jax.linearize", all_params_traced=True),
}

# Transforms whose every build compiles again when handed a fresh function (JP502).
REBUILD_COMPILES = frozenset(
    "jax.jit jax.pmap jax.pjit jax.experimental.pjit.pjit equinox.filter_jit equinox.filter_pmap flax.nnx.jit".split()
)
# nnx.jit re-traces on every build, even of a module-level function (measured).
ALWAYS_RETRACES = frozenset({"flax.nnx.jit"})

# Blocks that JAX evaluates at trace time on purpose, on concrete values where it can: what
# they compute and cache is a constant of the trace.
COMPILE_TIME_EVAL = frozenset({"jax.ensure_compile_time_eval", "jax.core.ensure_compile_time_eval"})
# ``concrete_or_error(force, val, context)``: raises ConcretizationTypeError on a traced ``val``
# under jit and vmap (measured; under grad the primal is concrete and it passes).
CONCRETE_OR_ERROR = frozenset(
    {"jax.core.concrete_or_error", "jax.extend.core.concrete_or_error", "jax._src.core.concrete_or_error"}
)

# Calls that run their function argument on the host, on concrete NumPy values, when the
# compiled program runs: its body is Python code like any other, not traced.
HOST_CALLBACKS = frozenset(
    """jax.pure_callback jax.experimental.io_callback jax.debug.callback jax.experimental.host_callback.call
    jax.experimental.host_callback.id_tap""".split()
)

# Keyword arguments of a transform that make parameters static.
STATIC_ARGNUMS_KEYWORDS = ("static_argnums", "static_broadcasted_argnums", "nondiff_argnums")
STATIC_ARGNAMES_KEYWORDS = ("static_argnames", "nondiff_argnames")
# The static arguments a compiling transform hashes (JP503); nondiff_argnums and vmap's
# in_axes=None are static without being hashed.
HASHED_STATIC_KEYWORDS = frozenset({"static_argnums", "static_argnames", "static_broadcasted_argnums"})

# Base classes whose subclasses' methods run under transforms (SPEC §1).
MODULE_BASES: dict[str, str] = {
    "flax.linen.Module": "linen",
    "flax.linen.module.Module": "linen",
    "flax.nnx.Module": "nnx",
    "flax.nnx.module.Module": "nnx",
    "equinox.Module": "equinox",
    "haiku.Module": "haiku",
    # Where the classes are defined: what the frameworks' own modules (and code that
    # imports from them) resolve the base to.
    "equinox._module.Module": "equinox",
    "equinox._module._module.Module": "equinox",
    "haiku._src.module.Module": "haiku",
}
# ``tree_map(f, *trees)``: the result holds what ``f`` returns.
TREE_MAPS = frozenset(
    "jax.tree_util.tree_map jax.tree.map jax.tree_map jax.tree_util.tree_map_with_path jax.tree.map_with_path".split()
)
# ``tree_reduce(f, tree, initializer)``: ``f`` gets the leaves (and what it returned before).
TREE_REDUCES = frozenset("jax.tree_util.tree_reduce jax.tree.reduce".split())
ENUM_BASES = frozenset("enum.Enum enum.IntEnum enum.StrEnum enum.Flag enum.IntFlag".split())
# Registrations of a class as a pytree with a flatten function: ``(cls, flatten, unflatten)``.
PYTREE_REGISTRATIONS = frozenset("jax.tree_util.register_pytree_node jax.tree_util.register_pytree_with_keys".split())
# Annotations of values that are never arrays: a transform that traces only arrays
# (equinox's filter transforms) keeps them static.
NON_ARRAY_ANNOTATIONS = frozenset(
    """builtins.bool builtins.int builtins.float builtins.str builtins.complex builtins.bytes
    bool int float str typing.Callable collections.abc.Callable typing.Literal""".split()
)
# Methods of a Module class that no transform runs: construction, and the hooks Python and NumPy
# call to show or convert an object (``str(m)``, ``format(m)``, ``np.asarray(m)``), which run
# where the host converts it (under a trace, the print or NumPy call is the finding).
UNTRACED_MODULE_METHODS = frozenset({"__init__", "__post_init__", "__repr__", "__str__", "__format__", "__array__"})
# Python types no tracer is an instance of: ``isinstance(y, numbers.Number) and y == 0`` compares a
# Python value (measured: ``isinstance(tracer, numbers.Complex)`` is False).
# The scalar ones hold no tracer either: a value that is one is static through and through.
PYTHON_SCALAR_TYPES = frozenset(
    """builtins.int builtins.float builtins.complex builtins.bool builtins.str builtins.bytes builtins.slice
    builtins.range numbers.Number numbers.Complex numbers.Real numbers.Rational numbers.Integral""".split()
)
# Classes no tracer (and no JAX array) is an instance of, measured under jit, vmap and grad: a value
# ``isinstance`` finds to be one is a host value.
HOST_VALUE_TYPES = PYTHON_SCALAR_TYPES | frozenset(
    """numpy.ndarray numpy.generic numpy.number numpy.integer numpy.signedinteger numpy.unsignedinteger
    numpy.floating numpy.complexfloating numpy.bool_ numpy.int32 numpy.int64 numpy.float32 numpy.float64""".split()
)
PYTHON_VALUE_TYPES = PYTHON_SCALAR_TYPES | frozenset(
    "builtins.tuple builtins.list builtins.dict builtins.set builtins.frozenset".split()
)
# Arguments JAX needs as Python values (shapes, axes, ``in_axes``): a tracer there fails
# (TypeError or ConcretizationTypeError under jit, measured), so a value passed as one is a
# Python value wherever the code works. Keywords of JAX functions and array methods:
CONCRETE_KEYWORDS = frozenset("axis axes in_axes out_axes shape newshape new_sizes length".split())
# Positional ones, by function: their positions.
_SHAPE_OR_AXIS_SECOND = """reshape broadcast_to expand_dims squeeze transpose sum mean max min prod any all argmax
argmin cumsum std var""".split()
CONCRETE_POSITIONS = {
    **{f"jax.numpy.{name}": (0,) for name in ("zeros", "ones", "empty", "full")},
    **{f"jax.numpy.{name}": (1,) for name in _SHAPE_OR_AXIS_SECOND},
    "jax.numpy.moveaxis": (1, 2),
    "jax.numpy.swapaxes": (1, 2),
    "jax.random.normal": (1,),
    "jax.random.uniform": (1,),
}
# Array methods whose positional arguments are all shapes or axes (``x.reshape(n, -1)``, ``x.sum(axis)``).
CONCRETE_METHOD_ARGUMENTS = frozenset(
    "reshape transpose squeeze sum mean max min prod any all argmax argmin cumsum std var".split()
)
# What every tracer is an instance of (measured under jit): past ``not isinstance(x, Tracer)``,
# ``x`` is no tracer.
TRACER_CLASSES = frozenset({"jax.core.Tracer", "jax.extend.core.Tracer", "jax.Array"})
# The error JAX raises where a tracer meets a concretizing operation, by class name, with the names
# of the classes an ``except`` catches it by (its MRO, measured on jax 0.10): all are TypeErrors.
_JAX_TYPE_ERROR_BASES = ("JAXTypeError", "TypeError", "Exception", "BaseException")
TRACER_ERROR_CATCHERS: dict[str, frozenset[str]] = {
    "TracerBoolConversionError": frozenset(
        ("TracerBoolConversionError", "ConcretizationTypeError", *_JAX_TYPE_ERROR_BASES)
    ),  # ``if``/``while``/``and``/``assert`` on a tracer
    # int(), .tolist(), range(), a list indexed or a dict keyed by a tracer (unhashable): TypeErrors all
    "TypeError": frozenset(("TypeError", "Exception", "BaseException")),
    "TracerIntegerConversionError": frozenset(("TracerIntegerConversionError", *_JAX_TYPE_ERROR_BASES)),  # range()
    "TracerArrayConversionError": frozenset(("TracerArrayConversionError", *_JAX_TYPE_ERROR_BASES)),  # np.asarray
}
# Annotations of dicts: iterating one gives its keys, which no JAX array can be (unhashable).
MAPPING_ANNOTATIONS = frozenset(
    """builtins.dict dict typing.Dict typing.Mapping typing.MutableMapping collections.abc.Mapping
    collections.abc.MutableMapping""".split()
)
# Annotations of Python containers, by their last name (``typing.Mapping``, ``dict``): a parameter
# so annotated is indexed as a container; the truth of any of them is its length.
MUTABLE_CONTAINER_NAMES = frozenset(
    "dict list Dict List Mapping MutableMapping Sequence MutableSequence OrderedDict defaultdict".split()
)
CONTAINER_NAMES = MUTABLE_CONTAINER_NAMES | {"tuple", "Tuple"}

# Array annotations that mark a Module field or a parameter as an array.
ARRAY_ANNOTATIONS = frozenset(
    "jax.Array jax.numpy.ndarray jax.numpy.DeviceArray jaxtyping.Array jaxtyping.ArrayLike jax.typing.ArrayLike "
    "chex.Array".split()
)
JAXTYPING_DTYPES = frozenset(
    "Float Int Bool Complex Shaped Key Num Real Inexact Integer UInt Float32 Float64 Int32 Int64 UInt32 UInt8 "
    "Bool_ PRNGKeyArray".split()
)

# --- values -----------------------------------------------------------------

# Attributes of an array that are arrays themselves (an object's other attributes are its own business).
ARRAY_ATTRIBUTES = frozenset({"T", "mT", "real", "imag", "flat", "at"})

# Methods of ``jax.Array`` (``dir(jax.Array)``, JAX 0.10): a call of one on an object of unknown
# class may be an array's.
ARRAY_METHODS = frozenset(
    """addressable_data all any argmax argmin argpartition argsort astype byteswap choose clip compress conj
    conjugate copy copy_to_host_async cumprod cumsum diagonal dot flatten item max mean min nonzero prod ptp
    ravel repeat reshape round searchsorted sort squeeze std sum swapaxes take to_device trace transpose var
    view""".split()
)

# Methods that hand back what their receiver holds: an index update's (``x.at[i].set(v)``,
# ``x.at[i].get()``) and a dict's or list's accessors (``params.get("w")``, ``tree.values()``).
# Any other method of an object that is no array and of unknown class answers with a value
# jaxpure cannot know: traced only where its arguments are (SPEC §8: silence over a guess).
HOLDING_METHODS = frozenset(
    "get set add subtract multiply mul divide power apply items values pop popitem copy setdefault".split()
)

# Attributes of a tracer that are static Python values.
STATIC_ATTRIBUTES = frozenset({"shape", "ndim", "dtype", "size", "aval", "sharding", "weak_type", "itemsize", "nbytes"})

# jax functions whose result is static (a shape, a dtype, a count, a tree structure).
STATIC_JAX_FUNCTIONS = frozenset(
    """jax.numpy.shape jax.numpy.ndim jax.numpy.size jax.numpy.result_type jax.numpy.dtype jax.numpy.issubdtype
    jax.numpy.finfo jax.numpy.iinfo jax.numpy.promote_types jax.numpy.can_cast jax.numpy.isscalar
    jax.numpy.iscomplexobj jax.numpy.isrealobj jax.dtypes.issubdtype jax.dtypes.result_type
    jax.dtypes.canonicalize_dtype
    jax.tree_util.tree_structure jax.tree.structure jax.tree_util.treedef_is_leaf jax.device_count
    jax.local_device_count jax.devices jax.local_devices jax.process_index jax.process_count jax.default_backend
    jax.ShapeDtypeStruct jax.core.get_aval jax.typeof jax.eval_shape jax.lax.broadcast_shapes
    jax.numpy.broadcast_shapes jax.core.trace_state_clean jax.lax.axis_size jax.config.read jax.core.valid_jaxtype
    jax.extend.core.valid_jaxtype jax.experimental.pallas.tpu.get_tpu_info jax.core.is_concrete
    jax.experimental.pallas.mosaic_gpu.find_swizzle""".split()
)
# Transforms whose result, called, returns a description of the program, not values: a
# ``ClosedJaxpr`` (``jax.make_jaxpr(f)(x).eqns``), or shapes (``jax.eval_shape``'s ``partial`` form).
STATIC_RESULT_TRANSFORMS = frozenset({"jax.make_jaxpr"})
# Scalar types and dtypes: a tracer compared with one (``x.dtype == jnp.float32``, ``dtype !=
# jnp.dtype("int32")``) gives a Python bool (measured), so a comparison with one is static.
DTYPE_NAMES = frozenset(
    """float16 bfloat16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64 bool_ complex64
    complex128 float_ int_ complex_ inexact floating integer signedinteger unsignedinteger complexfloating
    number""".split()
)

# Flattening calls: ``leaves, treedef = jax.tree.flatten(x)``, the leaves a Python list.
TREE_FLATTENS = frozenset(
    """jax.tree_util.tree_flatten jax.tree.flatten jax.tree_util.tree_flatten_with_path
    jax.tree.flatten_with_path""".split()
)
# Calls giving a list of ``(key path, leaf)`` pairs: a key path is a tuple of ``DictKey``/
# ``SequenceKey``/``GetAttrKey`` objects, static even where the leaves are tracers.
KEY_PATH_LEAVES = frozenset({"jax.tree_util.tree_leaves_with_path", "jax.tree.leaves_with_path"})
# Calls returning a tuple with static parts, by position: ``leaves, treedef = tree_flatten(x)``
# (the structure), ``dynamic, static = eqx.partition(x, eqx.is_array)`` (the non-array leaves).
STATIC_RESULT_ELEMENTS: dict[str, frozenset[int]] = {
    name: frozenset({1}) for name in TREE_FLATTENS | {"equinox.partition"}
}

# Python builtins whose result is static whatever the argument.
STATIC_BUILTINS = frozenset(
    "len isinstance issubclass type id hasattr callable getattr str repr format hash dir vars".split()
)
# Standard-library introspection: a Python answer about an object, whatever it holds.
STATIC_STDLIB_FUNCTIONS = frozenset(
    """dataclasses.is_dataclass dataclasses.fields inspect.isclass inspect.isfunction inspect.ismethod
    inspect.signature inspect.getfullargspec inspect.isgenerator inspect.iscoroutinefunction typing.get_origin
    typing.get_args typing.get_type_hints""".split()
)
# all()/any() return a Python bool (they call bool() on each element: JP404 when
# those elements are evidently traced).
TRUTH_BUILTINS = frozenset({"all", "any"})

# Methods only Python strings (and lists/tuples: count, index) have; a JAX array has none of
# them, so the receiver is no array and the result is a plain Python value.
STR_ONLY_METHODS = frozenset(
    """capitalize casefold center count encode endswith expandtabs find format format_map index isalnum
    isalpha isascii isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle isupper
    join ljust lower lstrip partition removeprefix removesuffix rfind rindex rjust rpartition
    rsplit rstrip split splitlines startswith strip swapcase title translate upper zfill""".split()
)  # not ``replace``: a dataclass's or flax struct's ``state.replace(step=...)`` holds its fields
# Methods of sets that no JAX array has: their result is a set or a Python bool.
SET_ONLY_METHODS = frozenset(
    "difference intersection isdisjoint issubset issuperset symmetric_difference union".split()
)

# Top-level library modules: ``np.append(...)``/``np.insert(...)`` call a function of the
# library, they do not mutate an object named ``np``.
LIBRARY_MODULES = frozenset(
    "numpy jax flax equinox haiku optax scipy math cmath operator functools itertools collections os sys".split()
)

# Helpers of the JAX ecosystem that answer with a plain Python value (a bool, a list of
# leaves) whatever they are given; listed under their public names and where they are defined.
STATIC_ECOSYSTEM_FUNCTIONS = frozenset(
    """equinox.is_array equinox.is_array_like equinox.is_inexact_array equinox.is_inexact_array_like
    equinox._filters.is_array equinox._filters.is_array_like equinox._filters.is_inexact_array
    equinox._filters.is_inexact_array_like flax.nnx.is_data flax.nnx.has_data flax.nnx.pytreelib.is_data
    flax.nnx.pytreelib.has_data scipy.sparse.issparse scipy.sparse.isspmatrix""".split()
)

# flax.linen Module methods that answer questions about the Module's state with a Python bool.
LINEN_STATIC_METHODS = frozenset({"has_variable", "has_rng", "is_initializing", "is_mutable_collection"})
CONCRETIZING_BUILTINS = frozenset({"bool", "int", "float", "complex"})
# float/complex/tolist crash under differentiation too; int/bool/item work there (SPEC §7).
CONCRETIZES_UNDER_DIFFERENTIATION = frozenset({"float", "complex", "tolist"})

# --- randomness --------------------------------------------------------------

# Annotations that declare a PRNG key (``key: chex.PRNGKey``, ``jaxtyping.PRNGKeyArray``), by last part.
KEY_ANNOTATIONS = frozenset({"PRNGKey", "PRNGKeyArray", "KeyArray"})


def is_key_annotation(annotation: str | None) -> bool:
    return annotation is not None and annotation.rsplit(".", 1)[-1] in KEY_ANNOTATIONS


KEY_MAKERS = frozenset("jax.random.key jax.random.PRNGKey jax.random.wrap_key_data jax.random.clone".split())
KEY_DERIVERS = frozenset({"jax.random.fold_in"})  # a new key, the old one not consumed
KEY_SPLITTERS = frozenset({"jax.random.split"})
KEY_SOURCES = KEY_MAKERS | KEY_DERIVERS | KEY_SPLITTERS  # calls whose result is a key (or keys)
NON_CONSUMING_RANDOM = (
    KEY_MAKERS
    | KEY_DERIVERS
    | frozenset("jax.random.key_data jax.random.key_impl jax.random.default_prng_impl".split())
)


# Calls that never consume a key handed to them: Python's builtins, array, tree and debugging
# utilities, jax.random's own non-consumers (fold_in derives, key_data reads), partial application.
NON_CONSUMING_CALLS = (
    "builtins.",
    "jax.random.",
    "jax.numpy.",
    "numpy.",
    "jax.debug.",
    "jax.tree_util.",
    "jax.tree.",
    "jax.lax.",
    "jax.dtypes.",
    "jax.device_put",
    "jax.device_get",
    "jax.block_until_ready",
    "chex.assert_",  # shape, type and value checks: they read the key, never draw from it
    "functools.",
    "typing.",
    "math.",
    "copy.",
    "logging.",
    "absl.logging.",
    "warnings.",
    "jax.experimental.",
    # the constant initializers ignore their key (``zeros(key, shape)``, measured with JAX's checker)
    *(f"{module}.initializers.{name}" for module in ("jax.nn", "flax.linen", "flax.nnx") for name in ("zeros", "ones")),
    # abstract evaluation only computes shapes, it draws nothing
    *(name for name, transform in TRANSFORMS.items() if transform.abstract),
)


def is_key_consumer(name: str) -> bool:
    """Every ``jax.random`` sampler, and ``split``, consumes its key argument."""
    return name.startswith("jax.random.") and name not in NON_CONSUMING_RANDOM and name.count(".") == 2


# --- numpy -------------------------------------------------------------------

NUMPY_STATIC_FUNCTIONS = frozenset(
    """shape ndim size result_type dtype issubdtype finfo iinfo promote_types can_cast isscalar iscomplexobj
    isrealobj broadcast_shapes""".split()
)
# NumPy functions that hand a non-NumPy array to its own method (``np.sum(x)`` calls ``x.sum()``):
# they work on tracers (measured on jax 0.10.2), so they are not JP501.
NUMPY_DELEGATING_TO_METHODS = frozenset(
    """sum mean max min amax amin prod any all std var argmax argmin cumsum cumprod round around reshape
    transpose squeeze repeat swapaxes argsort""".split()
)
DATA_DEPENDENT_SHAPE_FUNCTIONS = frozenset(
    """nonzero argwhere flatnonzero unique unique_values unique_counts unique_inverse unique_all union1d
    intersect1d setdiff1d setxor1d compress extract""".split()
)
STATEFUL_RNG_MAKERS = frozenset(
    "numpy.random.default_rng numpy.random.RandomState numpy.random.Generator random.Random".split()
)
INPLACE_ARRAY_METHODS = frozenset({"fill", "resize"})
CONTAINER_MUTATORS = frozenset(
    "append extend insert remove pop popitem clear update setdefault add discard sort reverse".split()
)
# Methods that only a list/dict/set has: ``tx.update(...)`` (optax) or ``x.add`` are not evidence.
UNAMBIGUOUS_MUTATORS = frozenset("append extend insert setdefault popitem discard appendleft extendleft".split())
