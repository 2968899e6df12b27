"""Curricula and timescales on N-parity (Khajehabdollahi et al. 2024). NOT YET RUN: see README.md.

    python experiments/timescales_curriculum/run.py [--quick] [--out DIR]

Trains `single_head.toml` and `multi_head.toml` (leaky rate RNNs, per-neuron trainable τ,
N-parity from N = 2 with an advance threshold of 98 %), reads each member's curriculum
state from the store (largest N reached, the epoch each N was reached, final accuracy per
N), runs `neurodyn.analysis.timescales` (binary input, AIC-chosen exponential fits) and
writes `results.md`.
"""

import argparse
import pathlib
import time
import tomllib

import numpy as np

import neurodyn
import neurodyn.analysis as na

HERE = pathlib.Path(__file__).resolve().parent
CURRICULA = ("single_head", "multi_head")


def load_spec(name: str, quick: bool) -> dict:
    spec = tomllib.loads((HERE / f"{name}.toml").read_text())
    if quick:
        spec["model"]["hidden_size"] = 32
        spec["task"]["n_cap"] = 4
        spec["train"]["n_steps"] = 1000
        spec["train"]["batch_size"] = 64
        spec["sweep"]["seeds"] = 2
    return spec


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or HERE / ("out-quick" if args.quick else "out")
    out.mkdir(parents=True, exist_ok=True)
    reached = {}
    lines = [f"# Curricula and timescales: results ({'QUICK run' if args.quick else 'full run'})", ""]
    for name in CURRICULA:
        store = out / f"{name}.zarr"
        start = time.perf_counter()
        sweep = neurodyn.run_sweep(load_spec(name, args.quick), store, overwrite=store.exists(), progress=False).open()
        trained = time.perf_counter() - start
        tau = na.timescales(sweep, n_steps=5000 if args.quick else 20_000, burn_in=500, progress=False)
        lines += [f"## {name} (trained in {trained:.0f} s)", "",
                  "| member | seed | largest N | epoch each N was reached | final accuracy per N | learned τ mean | τ_net mean |",
                  "|---|---|---|---|---|---|---|"]
        for g in sweep.groups:
            ds = sweep.group(g).load()
            tds = tau[g]
            for pos, m in enumerate(np.asarray(ds["member"].values)):
                n_max = int(ds["curriculum_n"].values[pos])
                reached.setdefault(name, []).append(n_max)
                epochs = np.asarray(ds["curriculum_reached"].values[pos])
                acc = np.asarray(ds["curriculum_accuracy"].values[pos])
                ns = np.asarray(ds["n"].values)
                lines.append(
                    f"| {int(m)} | {int(np.asarray(sweep.members['seed'].values)[int(m)])} | {n_max} | "
                    + ", ".join(f"N{n}:{e}" for n, e in zip(ns, epochs) if e >= 0) + " | "
                    + ", ".join(f"N{n}:{100 * a:.0f}%" for n, a in zip(ns, acc) if np.isfinite(a)) + " | "
                    + f"{np.nanmean(np.asarray(tds['learned_tau'].values[pos])):.3g} | {float(tds['tau_net_mean'].values[pos]):.3g} |"
                )
        lines.append("")
    single, multi = np.asarray(reached["single_head"]), np.asarray(reached["multi_head"])
    wins = int(np.sum(multi > single[: len(multi)]))
    lines.append(f"- Pass criterion (curriculum): multi-head reaches a higher N than single-head (same seed, same steps) "
                 f"in >= 3 of 4 seeds: {wins}/{len(multi)} -> {'PASS' if wins >= 3 else 'FAIL'}")
    (out / "results.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
