"""PyTorch, eager (variant "eager") or with torch.compile applied to the whole step
(variant "compile"); torch.nn layers and torch.optim.Adam with its defaults."""

from __future__ import annotations

import os

from benchmarks import spec
from benchmarks.harness import THREADS

torch = None


def setup(variant: str) -> str:
    global torch
    cache = os.environ.get("BENCH_CACHE_DIR")
    if cache:  # inductor's on-disk cache: fresh for W7 cold, kept for warm
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.join(cache, "inductor"))
    import torch as torch_

    torch = torch_
    torch.set_num_threads(THREADS)
    try:
        torch.set_num_interop_threads(THREADS)
    except RuntimeError:  # already set by an earlier parallel region
        pass
    torch.manual_seed(spec.SEED)
    return f"torch {torch.__version__}"


def compiled(fn, ctx, **kwargs):
    return torch.compile(fn, **kwargs) if ctx.variant == "compile" else fn


def w1(ctx) -> None:
    x = torch.arange(ctx.sizes.w1_n, dtype=torch.float32)
    f = compiled(lambda x: x * 2 + 1, ctx)
    ctx.record.timing("W1", "x*2+1", "us/call", 1e6, ctx.time(lambda: f(x)))


def w2(ctx) -> None:
    x = torch.from_numpy(spec.w2_input(ctx.sizes))
    a, b = torch.tensor(spec.W2_A, dtype=torch.float32), torch.tensor(spec.W2_B, dtype=torch.float32)
    f = compiled(lambda x, a, b: torch.tanh(x * a + b) * torch.sigmoid(x) - 0.5 * x * x, ctx)
    with torch.inference_mode():
        timing = ctx.time(lambda: f(x, a, b))
    ctx.record.timing("W2", "fused", "ms/call", 1e3, timing, gbps=spec.w2_bytes(ctx.sizes) / timing["median"] / 1e9)


def mlp(sizes: spec.Sizes):
    layers = []
    for k, (fan_in, fan_out) in enumerate(zip(sizes.mlp[:-1], sizes.mlp[1:])):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if k < len(sizes.mlp) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def train_step(model, loss_fn, ctx):
    """One Adam step: forward, loss, backward, update; compiled whole for "compile"."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return compiled(step, ctx)


def w3_step(ctx):
    x, y = spec.mlp_data(ctx.sizes)
    x, y = torch.from_numpy(x), torch.from_numpy(y).long()
    step = train_step(mlp(ctx.sizes), torch.nn.functional.cross_entropy, ctx)
    return lambda: step(x, y)


def w3(ctx) -> None:
    ctx.record.timing("W3", "train step", "ms/step", 1e3, ctx.time(w3_step(ctx)))


def w4(ctx) -> None:
    model = mlp(ctx.sizes).eval()
    for batch in ctx.sizes.w4_batches:
        x = torch.from_numpy(spec.mlp_data(ctx.sizes, batch)[0])
        f = compiled(model, ctx, dynamic=False)
        with torch.inference_mode():
            ctx.record.timing("W4", *spec.w4_case(batch), ctx.time(lambda x=x, f=f: f(x)))


def w5(ctx) -> None:
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1024, 128), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(128, 10),  # the softmax is inside cross_entropy
    ).train()  # fmt: skip
    x, y = spec.cnn_data(ctx.sizes, layout="NCHW")
    x, y = torch.from_numpy(x), torch.from_numpy(y).long()
    step = train_step(model, torch.nn.functional.cross_entropy, ctx)
    ctx.record.timing("W5", "train step", "ms/step", 1e3, ctx.time(lambda: step(x, y)))


def w6(ctx) -> None:
    s = ctx.sizes

    class LSTMNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(s.lstm_vocab, s.lstm_embed)
            self.lstm = torch.nn.LSTM(s.lstm_embed, s.lstm_hidden, batch_first=True)
            self.out = torch.nn.Linear(s.lstm_hidden, 1)

        def forward(self, ids):
            _, (h, _) = self.lstm(self.embed(ids))
            return self.out(h[-1]).squeeze(-1)  # the sigmoid is inside the loss

    x, y = spec.lstm_data(s)
    x, y = torch.from_numpy(x).long(), torch.from_numpy(y)
    step = train_step(LSTMNet().train(), torch.nn.functional.binary_cross_entropy_with_logits, ctx)
    ctx.record.timing("W6", "train step", "ms/step", 1e3, ctx.time(lambda: step(x, y)))


def w7(ctx) -> None:
    ctx.compile_time(lambda: w3_step(ctx))


def w8(ctx) -> None:
    """The custom step the PyTorch way (W3's step: backward, Adam), eager or compiled."""
    case = "traced step" if ctx.variant == "compile" else "eager step"
    ctx.record.timing("W8", case, "ms/step", 1e3, ctx.time(w3_step(ctx)), how=f"torch {ctx.variant}")


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7, "W8": w8}
