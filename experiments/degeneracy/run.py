"""Solution degeneracy trends (Huang et al. 2025) at small scale. NOT YET RUN: see README.md.

    python experiments/degeneracy/run.py [--quick] [--out DIR]

For each spec (channels.toml, width.toml, l1.toml): train the sweep (every network to the
same loss threshold), run `neurodyn.analysis.degeneracy` with one condition per value of
the swept axis, and compare the within-condition pairwise distances of the lowest and
highest condition with a one-sided Mann-Whitney rank test. Writes `results.md`.
"""

import argparse
import pathlib
import time
import tomllib

import numpy as np
from scipy.stats import mannwhitneyu

import neurodyn
import neurodyn.analysis as na

HERE = pathlib.Path(__file__).resolve().parent
# spec -> (axis, expected direction per measure from the lowest to the highest value)
STUDIES = {
    "channels": ("n_bits", {"dsa_distance": "down", "weight_distance": "up"}),
    "width": ("hidden_size", {"dsa_distance": "down", "weight_distance_normalised": "down"}),
    "l1": ("l1", {"dsa_distance": "down", "weight_distance": "down"}),
}
ALPHA = 0.05


def load_spec(name: str, quick: bool) -> dict:
    spec = tomllib.loads((HERE / f"{name}.toml").read_text())
    if quick:
        spec["sweep"]["seeds"] = 3
        spec["train"]["n_steps"] = 600
        spec["train"]["loss_threshold"] = 2e-2
        if name == "width":
            spec["model"]["hidden_size"] = [16, 32]
    return spec


def within(matrix: np.ndarray, codes: np.ndarray, c: int) -> np.ndarray:
    idx = np.nonzero(codes == c)[0]
    sub = matrix[np.ix_(idx, idx)]
    vals = sub[np.triu_indices(len(idx), 1)]
    return vals[np.isfinite(vals)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or HERE / ("out-quick" if args.quick else "out")
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# Degeneracy: results ({'QUICK run' if args.quick else 'full run'})", ""]
    for name, (axis, expected) in STUDIES.items():
        store = out / f"{name}.zarr"
        start = time.perf_counter()
        sweep = neurodyn.run_sweep(load_spec(name, args.quick), store, overwrite=store.exists(), progress=False).open()
        trained = time.perf_counter() - start
        ds = na.degeneracy(sweep, condition_by=[axis], rank=6, progress=False)
        codes = np.asarray(ds["member_condition"].values)
        labels = [str(c) for c in np.asarray(ds["condition"].values)]
        lines += [f"## {name} ({axis}: {' -> '.join(labels)}; trained in {trained:.0f} s)", ""]
        for measure, direction in expected.items():
            if measure not in ds:
                lines.append(f"- {measure}: not computed")
                continue
            m = np.asarray(ds[measure].values)
            low, high = within(m, codes, 0), within(m, codes, len(labels) - 1)
            alt = "greater" if direction == "down" else "less"
            p = mannwhitneyu(low, high, alternative=alt).pvalue
            lines.append(f"- Pass criterion ({name}, {measure} {direction}): median {np.median(low):.4g} -> {np.median(high):.4g}, "
                         f"one-sided Mann-Whitney p = {p:.3g} -> {'PASS' if p < ALPHA else 'FAIL'}")
        lines.append("")
    (out / "results.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
