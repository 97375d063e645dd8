#!/usr/bin/python3
"""PyTorch counterpart of recur-fit-bench (bench/fit_bench.cpp): whole training epochs in
samples per second, the same models, data shapes, batch sizes and init scheme (Keras's).

Run with Debian's python3-torch 1.13: /usr/bin/python3 bench/fit_bench_torch.py --threads 1
(scripts/bench_fit.sh runs it at each thread setting and keeps the best).

Models (padded*: 4096 sequences of 20..100 ids in [1, 10000), padded to 100;
nn.Embedding(10000, 64, padding_idx=0) -> LSTM(64) both ways -> [h_forward, h_backward] ->
Linear(128, 1) -> sigmoid, BCELoss, Adam, batch 64):
  padded        the semantics of recur's Embedding(mask_zero) -> Bidirectional(LSTM(64))
                (Keras's: each direction skips the padded steps), computed without packing: the
                forward nn.LSTM reads the post-padded ids and its output at step len-1 is taken;
                the backward nn.LSTM reads the real ids reversed, then the padding, and its
                output at step len-1 is taken. Exactly the masked result; every step of the 100
                is computed (as nn.LSTM does without packing).
  padded-pack   the same semantics the textbook way: one nn.LSTM(bidirectional=True) over
                pack_padded_sequence(lengths, enforce_sorted=False), final h of both directions.
                Torch 1.13's CPU backward through packed sequences is quadratic in the steps (a
                full-size gradient add per step: aten::add is >90% of its time), so it is far
                slower; the comparison takes torch's faster of padded and padded-pack.
  padded-nopack one nn.LSTM(bidirectional=True) over all 100 post-padded steps, final h:
                NOT the same semantics (padding enters both directions); information only.
  forecast      nn.LSTM(1, 32) -> last step -> Linear(32, 1), MSELoss, Adam; 4096 windows of
                lookback 12, batch 128.
  forecast-air  the same, 96 windows, batch 8.
Shuffling on (a new permutation every epoch), no validation, no metrics. One untimed warm-up
epoch, then --epochs timed ones (the wall time of each whole epoch).
"""
import argparse
import math
import os
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence


def keras_init_lstm(lstm):
    """Keras's LSTM init: glorot_uniform kernel (F, 4U), orthogonal recurrent kernel (U, 4U),
    zero bias with the forget gate at 1 (unit_forget_bias). PyTorch's gate order i, f, g, o is
    Keras's i, f, c, o."""
    for name, p in lstm.named_parameters():
        with torch.no_grad():
            if name.startswith("weight_ih"):
                k = torch.empty(p.shape[1], p.shape[0])  # Keras layout (F, 4U)
                nn.init.xavier_uniform_(k)
                p.copy_(k.t())
            elif name.startswith("weight_hh"):
                k = torch.empty(p.shape[1], p.shape[0])  # (U, 4U)
                nn.init.orthogonal_(k)
                p.copy_(k.t())
            elif name.startswith("bias_ih"):
                p.zero_()
                u = p.shape[0] // 4
                p[u:2 * u] = 1.0
            elif name.startswith("bias_hh"):
                p.zero_()


def keras_init_linear(lin):
    nn.init.xavier_uniform_(lin.weight)
    nn.init.zeros_(lin.bias)


