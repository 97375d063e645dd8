#!/usr/bin/python3
"""Reference outputs and gradients of small Keras-Functional-style models, from PyTorch, for
tests/model/functional_golden_test.cpp.

Run with Debian's python3-torch:  /usr/bin/python3 tests/golden/make_functional_golden.py
It writes tests/golden/functional_golden.json. The C++ test reads that file; no Python at test
time. Everything is computed in float64; each case draws from its own seeded torch.Generator
(weights uniform in [-0.5, 0.5), inputs and upstream gradients standard normal).

Cases (B batch, T timesteps, F features):
  encoder_decoder  x_enc (3,5,3) -> encoder LSTM(6, return_state) -> (h, c);
                   x_dec (3,4,2) -> decoder LSTM(6, return_sequences, initial_state=[h, c])
                   -> Dense(3) on every timestep -> y (3,4,3)
  two_inputs       x_seq (4,6,2) -> LSTM(5) -> (4,5); Concatenate([that, x_static (4,3)])
                   -> (4,8) -> Dense(2) -> y (4,2)
  merge_shared     x (2,7,3); ONE LSTM(4) called on x -> a and on x reversed in time -> b;
                   Concatenate([Add(a,b), Multiply(a,b), Average(a,b)]) -> (2,12) -> Dense(2)
                   -> y (2,2); a and b are recorded as intermediates
  two_outputs      x (3,5,2) -> LSTM(4, return_sequences) -> seq (3,5,4);
                   y_last = Dense(1)(seq[:, -1, :]) (3,1); y_avg = Dense(2)(mean over T of seq) (3,2)
All Dense layers are linear (no activation).

Weights are stored in Keras's layout, which recur uses:
    LSTM  kernel           = weight_ih_l0.T          (features, 4*units)
          recurrent_kernel = weight_hh_l0.T          (units, 4*units)
          bias             = bias_ih_l0 + bias_hh_l0 (4*units,)
    Dense kernel           = Linear.weight.T         (in, out)
          bias             = Linear.bias             (out,)
Both frameworks order the LSTM gate blocks i, f, c(g), o, so no reordering is needed.
Weight names are "<layer>/<weight>"; each case's "weight_names" lists them in the order Keras's
model.get_weights() gives for the same Functional model (layers in creation/call order; per
layer kernel, recurrent_kernel, bias). A shared layer's weights appear once.

The scalar whose gradients are recorded is
    L = sum over outputs of sum(output * g_output)
with the fixed random g_output stored under "g_outputs" (the upstream gradients the C++ test
feeds to backward). "d_inputs" holds dL/d(input), "d_weights" dL/d(weight) in Keras layout:
d kernel = weight_ih.grad.T, d bias = bias_ih.grad (which equals bias_hh.grad).

Every array is stored as {"shape": [...], "data": [... row-major ...]}. Each case lists its
"input_names", "output_names" and "weight_names" in order, since JSON objects have none.
"""
import json
import os

import numpy as np
import torch

SEEDS = {"encoder_decoder": 20261201, "two_inputs": 20261202,
         "merge_shared": 20261203, "two_outputs": 20261204}


