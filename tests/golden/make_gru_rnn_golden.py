#!/usr/bin/python3
"""Reference GRU and SimpleRNN outputs and gradients from PyTorch, for
tests/layers/gru_rnn_golden_test.cpp.

Run with Debian's python3-torch (1.13):  /usr/bin/python3 tests/golden/make_gru_rnn_golden.py
It writes tests/golden/gru_rnn_golden.json. No Python is needed at test time.

Computed in float64 with torch.nn.GRU / torch.nn.RNN(nonlinearity="tanh"), batch_first=True, then
converted to Keras's layout, which recur uses.

GRU: PyTorch's gate blocks are (r, z, n); Keras's are (z, r, h), and Keras GRU with
reset_after=True (its default) computes the same function as PyTorch:
    kernel           = [W_iz; W_ir; W_in].T          (features, 3*units)
    recurrent_kernel = [W_hz; W_hr; W_hn].T          (units, 3*units)
    bias             = [[b_iz, b_ir, b_in], [b_hz, b_hr, b_hn]]   (2, 3*units)
SimpleRNN: kernel = weight_ih.T, recurrent_kernel = weight_hh.T, bias = bias_ih + bias_hh.
Keras's go_backwards=True is PyTorch run on x.flip(1): outputs come in processing order.

The scalar whose gradients are recorded is L = sum(output * g_output) + sum(h_n * g_h) with fixed
random g_*.
"""
import torch

from make_lstm_golden import flat, write_golden

CONFIGS = [
    # kind, name, batch, timesteps, features, units, return_sequences, go_backwards, initial_state
    ("GRU", "gru_seq_3x5x4_u7", 3, 5, 4, 7, True, False, False),
    ("GRU", "gru_last_2x1x3_u5", 2, 1, 3, 5, False, False, False),
    ("GRU", "gru_seq_state_5x9x1_u3", 5, 9, 1, 3, True, False, True),
    ("GRU", "gru_backwards_seq_state_1x13x6_u9", 1, 13, 6, 9, True, True, True),
    ("SimpleRNN", "rnn_seq_3x5x4_u7", 3, 5, 4, 7, True, False, False),
    ("SimpleRNN", "rnn_last_state_4x6x11_u2", 4, 6, 11, 2, False, False, True),
    ("SimpleRNN", "rnn_backwards_seq_2x8x3_u5", 2, 8, 3, 5, True, True, True),
]


def reorder(w, U):
    """PyTorch (r, z, n) row blocks -> Keras (z, r, h)."""
    r, z, n = w[:U], w[U:2 * U], w[2 * U:]
    return torch.cat([z, r, n], 0)


def make(kind, name, B, T, F, U, return_sequences, go_backwards, initial_state, gen):
    net = (torch.nn.GRU(F, U, batch_first=True) if kind == "GRU"
           else torch.nn.RNN(F, U, batch_first=True, nonlinearity="tanh")).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.rand(p.shape, generator=gen, dtype=torch.float64) - 0.5)
    x = torch.randn(B, T, F, generator=gen, dtype=torch.float64, requires_grad=True)
    h0 = (torch.randn(1, B, U, generator=gen, dtype=torch.float64) * 0.5).requires_grad_(True)
    xin = x.flip(1) if go_backwards else x
    seq, hn = net(xin, h0) if initial_state else net(xin)
    out = seq if return_sequences else seq[:, -1, :]
    g_out = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    g_h = torch.randn(B, U, generator=gen, dtype=torch.float64)
    loss = (out * g_out).sum() + (hn[0] * g_h).sum()
    loss.backward()
    if kind == "GRU":
        kernel = reorder(net.weight_ih_l0, U).t()
        rkernel = reorder(net.weight_hh_l0, U).t()
        bias = torch.stack([reorder(net.bias_ih_l0, U), reorder(net.bias_hh_l0, U)])
        dkernel = reorder(net.weight_ih_l0.grad, U).t()
        drkernel = reorder(net.weight_hh_l0.grad, U).t()
        dbias = torch.stack([reorder(net.bias_ih_l0.grad, U), reorder(net.bias_hh_l0.grad, U)])
    else:
        kernel, rkernel = net.weight_ih_l0.t(), net.weight_hh_l0.t()
        bias = net.bias_ih_l0 + net.bias_hh_l0
        dkernel, drkernel = net.weight_ih_l0.grad.t(), net.weight_hh_l0.grad.t()
        dbias = net.bias_ih_l0.grad  # equal to bias_hh's gradient: the summed bias's
    return {
        "kind": kind, "name": name, "batch": B, "timesteps": T, "features": F, "units": U,
        "return_sequences": return_sequences, "go_backwards": go_backwards,
        "initial_state": initial_state,
        "x": flat(x), "kernel": flat(kernel), "recurrent_kernel": flat(rkernel),
        "bias": flat(bias), "h0": flat(h0[0]),
        "output": flat(out), "h": flat(hn[0]), "g_output": flat(g_out), "g_h": flat(g_h),
        "dx": flat(x.grad), "dkernel": flat(dkernel), "drecurrent_kernel": flat(drkernel),
        "dbias": flat(dbias), "dh0": flat(h0.grad[0]) if initial_state else [],
    }


def main():
    write_golden("make_gru_rnn_golden.py", "gru_rnn_golden.json", make, CONFIGS)


if __name__ == "__main__":
    main()
