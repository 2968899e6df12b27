"""PyTorch references for the throughput case: how labs train these networks today.

Every reference trains the same problem as neurodyn: the 3-bit flip-flop (pulse
probability 0.05, pulses one step long), trials drawn fresh for every step, masked MSE,
Adam. The leaky references integrate τ ḣ = −h + W tanh(h) + W_in u + b with Euler steps
of dt/τ = 0.1 and read out y = W_out tanh(h) + b_out, as neurodyn's CTRNN does; weights
are drawn as its "gain" regime draws them.

- `leaky_loop`: a hand-written loop over time steps, one network after another (the
  style of PsychRNN, NeuroGym and the timescales study's code).
- `torch_rnn`: `torch.nn.RNN` (tanh, no leak) plus a linear readout, one after another.
- `Stacked`: K leaky networks stacked on a leading axis and trained together with
  batched matmuls (`torch.bmm`): the strongest PyTorch way to train many small networks.
"""

import torch

N_BITS = 3
ALPHA = 0.1  # dt / tau


def flipflop(prefix: tuple[int, ...], n_time: int, *, p: float = 0.05, device="cpu"):
    """Flip-flop trials `[*prefix, time, bit]`: inputs, targets, mask (as neurodyn's task)."""
    shape = (*prefix, n_time, N_BITS)
    starts = torch.rand(shape, device=device) < p
    signs = torch.where(torch.rand(shape, device=device) < 0.5, 1.0, -1.0)
    pulses = torch.where(starts, signs, torch.zeros((), device=device))
    t = torch.arange(n_time, device=device).view(n_time, 1).expand(shape)
    last_start = torch.where(starts, t, -1).cummax(dim=-2).values
    seen = last_start >= 0
    targets = torch.gather(pulses, -2, last_start.clamp(min=0)) * seen
    delivering = seen & (t == last_start)
    inputs = torch.where(delivering, targets, torch.zeros((), device=device))
    mask = (seen & ~delivering).to(inputs.dtype)
    return inputs, targets, mask


def masked_mse(out, targets, mask, dims=None):
    err = (mask * (out - targets) ** 2).sum(dims) if dims else (mask * (out - targets) ** 2).sum()
    den = mask.sum(dims) if dims else mask.sum()
    return err / den.clamp(min=1.0)


def _gain_weights(*shape, fan_in, device):
    return torch.randn(*shape, device=device) / fan_in**0.5


class _Leaky(torch.nn.Module):
    def __init__(self, hidden: int, device):
        super().__init__()
        self.hidden = hidden
        self.W = torch.nn.Parameter(_gain_weights(hidden, hidden, fan_in=hidden, device=device))
        self.W_in = torch.nn.Parameter(_gain_weights(hidden, N_BITS, fan_in=N_BITS, device=device))
        self.b = torch.nn.Parameter(torch.zeros(hidden, device=device))
        self.W_out = torch.nn.Parameter(_gain_weights(N_BITS, hidden, fan_in=hidden, device=device))
        self.b_out = torch.nn.Parameter(torch.zeros(N_BITS, device=device))

    def forward(self, u):
        h = torch.zeros(u.shape[0], self.hidden, device=u.device)
        outputs = []
        for t in range(u.shape[1]):
            h = h + ALPHA * (-h + torch.tanh(h) @ self.W.T + u[:, t] @ self.W_in.T + self.b)
            outputs.append(torch.tanh(h) @ self.W_out.T + self.b_out)
        return torch.stack(outputs, dim=1)


class _RNN(torch.nn.Module):
    def __init__(self, hidden: int, device):
        super().__init__()
        self.rnn = torch.nn.RNN(N_BITS, hidden, nonlinearity="tanh", batch_first=True, device=device)
        self.readout = torch.nn.Linear(hidden, N_BITS, device=device)

    def forward(self, u):
        return self.readout(self.rnn(u)[0])


