"""What a parallel-in-time solve reports alongside its trajectory."""

import equinox as eqx
from jaxtyping import Array, Bool, Float, Int


class SolveInfo(eqx.Module):
    """How a trajectory was obtained; one scalar per field (batch axes come from vmap).

    **Fields:**

    - `iterations`: Newton iterations run (accepted and rejected steps of ELK alike);
      0 when only the sequential scan ran.
    - `converged`: True when the returned trajectory solves the recurrence
      s_t = f_t(s_{t−1}) to `tol` (every |s_t,i − f_t(s_{t−1})_i| ≤ tol · max(1,
      |f_t(s_{t−1})_i|)); always True for a scanned trajectory. False after an
      unconverged solve, and for any NaN or inf residual.
    - `max_residual`: max over t and units of |s_t − f_t(s_{t−1})| for the returned
      trajectory; 0 for a scanned one, which satisfies the recurrence by construction.
    - `scanned`: True when the returned trajectory came from the sequential scan
      (`method="scan"`, or `"auto"` scanning or falling back).
    """

    iterations: Int[Array, ""]
    converged: Bool[Array, ""]
    max_residual: Float[Array, ""]
    scanned: Bool[Array, ""]
