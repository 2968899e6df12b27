"""One pure training step, scanned into epochs, for one network or (under vmap) many.

A `Trainer` holds everything static about how a group of networks trains (the optax
transformation, batch size, epoch length, which penalties are on); a `TrainState`
holds everything that differs between members (parameters, optimiser state with its
injected learning rate, task parameters, key, step count, done / diverged flags).
`Trainer.run` advances a state by `epochs_per_call` epochs; it is pure, so a sweep
vmaps it over stacked states and jits it once per group.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray, PyTree

from .._types import Trial
from ..models import AbstractRNN
from ..tasks import AbstractTask
from . import _losses
from ._config import TrainConfig
from ._optim import optimizer_for, set_hyperparams


class TrainState(eqx.Module):
    """Everything that differs between the members of a group."""

    model: AbstractRNN
    opt_state: PyTree
    task: AbstractTask
    key: PRNGKeyArray
    step: Int[Array, ""]
    epoch: Int[Array, ""]
    done: Bool[Array, ""]
    diverged: Bool[Array, ""]
    epochs_below: Int[Array, ""]
    n_steps: Int[Array, ""]
    loss_threshold: Float[Array, ""]
    penalties: dict[str, Float[Array, ""]]
    eval_trials: Trial
    eval_loss: Float[Array, ""]
    eval_metric: Float[Array, ""]
    curriculum: PyTree = None


class Logs(eqx.Module):
    """What one call of `Trainer.run` records: per step and per epoch."""

    loss: Float[Array, " step"]
    metric: Float[Array, " step"]
    active: Bool[Array, " step"]
    eval_loss: Float[Array, " epoch"]
    eval_metric: Float[Array, " epoch"]


def _tree_where(cond, new, old):
    return jax.tree_util.tree_map(
        lambda n, o: jnp.where(cond, n, o) if eqx.is_array(n) else n, new, old
    )


def _all_finite(tree) -> Bool[Array, ""]:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree) if eqx.is_inexact_array(x)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


class Trainer(eqx.Module):
    """The static part of training: shared by every member of a compiled group."""

    optimizer: optax.GradientTransformation = eqx.field(static=True)
    batch_size: int = eqx.field(static=True)
    eval_every: int = eqx.field(static=True)
    epochs_per_call: int = eqx.field(static=True)
    use_threshold: bool = eqx.field(static=True)
    patience: int = eqx.field(static=True)
    active_penalties: tuple[str, ...] = eqx.field(static=True)
    noise: bool = eqx.field(static=True)
    curriculum: object = eqx.field(static=True)
    bptt_chunk: int | None = eqx.field(static=True)
    time_solver: str = eqx.field(static=True)

    def __init__(
        self,
        config: TrainConfig,
        *,
        noise: bool = False,
        penalties: tuple[str, ...] | None = None,
        curriculum=None,
    ):
        self.optimizer = optimizer_for(config)
        self.batch_size = config.batch_size
        self.eval_every = config.eval_every
        self.epochs_per_call = min(config.epochs_per_call, config.n_epochs)
        self.use_threshold = config.loss_threshold is not None
        self.patience = config.patience
        if penalties is None:
            penalties = tuple(k for k, v in config.penalties().items() if v != 0)
        self.active_penalties = tuple(penalties)
        self.noise = bool(noise if config.noise is None else config.noise)
        self.bptt_chunk = config.bptt_chunk
        self.time_solver = config.time_solver
        # A curriculum (see `neurodyn.train.AbstractCurriculum`) is static: its numbers live
        # in `TrainState.curriculum`, so members advance on their own schedules.
        self.curriculum = curriculum

    # -- construction -------------------------------------------------------------
    def init(self, model: AbstractRNN, task: AbstractTask, config: TrainConfig, *, key: PRNGKeyArray) -> TrainState:
        """A fresh training state; `config`'s numbers become this member's array leaves."""
        if model.input_size != task.input_size or model.output_size != task.output_size:
            raise ValueError(
                f"model and task do not fit together: the model takes input_size="
                f"{model.input_size} and gives output_size={model.output_size}, the task "
                f"{type(task).__name__} has input_size={task.input_size} and output_size="
                f"{task.output_size}. Build the model with the task's sizes."
            )
        if self.curriculum is not None:
            task = self.curriculum.start(task)  # the start N and its trained set
        train_key, eval_key = jr.split(key)
        params, _ = eqx.partition(model, model.trainable())
        opt_state = self.optimizer.init(params)
        opt_state = set_hyperparams(opt_state, config.numeric())
        eval_trials = task.sample_batch(config.eval_batch_size, key=eval_key)
        f = jnp.asarray(0.0).dtype
        return TrainState(
            model=model,
            opt_state=opt_state,
            task=task,
            key=train_key,
            step=jnp.asarray(0, jnp.int32),
            epoch=jnp.asarray(0, jnp.int32),
            done=jnp.asarray(False),
            diverged=jnp.asarray(False),
            epochs_below=jnp.asarray(0, jnp.int32),
            n_steps=jnp.asarray(config.n_steps, jnp.int32),
            loss_threshold=jnp.asarray(
                jnp.inf if config.loss_threshold is None else config.loss_threshold, f
            ),
            penalties={k: jnp.asarray(config.penalties()[k], f) for k in self.active_penalties},
            eval_trials=eval_trials,
            eval_loss=jnp.asarray(jnp.nan, f),
            eval_metric=jnp.asarray(jnp.nan, f),
            curriculum=None if self.curriculum is None else self.curriculum.init(task),
        )

    # -- the pieces of one step ---------------------------------------------------
    def forward(self, model: AbstractRNN, trials: Trial, *, key: PRNGKeyArray | None):
        """Run the model on a batch of trials; noise only if this trainer draws it. With a
        parallel `time_solver`, each trial is solved by `neurodyn.parallel.evaluate`."""
        if self.time_solver == "scan":
            run = lambda x, k: model(x, key=k)  # noqa: E731
        else:
            from ..parallel import evaluate

            run = lambda x, k: evaluate(model, x, method=self.time_solver, key=k)[0]  # noqa: E731
        if self.noise and key is not None:
            keys = jr.split(key, trials.inputs.shape[0])
            return jax.vmap(run)(trials.inputs, keys)
        return jax.vmap(lambda x: run(x, None))(trials.inputs)

    def data_loss(self, task: AbstractTask, outputs, trials: Trial, *, key: PRNGKeyArray):
        """The task's own loss on a batch (`task.batch_loss`)."""
        return task.batch_loss(outputs, trials, key=key)

    def batch_metric(self, task: AbstractTask, outputs, trials: Trial):
        return task.batch_metric(outputs, trials)

    def light_forward(self, model: AbstractRNN, trials: Trial, *, key: PRNGKeyArray | None):
        """Outputs and the mean squared rate of a batch, with chunked rematerialisation
        (`TrainConfig.bptt_chunk`); the same numbers as `forward`."""
        run = lambda x, k: model.chunked_outputs(x, chunk=self.bptt_chunk, key=k)  # noqa: E731
        if self.noise and key is not None:
            keys = jr.split(key, trials.inputs.shape[0])
            outputs, sq = jax.vmap(run)(trials.inputs, keys)
        else:
            outputs, sq = jax.vmap(lambda x: run(x, None))(trials.inputs)
        n_time = trials.inputs.shape[1]
        return outputs, jnp.sum(sq) / (trials.inputs.shape[0] * n_time * model.hidden_size)

    def objective(self, params, static, state: TrainState, trials: Trial, key: PRNGKeyArray):
        model = eqx.combine(params, static)
        noise_key, loss_key = jr.split(key)
        if self.bptt_chunk is None:
            traj = self.forward(model, trials, key=noise_key)
            outputs = traj.output
        else:
            outputs, mean_sq_rate = self.light_forward(model, trials, key=noise_key)
        loss = self.data_loss(state.task, outputs, trials, key=loss_key)
        total = loss
        if self.active_penalties:
            weights = model.penalised_weights()
            pen = state.penalties
            if "l1" in pen:
                total = total + pen["l1"] * _losses.l1_penalty(weights)
            if "l2" in pen:
                total = total + pen["l2"] * _losses.l2_penalty(weights)
            if "nuclear" in pen:
                total = total + pen["nuclear"] * _losses.nuclear_penalty(weights)
            if "rate" in pen:
                if self.bptt_chunk is None:
                    rates = jax.vmap(jax.vmap(model.rates))(traj.state)
                    mean_sq_rate = _losses.rate_penalty(rates)
                total = total + pen["rate"] * mean_sq_rate
        return total, (loss, outputs)

    def step(self, state: TrainState) -> tuple[TrainState, tuple]:
        """One optimiser step; a member that is done or diverged is left unchanged."""
        key, batch_key, loss_key = jr.split(state.key, 3)
        trials = state.task.sample_batch(self.batch_size, key=batch_key)
        params, static = eqx.partition(state.model, state.model.trainable())
        grads, (loss, outputs) = eqx.filter_grad(self.objective, has_aux=True)(
            params, static, state, trials, loss_key
        )
        updates, opt_state = self.optimizer.update(grads, state.opt_state, params)
        new_params = eqx.apply_updates(params, updates)
        model = eqx.combine(new_params, static).constrain()
        metric = self.batch_metric(state.task, outputs, trials)

        active = ~(state.done | state.diverged)
        finite = jnp.isfinite(loss) & _all_finite(grads) & _all_finite(new_params)
        accept = active & finite
        new = TrainState(
            model=_tree_where(accept, model, state.model),
            opt_state=_tree_where(accept, opt_state, state.opt_state),
            task=state.task,
            key=key,
            step=state.step + accept.astype(state.step.dtype),
            epoch=state.epoch,
            done=state.done,
            diverged=state.diverged | (active & ~finite),
            epochs_below=state.epochs_below,
            n_steps=state.n_steps,
            loss_threshold=state.loss_threshold,
            penalties=state.penalties,
            eval_trials=state.eval_trials,
            eval_loss=state.eval_loss,
            eval_metric=state.eval_metric,
            curriculum=state.curriculum,
        )
        return new, (loss, metric, active)

    def evaluate(self, state: TrainState):
        """Loss and metric on the held-out batch (noise-free)."""
        traj = self.forward(state.model, state.eval_trials, key=None)
        loss = self.data_loss(state.task, traj.output, state.eval_trials, key=jr.fold_in(state.key, 1))
        return loss, self.batch_metric(state.task, traj.output, state.eval_trials)

    def epoch(self, state: TrainState, _=None):
        """`eval_every` steps, then evaluation and the stopping rule."""
        was_active = ~(state.done | state.diverged)

        def body(s, _):
            return self.step(s)

        state, (loss, metric, active) = jax.lax.scan(body, state, None, length=self.eval_every)
        eval_loss, eval_metric = self.evaluate(state)
        below = jnp.where(eval_loss < state.loss_threshold, state.epochs_below + 1, 0)
        done = state.step >= state.n_steps
        if self.use_threshold:
            done = done | (below >= max(self.patience, 1))
        keep = was_active & ~state.diverged
        state = eqx.tree_at(
            lambda s: (s.epoch, s.epochs_below, s.done, s.eval_loss, s.eval_metric),
            state,
            (
                state.epoch + was_active.astype(state.epoch.dtype),
                jnp.where(keep, below, state.epochs_below),
                state.done | (keep & done),
                jnp.where(keep, eval_loss, state.eval_loss),
                jnp.where(keep, eval_metric, state.eval_metric),
            ),
        )
        if self.curriculum is not None:
            cstate, task, finished = self.curriculum.update(
                state.curriculum, state.task, state.model, self.forward, key=jr.fold_in(state.key, 2)
            )
            # A member that moved on to a new N is evaluated from now on on held-out
            # trials of its new stage (same batch size, so the shapes never change).
            advanced = keep & (cstate.n != state.curriculum.n)
            fresh = task.sample_batch(state.eval_trials.inputs.shape[0], key=jr.fold_in(state.key, 3))
            state = eqx.tree_at(
                lambda s: (s.curriculum, s.task, s.done, s.eval_trials),
                state,
                (
                    _tree_where(keep, cstate, state.curriculum),
                    _tree_where(keep, task, state.task),
                    state.done | (keep & finished),
                    _tree_where(advanced, fresh, state.eval_trials),
                ),
            )
        eval_loss = jnp.where(keep, eval_loss, jnp.nan)
        eval_metric = jnp.where(keep, eval_metric, jnp.nan)
        return state, (loss, metric, active, eval_loss, eval_metric)

    def run(self, state: TrainState) -> tuple[TrainState, Logs]:
        """`epochs_per_call` epochs; pure, so it can be vmapped over members and jitted."""
        state, (loss, metric, active, eval_loss, eval_metric) = jax.lax.scan(
            self.epoch, state, None, length=self.epochs_per_call
        )
        logs = Logs(
            loss=loss.reshape(-1),
            metric=metric.reshape(-1),
            active=active.reshape(-1),
            eval_loss=eval_loss,
            eval_metric=eval_metric,
        )
        return state, logs
