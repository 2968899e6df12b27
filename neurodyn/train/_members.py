"""How the members of a group share the machine inside one compiled program.

A group's step is one function of one member's state. Its members are laid out in one
of two ways:

- `"vmap"`: every member at once; each matmul becomes one batched matmul
  `[member, batch, H] @ [member, H, H]`. Accelerators are built for this.
- `"map"`: members one after another inside the program (`jax.lax.map`); each matmul
  stays a plain `[batch, H] @ [H, H]`. The XLA CPU backend runs plain matmuls at its
  dense rate but batched ones at about half of it (experiments/benchmark/results.md,
  "The recurrence's matmul chain alone"), so this is the CPU's layout.

`"auto"` picks `"map"` on CPUs and `"vmap"` elsewhere. Across several devices the
member axis is split with `shard_map`, and each device lays out its own members as
above. On a CPU, `neurodyn.use_cpu_cores()` exposes each core as a device, so a sweep's
members run on all cores at once instead of one core running everything (XLA CPU does
not split a matmul of a training step's size over threads). A member axis of length 1
(a one-member group, or one member per device) runs the one-member function itself, and
a group with fewer members than devices is split over as many devices as members
(`devices_for`), not padded with copies.
"""

import os

import equinox as eqx
import jax
import numpy as np

LAYOUTS = ("auto", "vmap", "map")


def check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise ValueError(
            f"member layout {layout!r} is not one of {LAYOUTS}: 'vmap' runs all members as "
            "one batched program, 'map' one after another inside it, 'auto' picks 'map' on "
            "CPUs and 'vmap' on accelerators."
        )
    return layout


def resolve_layout(layout: str, mesh: jax.sharding.Mesh | None = None) -> str:
    """`"auto"` → `"map"` if the devices that run the group are CPUs, else `"vmap"`."""
    check_layout(layout)
    if layout != "auto":
        return layout
    platform = mesh.devices.flat[0].platform if mesh is not None else jax.default_backend()
    return "map" if platform == "cpu" else "vmap"


def _on_arrays(transform, fn, tree):
    """`transform` (lax.map, shard_map, …) applied to `fn` over the arrays of `tree`;
    non-array leaves pass around it unchanged, in and out."""
    arrays, static = eqx.partition(tree, eqx.is_array)
    out_static = []

    def inner(a):
        out_arrays, out_rest = eqx.partition(fn(eqx.combine(a, static)), eqx.is_array)
        out_static.append(out_rest)
        return out_arrays

    out = transform(inner)(arrays)
    return eqx.combine(out, out_static[0])


def over_members(fn, tree, *, layout: str = "auto", mesh: jax.sharding.Mesh | None = None):
    """Apply the one-member function `fn` to every member of `tree` (leading axis).

    **Arguments:**

    - `fn`: one member's state → one member's result (a pytree; its arrays gain the
      member axis).
    - `tree`: stacked states, every array with a leading `member` axis (divisible by the
      number of devices of `mesh`).
    - `layout`: `"auto"`, `"vmap"` or `"map"` (see the module docstring).
    - `mesh`: a one-axis mesh named `"member"` to split members over its devices; None
      runs everything where `tree` lives.
    """
    if resolve_layout(layout, mesh) == "vmap":
        batched = eqx.filter_vmap(fn)
    else:
        batched = lambda t: _on_arrays(lambda f: lambda a: jax.lax.map(f, a), fn, t)  # noqa: E731

    def run(t):
        # one member (a one-member group, or one member per device): the one-member
        # program itself, without a batched or looped program around it
        leaves = jax.tree_util.tree_leaves(eqx.filter(t, eqx.is_array))
        if leaves and all(x.shape[:1] == (1,) for x in leaves):
            return _on_arrays(_one, fn, t)
        return batched(t)

    if mesh is None or mesh.devices.size <= 1:
        return run(tree)
    spec = jax.sharding.PartitionSpec("member")
    shard = lambda f: jax.shard_map(f, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False)  # noqa: E731
    return _on_arrays(shard, run, tree)


def _one(f):
    """`f` on the single member of a member axis of length 1, the axis kept."""
    take = lambda x: x[0]  # noqa: E731
    put = lambda x: x[None]  # noqa: E731
    return lambda a: jax.tree_util.tree_map(put, f(jax.tree_util.tree_map(take, a)))


def devices_for(n: int, devices: list) -> list:
    """The devices a group of `n` members is split over: all of them, or the first `n`
    when there are fewer members than devices (padding a one-member group to two
    devices would train a copy for nothing)."""
    return list(devices)[: max(1, min(n, len(devices)))]


def padded_size(n: int, n_devices: int) -> int:
    """Members padded up to a multiple of the devices that share them."""
    return -(-n // n_devices) * n_devices


def member_mesh(devices) -> jax.sharding.Mesh | None:
    """A one-axis `"member"` mesh over `devices`; None for one device or none given."""
    if devices is None or len(devices) <= 1:
        return None
    return jax.sharding.Mesh(np.asarray(devices), ("member",))


def shard_members(tree, mesh: jax.sharding.Mesh | None):
    """Place every array of `tree` (leading member axis) split over `mesh`'s devices."""
    if mesh is None:
        return tree
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("member"))
    arrays, static = eqx.partition(tree, eqx.is_array)
    arrays = jax.tree_util.tree_map(lambda x: jax.device_put(x, sharding), arrays)
    return eqx.combine(arrays, static)


def use_cpu_cores_if_possible() -> None:
    """`use_cpu_cores()`, unless JAX has already started in this process (then keep its
    devices): what the command line and cluster jobs call first."""
    try:
        use_cpu_cores()
    except RuntimeError:
        pass


def cpu_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def use_cpu_cores(n: int | None = None) -> int:
    """Expose `n` CPU cores (default: all this process may use) as `n` JAX CPU devices.

    A sweep shards each group's members over all devices, so on a CPU-only machine this
    trains members on every core at once; it is what `neurodyn sweep` and `neurodyn demo`
    do. Call it right after `import neurodyn`, before any JAX computation (JAX fixes
    its devices when it first runs something). Accelerators are unaffected.

    **Returns:** the number of CPU devices now configured.

    **Raises:** `RuntimeError` if JAX has already started and has a different number of
    CPU devices; `ValueError` for `n < 1`.
    """
    if n is None:
        n = cpu_cores()
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"use_cpu_cores: n must be a positive integer (a number of cores), got {n!r}.")
    n = int(n)
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" in flags:
        # An explicit XLA flag wins; report what it set.
        return len(jax.devices("cpu"))
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError:
        have = len(jax.devices("cpu"))
        if have != n:
            raise RuntimeError(
                f"use_cpu_cores({n}): JAX has already started with {have} CPU device(s). Call "
                "neurodyn.use_cpu_cores() right after importing neurodyn, before any JAX "
                "computation, or set XLA_FLAGS=--xla_force_host_platform_device_count="
                f"{n} before starting Python."
            ) from None
    return n
