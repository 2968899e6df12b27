"""Parallel-in-time evaluation of any neurodyn model: DEER, quasi-DEER, ELK.

`evaluate(model, inputs, method=...)` returns the same `Trajectory` as `model(inputs)`
(to a tolerance) by Newton's method on the whole trajectory, each iteration a linear
recurrence solved by an associative scan in O(log T) depth, together with a
`SolveInfo`. Gradients are implicit at the solution. References: Lim et al., ICLR 2024
(DEER); Gonzalez et al., NeurIPS 2024 (quasi-DEER, ELK).
"""

from ._checks import METHODS as METHODS
from ._evaluate import evaluate as evaluate
from ._info import SolveInfo as SolveInfo