class Padded(nn.Module):
    """ids: (B, 2, T): [:, 0] post-padded ids, [:, 1] the real ids reversed, then the padding."""

    def __init__(self, mode, vocab=10000, dim=64, units=64):
        super().__init__()
        self.mode = mode  # "gather", "pack" or "nopack"
        self.emb = nn.Embedding(vocab, dim, padding_idx=0)
        nn.init.uniform_(self.emb.weight, -0.05, 0.05)  # Keras's Embedding init
        with torch.no_grad():
            self.emb.weight[0].zero_()
        if mode == "gather":
            self.fwd = nn.LSTM(dim, units, batch_first=True)
            self.bwd = nn.LSTM(dim, units, batch_first=True)
            keras_init_lstm(self.fwd)
            keras_init_lstm(self.bwd)
        else:
            self.lstm = nn.LSTM(dim, units, batch_first=True, bidirectional=True)
            keras_init_lstm(self.lstm)
        self.out = nn.Linear(2 * units, 1)
        keras_init_linear(self.out)

    def forward(self, ids, lengths):
        if self.mode == "gather":
            rows = torch.arange(ids.shape[0])
            yf, _ = self.fwd(self.emb(ids[:, 0]))
            yb, _ = self.bwd(self.emb(ids[:, 1]))
            h = torch.cat([yf[rows, lengths - 1], yb[rows, lengths - 1]], dim=1)
        else:
            e = self.emb(ids[:, 0])
            if self.mode == "pack":
                e = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
            _, (hn, _) = self.lstm(e)  # (2, B, U): forward's last step, backward's first
            h = torch.cat([hn[0], hn[1]], dim=1)
        return torch.sigmoid(self.out(h)).squeeze(1)


class Forecast(nn.Module):
    def __init__(self, units=32):
        super().__init__()
        self.lstm = nn.LSTM(1, units, batch_first=True)
        keras_init_lstm(self.lstm)
        self.out = nn.Linear(units, 1)
        keras_init_linear(self.out)

    def forward(self, x, lengths=None):
        y, _ = self.lstm(x)
        return self.out(y[:, -1, :])