def array(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def uniform_(module, gen):
    """Sets every parameter of module, in torch's parameter order, to U[-0.5, 0.5)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=gen, dtype=torch.float64) - 0.5)
    return module


def lstm(features, units, gen):
    return uniform_(torch.nn.LSTM(features, units, batch_first=True).double(), gen)


def dense(inputs, outputs, gen):
    return uniform_(torch.nn.Linear(inputs, outputs).double(), gen)


def randn(gen, *shape, requires_grad=False):
    return torch.randn(*shape, generator=gen, dtype=torch.float64, requires_grad=requires_grad)


def keras_weights(name, layer):
    """(name, value, grad) triples of one layer in Keras's layout and order."""
    if isinstance(layer, torch.nn.LSTM):
        assert torch.allclose(layer.bias_ih_l0.grad, layer.bias_hh_l0.grad, rtol=0, atol=1e-12)
        return [(name + "/kernel", layer.weight_ih_l0.t(), layer.weight_ih_l0.grad.t()),
                (name + "/recurrent_kernel", layer.weight_hh_l0.t(), layer.weight_hh_l0.grad.t()),
                (name + "/bias", layer.bias_ih_l0 + layer.bias_hh_l0, layer.bias_ih_l0.grad)]
    return [(name + "/kernel", layer.weight.t(), layer.weight.grad.t()),
            (name + "/bias", layer.bias, layer.bias.grad)]


def finish(name, config, inputs, outputs, layers, intermediates, gen):
    """Draws g_output for every output, backpropagates L = sum(output * g_output) and packs
    the case. inputs, outputs, intermediates: lists of (name, tensor); layers: (name, module)
    in Keras's get_weights() order."""
    g = [(n, randn(gen, *y.shape)) for n, y in outputs]
    loss = sum((y * gy).sum() for (_, y), (_, gy) in zip(outputs, g))
    loss.backward()
    weights = [w for n, layer in layers for w in keras_weights(n, layer)]
    return {
        "name": name, **config,
        "input_names": [n for n, _ in inputs],
        "output_names": [n for n, _ in outputs],
        "weight_names": [n for n, _, _ in weights],
        "inputs": {n: array(x) for n, x in inputs},
        "weights": {n: array(w) for n, w, _ in weights},
        "outputs": {n: array(y) for n, y in outputs},
        "intermediates": {n: array(v) for n, v in intermediates},
        "g_outputs": {n: array(gy) for n, gy in g},
        "d_inputs": {n: array(x.grad) for n, x in inputs},
        "d_weights": {n: array(dw) for n, _, dw in weights},
    }


def encoder_decoder(gen):
    B, T_enc, F, T_dec, F_dec, U, O = 3, 5, 3, 4, 2, 6, 3
    encoder, decoder, out = lstm(F, U, gen), lstm(F_dec, U, gen), dense(U, O, gen)
    x_enc = randn(gen, B, T_enc, F, requires_grad=True)
    x_dec = randn(gen, B, T_dec, F_dec, requires_grad=True)
    _, (h, c) = encoder(x_enc)                  # h, c: (1, B, U)
    seq, _ = decoder(x_dec, (h, c))             # seq: (B, T_dec, U)
    y = out(seq)                                # y: (B, T_dec, O), Dense on the last axis
    config = {"batch": B, "encoder_timesteps": T_enc, "encoder_features": F,
              "decoder_timesteps": T_dec, "decoder_features": F_dec, "units": U, "dense_units": O}
    return finish("encoder_decoder", config, [("x_enc", x_enc), ("x_dec", x_dec)], [("y", y)],
                  [("encoder", encoder), ("decoder", decoder), ("dense", out)],
                  [("encoder_h", h[0]), ("encoder_c", c[0])], gen)


def two_inputs(gen):
    B, T, F, S, U, O = 4, 6, 2, 3, 5, 2
    rnn, out = lstm(F, U, gen), dense(U + S, O, gen)
    x_seq = randn(gen, B, T, F, requires_grad=True)
    x_static = randn(gen, B, S, requires_grad=True)
    last = rnn(x_seq)[0][:, -1, :]                       # (B, U)
    y = out(torch.cat([last, x_static], dim=-1))        # (B, U + S) -> (B, O)
    config = {"batch": B, "timesteps": T, "features": F, "static_features": S, "units": U,
              "dense_units": O}
    return finish("two_inputs", config, [("x_seq", x_seq), ("x_static", x_static)], [("y", y)],
                  [("lstm", rnn), ("dense", out)], [("lstm_out", last)], gen)


def merge_shared(gen):
    B, T, F, U, O = 2, 7, 3, 4, 2
    rnn, out = lstm(F, U, gen), dense(3 * U, O, gen)
    x = randn(gen, B, T, F, requires_grad=True)
    a = rnn(x)[0][:, -1, :]                              # (B, U)
    b = rnn(x.flip(1))[0][:, -1, :]                      # same weights, time reversed
    merged = torch.cat([a + b, a * b, (a + b) / 2], dim=-1)   # Add, Multiply, Average: (B, 3U)
    y = out(merged)                                      # (B, O)
    config = {"batch": B, "timesteps": T, "features": F, "units": U, "dense_units": O}
    return finish("merge_shared", config, [("x", x)], [("y", y)],
                  [("lstm", rnn), ("dense", out)], [("a", a), ("b", b)], gen)


def two_outputs(gen):
    B, T, F, U = 3, 5, 2, 4
    rnn, out_last, out_avg = lstm(F, U, gen), dense(U, 1, gen), dense(U, 2, gen)
    x = randn(gen, B, T, F, requires_grad=True)
    seq = rnn(x)[0]                                      # (B, T, U)
    y_last = out_last(seq[:, -1, :])                     # (B, 1)
    y_avg = out_avg(seq.mean(dim=1))                     # GlobalAveragePooling1D: (B, U) -> (B, 2)
    config = {"batch": B, "timesteps": T, "features": F, "units": U}
    return finish("two_outputs", config, [("x", x)], [("y_last", y_last), ("y_avg", y_avg)],
                  [("lstm", rnn), ("dense_last", out_last), ("dense_avg", out_avg)],
                  [("seq", seq)], gen)


def numpy_lstm(x, kernel, recurrent_kernel, bias, h, c):
    """Keras's LSTM equations, written out: x (B, T, F) -> h sequence (B, T, U), h, c."""
    U = recurrent_kernel.shape[0]
    sigmoid = lambda z: 1.0 / (1.0 + np.exp(-z))
    hs = []
    for t in range(x.shape[1]):
        z = x[:, t, :] @ kernel + h @ recurrent_kernel + bias       # (B, 4U): i, f, c, o
        i, f, zc, o = (z[:, k * U:(k + 1) * U] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(zc)
        h = sigmoid(o) * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1), h, c


def check_encoder_decoder(case):
    """Recomputes case 1's y from the stored Keras-layout weights with numpy."""
    get = lambda d, n: np.array(d[n]["data"]).reshape(d[n]["shape"])
    w = lambda n: get(case["weights"], n)
    x_enc, x_dec = get(case["inputs"], "x_enc"), get(case["inputs"], "x_dec")
    B, U = case["batch"], case["units"]
    zeros = np.zeros((B, U))
    _, h, c = numpy_lstm(x_enc, w("encoder/kernel"), w("encoder/recurrent_kernel"),
                         w("encoder/bias"), zeros, zeros)
    seq, _, _ = numpy_lstm(x_dec, w("decoder/kernel"), w("decoder/recurrent_kernel"),
                           w("decoder/bias"), h, c)
    y = seq @ w("dense/kernel") + w("dense/bias")
    err = float(np.max(np.abs(y - get(case["outputs"], "y"))))
    print("self-check: numpy LSTM from Keras-layout weights vs torch, encoder_decoder y, "
          "max abs error %.3g" % err)
    assert err < 1e-12, err


def main():
    cases = []
    for make in (encoder_decoder, two_inputs, merge_shared, two_outputs):
        gen = torch.Generator().manual_seed(SEEDS[make.__name__])
        cases.append(make(gen))
    check_encoder_decoder(cases[0])
    out = {"generator": "tests/golden/make_functional_golden.py", "torch": torch.__version__,
           "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "functional_golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", path, "with", len(cases), "cases, torch", torch.__version__)


if __name__ == "__main__":
    main()
