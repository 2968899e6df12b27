"""Emulating a hidden Markov model from noise (Torre et al. 2025)."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax import lax
from jaxtyping import Array, Float, PRNGKeyArray

from neurodyn import _checks
from neurodyn._types import Trial
from neurodyn.tasks._base import AbstractTask, masked_mean
from neurodyn.tasks._hmm import (
    HMM,
    N_SYMBOLS,
    cyclic_hmm,
    fully_connected_hmm,
    linear_chain_hmm,
    sample_hmm,
)
from neurodyn.tasks._hmm_stats import EmissionStatistics, analytic_emission_statistics
from neurodyn.tasks._params import float_leaf
from neurodyn.tasks._sinkhorn import sinkhorn_divergence

_BUILDERS = {"linear_chain": None, "fully_connected": 3, "cyclic": 4}


def straight_through_gumbel(
    logits: Float[Array, "... classes"], *, key: PRNGKeyArray, temperature=1.0
) -> Float[Array, "... classes"]:
    """Hard one-hot samples of softmax(logits), with the gradient of the soft sample.

    y_soft = softmax((logits + g) / temperature), g ~ Gumbel(0, 1); the forward value is
    one_hot(argmax y_soft), distributed as Categorical(softmax(logits)) whatever the
    temperature; the backward pass sees y_soft (Jang et al. 2017, straight-through).
    """
    soft = jax.nn.softmax((logits + jr.gumbel(key, logits.shape)) / temperature, axis=-1)
    hard = jax.nn.one_hot(jnp.argmax(soft, axis=-1), logits.shape[-1], dtype=soft.dtype)
    return hard + (soft - lax.stop_gradient(soft))  # exactly `hard` in the forward pass


class HMMEmulation(AbstractTask):
    """Turn Gaussian noise into sequences with the emission statistics of an HMM.

    Inputs x_t ~ N(0, noise_std² I_d); targets are one-hot emission sequences `[time, 3]`
    of `hmm` (mask 1). The network's outputs are logits; training draws hard emissions
    from them by straight-through Gumbel-softmax and compares the *set* of generated
    sequences with the set of target sequences by the debiased Sinkhorn divergence
    (`batch_loss`, `loss = "sinkhorn"`): there is no per-trial target to match.

    **Arguments:**

    - `hmm`: an `HMM`, or "linear_chain", "fully_connected" or "cyclic" (docs/studies/hmm-emulation.md;
      see `linear_chain_hmm`, `fully_connected_hmm`, `cyclic_hmm`).
    - `n_states`: states of the linear chain, 2 to 5 (default 2); only with "linear_chain".
    - `n_time`: sequence length (30–100 in the study).
    - `input_size`: noise dimension d.
    - `noise_std`: input noise standard deviation (array leaf).
    - `temperature`: Gumbel-softmax temperature of the backward pass (array leaf).
    - `blur`: Sinkhorn blur, ε = blur² (array leaf).
    - `n_iter`: Sinkhorn iterations (static).

    The per-trial metric is the total-variation distance between the trial's expected
    emission frequencies (softmax averaged over time) and the HMM's analytic marginals
    (lower is better; a single HMM sequence also scores above 0). The real checks are
    set-level: `emission_statistics` of `sample_emissions` against
    `analytic_statistics()`, and `emulation_distance`. OOD doubles `n_time`.

    Reference: Torre, Viscione, Pompe, Grewe, Mante, "Mechanistic interpretability of
    RNNs emulating hidden Markov models", NeurIPS 2025.
    """

    loss: ClassVar[str] = "sinkhorn"
    metric_name: ClassVar[str] = "marginal_tv_distance"
    higher_is_better: ClassVar[bool] = False
    parameter_ranges: ClassVar[dict[str, str]] = {
        "hmm": "an HMM, or 'linear_chain', 'fully_connected', 'cyclic'",
        "n_states": "int in [2, 5], for 'linear_chain' only (default 2)",
        "n_time": "int >= 2",
        "input_size": "int >= 1",
        "noise_std": "float >= 0",
        "temperature": "float > 0",
        "blur": "float > 0",
        "n_iter": "int >= 1",
    }

    hmm: HMM
    n_steps: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    n_iter: int = eqx.field(static=True)
    noise_std: Float[Array, ""]
    temperature: Float[Array, ""]
    blur: Float[Array, ""]

    def __init__(
        self,
        hmm: HMM | str = "linear_chain",
        n_states: int | None = None,
        n_time: int = 50,
        input_size: int = 10,
        noise_std: float = 1.0,
        temperature: float = 1.0,
        blur: float = 0.2,
        n_iter: int = 100,
    ):
        owner = "HMMEmulation"
        if isinstance(hmm, str):
            _checks.choice(owner, "hmm", hmm, _BUILDERS)
            fixed = _BUILDERS[hmm]
            if fixed is not None and n_states not in (None, fixed):
                raise ValueError(
                    f"{owner}: the {hmm} HMM has {fixed} states, got n_states={n_states}; "
                    "leave n_states unset."
                )
            if hmm == "linear_chain":
                hmm = linear_chain_hmm(2 if n_states is None else n_states)
            else:
                hmm = fully_connected_hmm() if hmm == "fully_connected" else cyclic_hmm()
        elif not isinstance(hmm, HMM):
            raise TypeError(
                f"{owner}: hmm must be an HMM or one of {list(_BUILDERS)}, got {type(hmm).__name__}."
            )
        elif n_states is not None:
            raise ValueError(f"{owner}: n_states applies to hmm='linear_chain' only; leave it unset.")
        self.hmm = hmm
        self.n_steps = _checks.positive_int(owner, "n_time", n_time, minimum=2)
        self.n_inputs = _checks.positive_int(owner, "input_size", input_size)
        self.n_iter = _checks.positive_int(owner, "n_iter", n_iter)
        self.noise_std = float_leaf(owner, "noise_std", noise_std, low=0.0)
        self.temperature = float_leaf(owner, "temperature", temperature, low=0.0, low_open=True)
        self.blur = float_leaf(owner, "blur", blur, low=0.0, low_open=True)

    @property
    def input_size(self) -> int:
        return self.n_inputs

    @property
    def output_size(self) -> int:
        return N_SYMBOLS

    @property
    def n_time(self) -> int:
        return self.n_steps

    def sample(self, *, key: PRNGKeyArray, condition=None) -> Trial:
        nkey, hkey = jr.split(key)
        inputs = self.noise_std * jr.normal(nkey, (self.n_steps, self.n_inputs))
        targets = jax.nn.one_hot(sample_hmm(self.hmm, self.n_steps, key=hkey)[1], N_SYMBOLS)
        return Trial(inputs=inputs, targets=targets, mask=jnp.ones_like(targets))

    def sample_emissions(self, outputs: Float[Array, "... 3"], *, key: PRNGKeyArray):
        """Hard one-hot emissions drawn from output logits (straight-through gradient)."""
        return straight_through_gumbel(outputs, key=key, temperature=self.temperature)

    def batch_loss(
        self, outputs: Float[Array, "trial time 3"], trials: Trial, *, key: PRNGKeyArray
    ) -> Float[Array, ""]:
        """S_ε between the generated and the target sequences, each flattened one-hot."""
        n = outputs.shape[0]
        generated = self.sample_emissions(outputs, key=key).reshape(n, -1)
        target = trials.targets.reshape(n, -1)
        return sinkhorn_divergence(generated, target, blur=self.blur, n_iter=self.n_iter)

    def analytic_statistics(self) -> EmissionStatistics:
        """The HMM's exact emission statistics at this sequence length."""
        return analytic_emission_statistics(self.hmm, self.n_steps)

    def metric(self, output: Float[Array, "time 3"], trial: Trial) -> Float[Array, ""]:
        """½‖mean_t softmax(output_t) − analytic marginals‖₁ (see the class docstring)."""
        expected = jax.nn.softmax(output, axis=-1)
        frequencies = jnp.stack(
            [masked_mean(expected[:, o], trial.mask[:, o]) for o in range(N_SYMBOLS)]
        )
        return 0.5 * jnp.sum(jnp.abs(frequencies - self.analytic_statistics().marginals))

    def ood(self) -> "HMMEmulation":
        """Sequences twice as long."""
        return HMMEmulation(
            self.hmm,
            n_time=2 * self.n_steps,
            input_size=self.n_inputs,
            noise_std=self.noise_std,
            temperature=self.temperature,
            blur=self.blur,
            n_iter=self.n_iter,
        )