def padded_data(samples, seed, vocab=10000, maxlen=100):
    rng = np.random.default_rng(seed)
    ids = np.zeros((samples, 2, maxlen), dtype=np.int64)
    lengths = rng.integers(20, maxlen + 1, size=samples)
    labels = np.zeros(samples, dtype=np.float32)
    for i, n in enumerate(lengths):
        seq = rng.integers(1, vocab, size=n)
        ids[i, 0, :n] = seq  # post-padded
        ids[i, 1, :n] = seq[::-1]  # reversed, then the padding
        labels[i] = 1.0 if (seq < vocab // 2).sum() * 2 > n else 0.0
    return torch.from_numpy(ids), torch.from_numpy(lengths.astype(np.int64)), torch.from_numpy(labels)


def forecast_data(windows, seed, lookback=12):
    rng = np.random.default_rng(seed)
    t = np.arange(windows + lookback)
    s = (np.sin(2 * math.pi * t / 12.0) + 0.2 * rng.standard_normal(t.size)).astype(np.float32)
    x = np.stack([s[i:i + lookback] for i in range(windows)])[:, :, None]
    y = s[lookback:lookback + windows][:, None]
    return torch.from_numpy(np.ascontiguousarray(x)), None, torch.from_numpy(np.ascontiguousarray(y))


def make_job(name, samples, seed):
    torch.manual_seed(seed)
    modes = {"padded": "gather", "padded-pack": "pack", "padded-nopack": "nopack"}
    if name in modes:
        x, lengths, y = padded_data(samples, seed)
        return Padded(modes[name]), nn.BCELoss(), x, lengths, y, 64, 3
    if name == "forecast":
        x, lengths, y = forecast_data(samples, seed)
        return Forecast(), nn.MSELoss(), x, lengths, y, min(max(samples // 16, 8), 128), 10
    if name == "forecast-air":
        x, lengths, y = forecast_data(96, seed)
        return Forecast(), nn.MSELoss(), x, lengths, y, 8, 50
    raise SystemExit("unknown model " + name)


def epoch(model, loss_fn, opt, x, lengths, y, batch):
    n = x.shape[0]
    perm = torch.randperm(n)
    total = 0.0
    for b in range(0, n, batch):
        idx = perm[b:b + batch]
        xb, yb = x[idx], y[idx]
        lb = lengths[idx] if lengths is not None else None
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb, lb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * idx.numel()
    return total / n


def profile(model, loss_fn, opt, x, lengths, y, batch, batches, fit_s_per_batch, name):
    """Forward, backward and step times per batch (first `batches` batches, after one pass)."""
    t = {"forward": 0.0, "backward": 0.0, "step": 0.0}
    for p in range(2):
        for b in range(batches):
            s = slice(b * batch, (b + 1) * batch)
            lb = lengths[s] if lengths is not None else None
            opt.zero_grad(set_to_none=True)
            t0 = time.perf_counter()
            loss = loss_fn(model(x[s], lb), y[s])
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            if p == 1:
                t["forward"] += t1 - t0
                t["backward"] += t2 - t1
                t["step"] += t3 - t2
    ms = 1e3 / batches
    total = sum(t.values()) * ms
    print(f"PROFILE impl=torch model={name} batch={batch} batches={batches} "
          f"forward_ms={t['forward'] * ms:.3f} backward_ms={t['backward'] * ms:.3f} "
          f"step_ms={t['step'] * ms:.3f} sum_ms={total:.3f} fit_ms_per_batch={fit_s_per_batch * 1e3:.3f}",
          flush=True)


def check_equivalence(seed=3):
    """padded (gather) and padded-pack are the same function: copy one's weights into the other
    and compare outputs and embedding gradients on 32 sequences."""
    x, lengths, _ = padded_data(32, seed)
    torch.manual_seed(seed)
    p, g = Padded("pack"), Padded("gather")
    g.emb.load_state_dict(p.emb.state_dict())
    g.out.load_state_dict(p.out.state_dict())
    sd = p.lstm.state_dict()
    g.fwd.load_state_dict({k: v for k, v in sd.items() if not k.endswith("_reverse")})
    g.bwd.load_state_dict({k[: -len("_reverse")]: v for k, v in sd.items() if k.endswith("_reverse")})
    a, b = p(x, lengths), g(x, lengths)
    a.sum().backward()
    b.sum().backward()
    dy = (a - b).abs().max().item()
    dg = (p.emb.weight.grad - g.emb.weight.grad).abs().max().item()
    print(f"CHECK padded vs padded-pack: max |output diff| {dy:.3g}, max |embedding grad diff| {dg:.3g}")
    return dy < 1e-6 and dg < 1e-6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="padded,forecast,forecast-air")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--epochs", type=int, default=0,
                    help="timed epochs after one warm-up (0: padded 3, forecast 10, forecast-air 50)")
    ap.add_argument("--samples", type=int, default=4096)
    ap.add_argument("--profile", type=int, default=0, help="also time forward/backward/step over N batches")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check", action="store_true", help="only check that padded == padded-pack")
    a = ap.parse_args()
    if a.check:
        raise SystemExit(0 if check_equivalence() else 1)

    torch.set_num_threads(a.threads)
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"CPU {cpu}; torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={blas}", flush=True)
    for name in a.models.split(","):
        model, loss_fn, x, lengths, y, batch, epochs = make_job(name, a.samples, a.seed)
        if a.epochs > 0:
            epochs = a.epochs
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)  # Keras's Adam defaults
        model.train()
        times = []
        for e in range(epochs + 1):
            t0 = time.perf_counter()
            loss = epoch(model, loss_fn, opt, x, lengths, y, batch)
            s = time.perf_counter() - t0
            if e > 0:
                times.append(s)
                print(f"EPOCH impl=torch model={name} epoch={e} seconds={s:.4f} "
                      f"samples_per_s={x.shape[0] / s:.1f} loss={loss:.4f}", flush=True)
        med = statistics.median(times)
        print(f"RESULT impl=torch model={name} samples={x.shape[0]} batch={batch} epochs={epochs} "
              f"threads={a.threads} blas_threads={blas} median_s={med:.4f} "
              f"samples_per_s={x.shape[0] / med:.1f}", flush=True)
        if a.profile > 0:
            nb = (x.shape[0] + batch - 1) // batch
            profile(model, loss_fn, opt, x, lengths, y, batch, min(a.profile, nb), med / nb, name)


if __name__ == "__main__":
    main()
