#!/usr/bin/python3
"""Reference LSTM forward outputs and gradients from PyTorch, for tests/layers/lstm_golden_test.cpp.

Run with Debian's python3-torch (1.13):  /usr/bin/python3 tests/golden/make_lstm_golden.py
It writes tests/golden/lstm_golden.json. The C++ tests read that file; no Python at test time.

Everything is computed in float64 with torch.nn.LSTM(batch_first=True), then converted to
Keras's layout, which recur uses:
    kernel           = weight_ih_l0.T          (features, 4*units)
    recurrent_kernel = weight_hh_l0.T          (units, 4*units)
    bias             = bias_ih_l0 + bias_hh_l0 (4*units,)
Both frameworks order the gate blocks i, f, c(g), o, so no reordering is needed.
Keras's go_backwards=True is PyTorch run on x.flip(1): outputs come in processing order.

The scalar whose gradients are recorded is
    L = sum(output * g_output) + sum(h_n * g_h) + sum(c_n * g_c)
with fixed random g_*; so dL/d(output) = g_output, the upstream gradient the C++ test feeds to
backward.
"""
import json
import os

import torch

CONFIGS = [
    # name, batch, timesteps, features, units, return_sequences, go_backwards, initial_state
    ("seq_3x5x4_u7", 3, 5, 4, 7, True, False, False),
    ("last_2x1x3_u5", 2, 1, 3, 5, False, False, False),
    ("seq_state_5x9x1_u3", 5, 9, 1, 3, True, False, True),
    ("backwards_4x6x11_u2", 4, 6, 11, 2, False, True, False),
    ("backwards_seq_state_1x13x6_u9", 1, 13, 6, 9, True, True, True),
]


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def make(name, B, T, F, U, return_sequences, go_backwards, initial_state, gen):
    lstm = torch.nn.LSTM(F, U, batch_first=True).double()
    with torch.no_grad():
        for p in lstm.parameters():
            p.copy_(torch.rand(p.shape, generator=gen, dtype=torch.float64) - 0.5)
    x = torch.randn(B, T, F, generator=gen, dtype=torch.float64, requires_grad=True)
    h0 = (torch.randn(1, B, U, generator=gen, dtype=torch.float64) * 0.5).requires_grad_(True)
    c0 = (torch.randn(1, B, U, generator=gen, dtype=torch.float64) * 0.5).requires_grad_(True)
    xin = x.flip(1) if go_backwards else x
    if initial_state:
        seq, (hn, cn) = lstm(xin, (h0, c0))
    else:
        seq, (hn, cn) = lstm(xin)
    out = seq if return_sequences else seq[:, -1, :]
    g_out = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    g_h = torch.randn(B, U, generator=gen, dtype=torch.float64)
    g_c = torch.randn(B, U, generator=gen, dtype=torch.float64)
    loss = (out * g_out).sum() + (hn[0] * g_h).sum() + (cn[0] * g_c).sum()
    loss.backward()
    rec = {
        "name": name, "batch": B, "timesteps": T, "features": F, "units": U,
        "return_sequences": return_sequences, "go_backwards": go_backwards,
        "initial_state": initial_state,
        "x": flat(x), "kernel": flat(lstm.weight_ih_l0.t()),
        "recurrent_kernel": flat(lstm.weight_hh_l0.t()),
        "bias": flat(lstm.bias_ih_l0 + lstm.bias_hh_l0),
        "h0": flat(h0[0]), "c0": flat(c0[0]),
        "output": flat(out), "h": flat(hn[0]), "c": flat(cn[0]),
        "g_output": flat(g_out), "g_h": flat(g_h), "g_c": flat(g_c),
        "dx": flat(x.grad), "dkernel": flat(lstm.weight_ih_l0.grad.t()),
        "drecurrent_kernel": flat(lstm.weight_hh_l0.grad.t()),
        # bias_ih and bias_hh get the same gradient, which is dL/d(bias) of the summed bias.
        "dbias": flat(lstm.bias_ih_l0.grad),
        "dh0": flat(h0.grad[0]) if initial_state else [],
        "dc0": flat(c0.grad[0]) if initial_state else [],
    }
    return rec


def write_golden(script, json_name, make_case, configs):
    """Runs make_case(*config, gen) for every config from one seeded generator and writes the
    cases to json_name beside this script (shared with make_gru_rnn_golden.py)."""
    gen = torch.Generator().manual_seed(20261122)
    out = {"generator": "tests/golden/" + script, "torch": torch.__version__,
           "cases": [make_case(*c, gen) for c in configs]}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), json_name)
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", path, "with", len(out["cases"]), "cases, torch", torch.__version__)


def main():
    write_golden("make_lstm_golden.py", "lstm_golden.json", make, CONFIGS)


if __name__ == "__main__":
    main()
