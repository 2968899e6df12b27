"""The machine, the versions and the sizes each backend runs."""

import importlib.metadata
import os
import platform


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def n_cores() -> int:
    """Cores this process may run on (the affinity mask, not the whole host)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return None


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    import jax

    device = jax.devices()[0]
    return {
        "cpu_model": cpu_model(),
        "cores": n_cores(),
        "backend": jax.default_backend(),
        "device_kind": device.device_kind,
        "device_count": jax.device_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_start": load_average(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }


def versions() -> dict:
    return {p: version(p) for p in ("neurodyn", "jax", "jaxlib", "equinox", "optax", "torch", "numpy", "zarr", "xarray")}


def sizes(backend: str, smoke: bool) -> dict:
    """What each case runs on this backend.

    `grid`: (hidden, K) pairs of the throughput case; `net_steps`: network-steps per
    timed repeat at each hidden size (a repeat is at least one step of every member);
    `seq_cap`: how many of the K networks the one-after-another references train per
    repeat (their cost is additive in networks, so the rate per network-step does not
    depend on K); `steps_per_call`: training steps per compiled call.
    """
    if smoke:
        return {
            "grid": [(16, 1), (16, 2)],
            "batch": 8,
            "n_time": 10,
            "steps_per_call": 1,
            "net_steps": {16: 2},
            "seq_cap": 2,
            "compile_hidden": 16,
            "compile_K": [1, 2],
            "roofline": (16, 2),
            "matmul_n": 128,
            "chain_K": 2,
            "fp": {"hidden": 16, "candidates": 32, "n_iters": 20, "short_iters": 5, "short_newton_q": 0.1, "train_steps": 4},
            "store": {"members": 2, "trials": 2, "hidden": 16, "n_time": 10, "seeds": 1, "n_steps": 2},
            "memory": {"hidden": 16, "K": 1, "batch": 8, "n_time": [20]},
            "parallel": {"hidden": [8], "n_time": [50], "gains": [0.5], "dense_limit_mb": 64, "max_call_s": 30},
            "pairs": {"hidden": [12], "trials": 4, "n_time": 20, "rank": 4, "dsa_restarts": 2, "perm_restarts": 2,
                      "dsa_hidden": [12], "max_call_s": 30},
        }
    big = backend != "cpu"
    hidden_k = {128: [1, 8, 64], 256: [1, 8, 64], 512: [1, 8]}
    if big:
        hidden_k = {h: [1, 8, 64, 256, 1024] for h in (128, 256, 512)}
    return {
        "grid": [(h, k) for h, ks in hidden_k.items() for k in ks],
        "batch": 64,
        "n_time": 100,
        "steps_per_call": 10 if big else 1,
        "net_steps": {128: 4096, 256: 2048, 512: 1024} if big else {128: 64, 256: 32, 512: 8},
        "seq_cap": 16,
        "compile_hidden": 128,
        "compile_K": [1, 8, 64, 256, 1024] if big else [1, 8, 64],
        "roofline": (256, 64),
        "matmul_n": 8192 if big else 2048,
        "chain_K": 64,
        "fp": {"hidden": 128, "candidates": 1024, "n_iters": 5000, "short_iters": 1000, "short_newton_q": 0.1, "train_steps": 300},
        "store": {"members": 64, "trials": 16, "hidden": 128, "n_time": 100, "seeds": 4, "n_steps": 100},
        "memory": {"hidden": 128, "K": 2, "batch": 64, "n_time": [100, 1000, 10000]},
        "parallel": {
            "hidden": [32, 128],
            "n_time": [1000, 10000, 100000] if big else [1000, 10000],
            "gains": [0.5, 1.5],
            "dense_limit_mb": 16384 if big else 6144,
            "max_call_s": 60,
            "max_iter": None if big else 2000,
        },
        # the degeneracy analysis's defaults: rank 10 and 16 DSA restarts, 4 FAQ restarts
        # (the DSA operators are rank x rank whatever the width: compared at one width)
        "pairs": {"hidden": [32, 64, 128], "trials": 32, "n_time": 100, "rank": 10, "dsa_restarts": 16,
                  "perm_restarts": 4, "dsa_hidden": [64], "max_call_s": 60},
    }