class OneAfterAnother:
    """Networks trained one after another, each for `steps` steps per repeat."""

    def __init__(self, make, hidden: int, n_networks: int, batch: int, n_time: int, steps: int, device, lr=1e-3):
        self.nets = [make(hidden, device) for _ in range(n_networks)]
        self.opts = [torch.optim.Adam(n.parameters(), lr=lr) for n in self.nets]
        self.batch, self.n_time, self.steps, self.device = batch, n_time, steps, device
        self.losses = [float("nan")] * n_networks

    def warmup(self):
        """A forward and backward pass of the first network (no optimiser step)."""
        net = self.nets[0]
        u, y, m = flipflop((self.batch,), self.n_time, device=self.device)
        masked_mse(net(u), y, m).backward()
        net.zero_grad(set_to_none=True)

    def __call__(self):
        for i, (net, opt) in enumerate(zip(self.nets, self.opts)):
            for _ in range(self.steps):
                u, y, m = flipflop((self.batch,), self.n_time, device=self.device)
                loss = masked_mse(net(u), y, m)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            self.losses[i] = loss.item()  # also waits for an accelerator

    def final_loss(self) -> float:
        return sum(self.losses) / len(self.losses)


def leaky_loop(hidden, n_networks, batch, n_time, steps, device) -> OneAfterAnother:
    return OneAfterAnother(_Leaky, hidden, n_networks, batch, n_time, steps, device)


def torch_rnn(hidden, n_networks, batch, n_time, steps, device) -> OneAfterAnother:
    return OneAfterAnother(_RNN, hidden, n_networks, batch, n_time, steps, device)


class Stacked:
    """K leaky networks as one set of stacked parameters, trained together."""

    def __init__(self, hidden: int, k: int, batch: int, n_time: int, steps: int, device, lr=1e-3):
        d = device
        self.W = torch.nn.Parameter(_gain_weights(k, hidden, hidden, fan_in=hidden, device=d))  # [K, in, out]
        self.W_in = torch.nn.Parameter(_gain_weights(k, N_BITS, hidden, fan_in=N_BITS, device=d))
        self.b = torch.nn.Parameter(torch.zeros(k, 1, hidden, device=d))
        self.W_out = torch.nn.Parameter(_gain_weights(k, hidden, N_BITS, fan_in=hidden, device=d))
        self.b_out = torch.nn.Parameter(torch.zeros(k, 1, N_BITS, device=d))
        params = [self.W, self.W_in, self.b, self.W_out, self.b_out]
        # Adam is elementwise, so one Adam over stacked parameters is K independent ones.
        self.opt = torch.optim.Adam(params, lr=lr)
        self.k, self.hidden, self.batch, self.n_time, self.steps, self.device = k, hidden, batch, n_time, steps, d
        self.loss = float("nan")

    def forward(self, u):  # u: [K, batch, time, bit]
        h = torch.zeros(self.k, u.shape[1], self.hidden, device=u.device)
        outputs = []
        for t in range(u.shape[2]):
            h = h + ALPHA * (-h + torch.bmm(torch.tanh(h), self.W) + torch.bmm(u[:, :, t], self.W_in) + self.b)
            outputs.append(torch.bmm(torch.tanh(h), self.W_out) + self.b_out)
        return torch.stack(outputs, dim=2)

    def warmup(self):
        u, y, m = flipflop((self.k, self.batch), self.n_time, device=self.device)
        masked_mse(self.forward(u), y, m, dims=(1, 2, 3)).sum().backward()
        self.opt.zero_grad(set_to_none=True)

    def __call__(self):
        for _ in range(self.steps):
            u, y, m = flipflop((self.k, self.batch), self.n_time, device=self.device)
            per_member = masked_mse(self.forward(u), y, m, dims=(1, 2, 3))
            loss = per_member.sum()  # members' gradients stay independent
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        self.loss = per_member.mean().item()

    def final_loss(self) -> float:
        return self.loss
