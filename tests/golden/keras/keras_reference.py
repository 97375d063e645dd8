#!/usr/bin/python3
"""A float64 numpy reference of Keras's inference semantics, plus readers for Keras model files.

Written from the layer equations (shared/interop/KERAS-FORMATS.md section 1) and from Keras's own
source (keras-team/keras: keras/src/layers/rnn/{lstm,gru,simple_rnn,rnn,bidirectional}.py,
keras/src/backend/numpy/rnn.py, keras/src/layers/pooling/global_average_pooling1d.py, and the
legacy keras/engine/saving.py / hdf5_format.py for the Keras 1/2 weight conversions). No Keras or
TensorFlow is needed: only numpy and h5py (Debian's python3-numpy, python3-h5py).

    /usr/bin/python3 tests/golden/keras/keras_reference.py            # self-check against the
                                                                      # three Keras-computed goldens
    /usr/bin/python3 tests/golden/keras/keras_reference.py --torch    # also cross-check LSTM/GRU
                                                                      # against torch.nn (optional)

Semantics implemented (Keras 1.2 through 3.x, inference only):
  * Dense, Activation, Dropout (identity), Masking, Embedding (+ mask_zero), Flatten,
    GlobalAveragePooling1D (Keras 3: averages unmasked steps only), GlobalMaxPooling1D (ignores
    the mask), TimeDistributed(Dense), Concatenate, Add, Subtract, Multiply, Average, Maximum,
    Minimum, RepeatVector, Reshape.
  * LSTM (gates i, f, c, o), GRU (z, r, h; reset_after True and False), SimpleRNN, CuDNNLSTM and
    CuDNNGRU (converted as Keras's `_convert_rnn_weights` does), Keras 1 LSTM (12 arrays stored
    i, c, f, o) and GRU (9 arrays z, r, h).
  * go_backwards (outputs stay in processing order, i.e. reversed), return_sequences,
    return_state, initial_state, masks: a masked step keeps the states; its output is the previous
    output (zeros before the first unmasked step) with zero_output_for_mask=False and zeros with
    True.
  * Bidirectional: forward weights then backward weights; the backward output is re-reversed in
    time when return_sequences; merge_mode concat/sum/mul/ave; zero_output_for_mask is forced to
    return_sequences on both halves (Keras 3 and tf.keras do this).
  * hard_sigmoid: clip(0.2x + 0.5, 0, 1) for files written by Keras 1, 2 and tf.keras;
    clip(x/6 + 0.5, 0, 1) for Keras 3, chosen from the file's keras_version.

Readers: legacy HDF5 model files (`model_config` + `model_weights`), Keras 2 `save_weights` .h5
(layer groups at the root), Keras 3 `.keras` zips (weights addressed by class-name paths such as
`layers/lstm_1/cell/vars/0`) and Keras 3 `.weights.h5`.
"""
import io
import json
import re
import sys
import zipfile

import numpy as np

try:
    import h5py
except ImportError:  # pragma: no cover - only the readers need h5py
    h5py = None


# The reference computes in float64. `compute_dtype(np.float32)` runs the very same code in
# float32, which make_keras_files.py uses to size each case's tolerance (a float32
# implementation's expected rounding error).
_FLOAT = np.float64


def compute_dtype(dtype):
    """Sets the floating type of every computation; returns the previous one."""
    global _FLOAT
    previous, _FLOAT = _FLOAT, dtype
    return previous


# --------------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------------

def keras_major(version):
    """'1.2.2' -> 1, '2.2.4-tf' -> 2, '3.8.0' -> 3; None (unknown) -> 3."""
    if version is None:
        return 3
    m = re.match(r"\s*(\d+)", str(version))
    return int(m.group(1)) if m else 3


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def activation(name, major):
    """The activation function `name` as the Keras generation `major` defines it."""
    if isinstance(name, dict):  # {"class_name": "...", ...} forms of serialized functions
        name = name.get("config", name.get("class_name"))
    if name is None or name == "linear":
        return lambda x: x
    table = {
        "relu": lambda x: np.maximum(x, 0.0),
        "relu6": lambda x: np.clip(x, 0.0, 6.0),
        "tanh": np.tanh,
        "sigmoid": _sigmoid,
        "softmax": _softmax,
        "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
        "selu": lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
        "softplus": lambda x: np.logaddexp(0.0, x),
        "softsign": lambda x: x / (1.0 + np.abs(x)),
        "exponential": np.exp,
        "swish": lambda x: x * _sigmoid(x),
        "silu": lambda x: x * _sigmoid(x),
    }
    if name == "hard_sigmoid":
        if major >= 3:
            return lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0)  # Keras 3: relu6(x + 3) / 6
        return lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0)     # Keras 1/2, tf.keras
    if name not in table:
        raise ValueError("unsupported activation %r" % (name,))
    return table[name]


# --------------------------------------------------------------------------------------------
# Recurrent layers
# --------------------------------------------------------------------------------------------

def rnn_config(cfg):
    """Normalize a Keras 1/2/3 recurrent layer config to one dict of the options used here."""
    return {
        "units": cfg.get("units", cfg.get("output_dim")),
        "activation": cfg.get("activation", "tanh"),
        "recurrent_activation": cfg.get("recurrent_activation",
                                        cfg.get("inner_activation", "sigmoid")),
        "use_bias": cfg.get("use_bias", True),
        "return_sequences": bool(cfg.get("return_sequences", False)),
        "return_state": bool(cfg.get("return_state", False)),
        "go_backwards": bool(cfg.get("go_backwards", False)),
        "zero_output_for_mask": bool(cfg.get("zero_output_for_mask", False)),
        "reset_after": bool(cfg.get("reset_after", False)),
    }


def _cell_step(kind, weights, opts, major):
    """Returns step(x_t, states) -> (output, new_states) for one recurrent cell."""
    kernel = weights[0]
    recurrent = weights[1]
    bias = weights[2] if len(weights) > 2 else None
    units = recurrent.shape[0]
    act = activation(opts["activation"], major)
    ract = activation(opts["recurrent_activation"], major)

    if kind == "LSTM":
        def step(x, states):
            h, c = states
            z = x @ kernel + h @ recurrent             # (B, 4U) gate blocks i, f, c, o
            if bias is not None:
                z = z + bias
            i = ract(z[:, :units])
            f = ract(z[:, units:2 * units])
            c_new = f * c + i * act(z[:, 2 * units:3 * units])
            o = ract(z[:, 3 * units:])
            h_new = o * act(c_new)
            return h_new, [h_new, c_new]
        return step, 2

    if kind == "GRU":
        if opts["reset_after"]:
            if bias is not None:
                b_in, b_rec = bias[0], bias[1]          # bias (2, 3U): input row, recurrent row
            else:
                b_in = b_rec = np.zeros(3 * units, dtype=_FLOAT)

            def step(x, states):
                (h,) = states
                mx = x @ kernel + b_in                  # (B, 3U) blocks z, r, h
                mi = h @ recurrent + b_rec
                z = ract(mx[:, :units] + mi[:, :units])
                r = ract(mx[:, units:2 * units] + mi[:, units:2 * units])
                hh = act(mx[:, 2 * units:] + r * mi[:, 2 * units:])
                h_new = z * h + (1.0 - z) * hh
                return h_new, [h_new]
        else:
            b = bias if bias is not None else np.zeros(3 * units, dtype=_FLOAT)   # bias (3U,)

            def step(x, states):
                (h,) = states
                mx = x @ kernel + b
                mi = h @ recurrent[:, :2 * units]
                z = ract(mx[:, :units] + mi[:, :units])
                r = ract(mx[:, units:2 * units] + mi[:, units:])
                hh = act(mx[:, 2 * units:] + (r * h) @ recurrent[:, 2 * units:])
                h_new = z * h + (1.0 - z) * hh
                return h_new, [h_new]
        return step, 1

    if kind == "SimpleRNN":
        def step(x, states):
            (h,) = states
            z = x @ kernel + h @ recurrent
            if bias is not None:
                z = z + bias
            h_new = act(z)
            return h_new, [h_new]
        return step, 1

    raise ValueError("unknown recurrent kind %r" % kind)


def run_rnn(kind, x, weights, opts, major, mask=None, initial_state=None):
    """Runs one Keras recurrent layer.

    x: (B, T, F); mask: (B, T) bool or None; initial_state: list of (B, U) or None.
    Returns (outputs, last_output, states): outputs (B, T, U) in processing order (reversed in
    time when go_backwards, exactly as Keras returns them), last_output (B, U), states list.
    """
    x = np.asarray(x, dtype=_FLOAT)
    batch, timesteps = x.shape[0], x.shape[1]
    step, n_states = _cell_step(kind, weights, opts, major)
    units = weights[1].shape[0]
    if initial_state is None:
        states = [np.zeros((batch, units), dtype=_FLOAT) for _ in range(n_states)]
    else:
        states = [np.asarray(s, dtype=_FLOAT) for s in initial_state]
    order = range(timesteps - 1, -1, -1) if opts["go_backwards"] else range(timesteps)
    prev_output = np.zeros((batch, units), dtype=_FLOAT)
    outputs = []
    for t in order:
        out, new_states = step(x[:, t, :], states)
        if mask is not None:
            m = np.asarray(mask[:, t], dtype=bool)[:, None]
            out = np.where(m, out, 0.0 if opts["zero_output_for_mask"] else prev_output)
            new_states = [np.where(m, ns, s) for ns, s in zip(new_states, states)]
        prev_output = out
        states = new_states
        outputs.append(out)
    seq = np.stack(outputs, axis=1)
    return seq, outputs[-1], states


def rnn_layer(kind, cfg, weights, x, major, mask=None, initial_state=None, force_zero_output=None):
    """A whole RNN layer: returns (list of output tensors, list of their masks)."""
    opts = rnn_config(cfg)
    if force_zero_output is not None:
        opts["zero_output_for_mask"] = force_zero_output
    seq, last, states = run_rnn(kind, x, weights, opts, major, mask, initial_state)
    out = seq if opts["return_sequences"] else last
    out_mask = mask if opts["return_sequences"] else None
    if opts["return_state"]:
        return [out] + list(states), [out_mask] + [None] * len(states)
    return [out], [out_mask]


# --------------------------------------------------------------------------------------------
# Weight conversions (Keras 1, CuDNN) -> canonical [kernel, recurrent_kernel, bias]
# --------------------------------------------------------------------------------------------

def _cudnn_to_keras_kernel(kernel, n_gates):
    """Per gate block k (F, U) stored by CuDNN layers: k.T.reshape(k.shape, order='F')."""
    return np.hstack([k.T.reshape(k.shape, order="F") for k in np.hsplit(kernel, n_gates)])


def _transpose_blocks(kernel, n_gates):
    return np.hstack([k.T for k in np.hsplit(kernel, n_gates)])


def canonical_rnn_weights(class_name, cfg, arrays):
    """Returns (kind, cfg, [kernel, recurrent_kernel, (bias)]) in the Keras 2/3 layout."""
    arrays = [np.asarray(a, dtype=_FLOAT) for a in arrays]
    if class_name == "LSTM" and len(arrays) == 12:
        # Keras 1: W_i, U_i, b_i, W_c, U_c, b_c, W_f, U_f, b_f, W_o, U_o, b_o -> i, f, c, o
        w = arrays
        arrays = [np.concatenate([w[0], w[6], w[3], w[9]], axis=-1),
                  np.concatenate([w[1], w[7], w[4], w[10]], axis=-1),
                  np.concatenate([w[2], w[8], w[5], w[11]], axis=-1)]
    elif class_name == "GRU" and len(arrays) == 9:
        # Keras 1: W_z, U_z, b_z, W_r, U_r, b_r, W_h, U_h, b_h (reset before the product)
        w = arrays
        arrays = [np.concatenate([w[0], w[3], w[6]], axis=-1),
                  np.concatenate([w[1], w[4], w[7]], axis=-1),
                  np.concatenate([w[2], w[5], w[8]], axis=-1)]
    elif class_name == "CuDNNLSTM":
        units = arrays[1].shape[0]
        assert arrays[2].shape == (8 * units,), arrays[2].shape
        arrays = [_cudnn_to_keras_kernel(arrays[0], 4), _transpose_blocks(arrays[1], 4),
                  arrays[2][:4 * units] + arrays[2][4 * units:]]
        cfg = dict(cfg, activation="tanh", recurrent_activation="sigmoid")
        class_name = "LSTM"
    elif class_name == "CuDNNGRU":
        units = arrays[1].shape[0]
        assert arrays[2].shape == (6 * units,), arrays[2].shape
        arrays = [_cudnn_to_keras_kernel(arrays[0], 3), _transpose_blocks(arrays[1], 3),
                  arrays[2].reshape(2, 3 * units)]
        cfg = dict(cfg, activation="tanh", recurrent_activation="sigmoid", reset_after=True)
        class_name = "GRU"
    if class_name == "GRU" and len(arrays) == 3:
        # The bias shape tells the convention, whatever the config says (Keras does the same).
        cfg = dict(cfg, reset_after=arrays[2].ndim == 2)
    return class_name, cfg, arrays


RNN_CLASSES = ("LSTM", "GRU", "SimpleRNN", "CuDNNLSTM", "CuDNNGRU")


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------

def _unwrap(layer_entry):
    """{"class_name", "config", ...} -> (class_name, config)."""
    return layer_entry["class_name"], layer_entry.get("config", {})


def apply_layer(class_name, cfg, weights, inputs, masks, major, initial_state=None):
    """Applies one layer. inputs/masks: lists (one entry unless a merge layer).

    Returns (outputs, output_masks), both lists.
    """
    x = inputs[0]
    mask = masks[0]
    if class_name in ("InputLayer",):
        return [x], [mask]
    if class_name == "Dense":
        kernel = np.asarray(weights[0], dtype=_FLOAT)
        y = np.asarray(x, dtype=_FLOAT) @ kernel
        if cfg.get("use_bias", cfg.get("bias", True)) and len(weights) > 1:
            y = y + np.asarray(weights[1], dtype=_FLOAT)
        return [activation(cfg.get("activation", "linear"), major)(y)], [mask]
    if class_name == "Activation":
        return [activation(cfg["activation"], major)(x)], [mask]
    if class_name in ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout",
                      "AlphaDropout"):
        return [x], [mask]
    if class_name == "Masking":
        mask_value = cfg.get("mask_value", 0.0)
        keep = np.any(x != mask_value, axis=-1)
        return [x * keep[..., None]], [keep]
    if class_name == "Embedding":
        ids = np.asarray(x).astype(np.int64)
        table = np.asarray(weights[0], dtype=_FLOAT)
        out_mask = (ids != 0) if cfg.get("mask_zero", False) else mask
        return [table[ids]], [out_mask]
    if class_name == "Flatten":
        return [x.reshape(x.shape[0], -1)], [None]
    if class_name == "GlobalAveragePooling1D":
        if mask is not None and major >= 3:
            m = np.asarray(mask, dtype=_FLOAT)[..., None]
            return [np.sum(x * m, axis=1) / np.sum(m, axis=1)], [None]
        return [np.mean(x, axis=1)], [None]
    if class_name == "GlobalMaxPooling1D":
        return [np.max(x, axis=1)], [None]
    if class_name == "RepeatVector":
        n = cfg["n"]
        return [np.repeat(x[:, None, :], n, axis=1)], [None]
    if class_name == "Reshape":
        target = cfg["target_shape"]
        if isinstance(target, dict):  # {"class_name": "__tuple__", "config": {"value": [...]}}
            target = target["config"]["value"]
        return [x.reshape((x.shape[0],) + tuple(target))], [None]
    if class_name in ("Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum",
                      "Minimum"):
        xs = [np.asarray(v, dtype=_FLOAT) for v in inputs]
        if class_name == "Concatenate":
            y = np.concatenate(xs, axis=cfg.get("axis", -1))
        elif class_name == "Add":
            y = sum(xs[1:], xs[0])
        elif class_name == "Subtract":
            y = xs[0] - xs[1]
        elif class_name == "Multiply":
            y = xs[0]
            for v in xs[1:]:
                y = y * v
        elif class_name == "Average":
            y = sum(xs[1:], xs[0]) / len(xs)
        elif class_name == "Maximum":
            y = np.max(np.stack(xs), axis=0)
        else:
            y = np.min(np.stack(xs), axis=0)
        present = [m for m in masks if m is not None]
        out_mask = np.all(np.stack(present), axis=0) if present else None
        return [y], [out_mask]
    if class_name == "TimeDistributed":
        inner_cls, inner_cfg = _unwrap(cfg["layer"])
        y, _ = apply_layer(inner_cls, inner_cfg, weights, [x], [None], major)
        return [y[0]], [mask]
    if class_name in RNN_CLASSES:
        kind, rcfg, w = canonical_rnn_weights(class_name, cfg, weights)
        return rnn_layer(kind, rcfg, w, x, major, mask, initial_state)
    if class_name == "Bidirectional":
        return bidirectional(cfg, weights, x, mask, major, initial_state)
    raise ValueError("unsupported layer class %r" % class_name)


def bidirectional(cfg, weights, x, mask, major, initial_state=None):
    fwd_cls, fwd_cfg = _unwrap(cfg["layer"])
    if cfg.get("backward_layer") is not None:
        bwd_cls, bwd_cfg = _unwrap(cfg["backward_layer"])
    else:
        bwd_cls, bwd_cfg = fwd_cls, dict(fwd_cfg, go_backwards=not fwd_cfg.get("go_backwards", False))
    half = len(weights) // 2
    k_f, c_f, w_f = canonical_rnn_weights(fwd_cls, fwd_cfg, weights[:half])
    k_b, c_b, w_b = canonical_rnn_weights(bwd_cls, bwd_cfg, weights[half:])
    return_sequences = bool(fwd_cfg.get("return_sequences", False))
    return_state = bool(fwd_cfg.get("return_state", False))
    fwd_state = bwd_state = None
    if initial_state is not None:
        n = len(initial_state) // 2
        fwd_state, bwd_state = initial_state[:n], initial_state[n:]
    y, _ = rnn_layer(k_f, c_f, w_f, x, major, mask, fwd_state, force_zero_output=return_sequences)
    y_rev, _ = rnn_layer(k_b, c_b, w_b, x, major, mask, bwd_state, force_zero_output=return_sequences)
    states = y[1:] + y_rev[1:] if return_state else []
    y, y_rev = y[0], y_rev[0]
    if return_sequences:
        y_rev = y_rev[:, ::-1, :]
    mode = cfg.get("merge_mode", "concat")
    if mode == "concat":
        out = np.concatenate([y, y_rev], axis=-1)
    elif mode == "sum":
        out = y + y_rev
    elif mode == "ave":
        out = (y + y_rev) / 2.0
    elif mode == "mul":
        out = y * y_rev
    else:
        raise ValueError("Bidirectional merge_mode %r is not supported here" % (mode,))
    out_mask = mask if return_sequences else None
    return [out] + states, [out_mask] + [None] * len(states)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------

def _layer_list(model_config):
    cfg = model_config["config"]
    return cfg if isinstance(cfg, list) else cfg["layers"]


def _layer_name(entry):
    return entry.get("name") or entry["config"]["name"]


def run_model(model_config, weights, inputs, version):
    """Runs a Sequential or Functional model.

    model_config: {"class_name": ..., "config": ...} as stored in `model_config` (.h5) or
    `config.json` (.keras); weights: {layer name: [arrays as stored]}; inputs: list of arrays in
    the model's input order; version: the writer's keras_version (chooses hard_sigmoid).
    Returns (outputs list in Keras's output order, {layer name: list of that layer's outputs}).
    """
    major = keras_major(version)
    if model_config["class_name"] == "Sequential":
        x, mask = np.asarray(inputs[0], dtype=_FLOAT), None
        per_layer = {}
        for entry in _layer_list(model_config):
            cls, cfg = _unwrap(entry)
            if cls == "InputLayer":
                continue
            name = _layer_name(entry)
            outs, masks = apply_layer(cls, cfg, weights.get(name, []), [x], [mask], major)
            per_layer[name] = outs
            x, mask = outs[0], masks[0]
        return [x], per_layer
    return _run_functional(model_config["config"], weights, inputs, major)


def _refs_keras2(node):
    """Keras 1/2 node: [[name, node_index, tensor_index, kwargs], ...]."""
    return [(r[0], r[2]) for r in node], (node[0][3] if node and len(node[0]) > 3 else {})


def _refs_keras3(value):
    """All __keras_tensor__ references in a nested structure, in order."""
    out = []
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            h = value["config"]["keras_history"]
            return [(h[0], h[2])]
        for v in value.values():
            out += _refs_keras3(v)
    elif isinstance(value, list):
        for v in value:
            out += _refs_keras3(v)
    return out


def _run_functional(cfg, weights, inputs, major):
    tensors = {}  # (layer name, tensor index) -> (value, mask)
    input_refs = cfg["input_layers"]
    if input_refs and isinstance(input_refs[0], str):
        input_refs = [input_refs]
    for ref, value in zip(input_refs, inputs):
        tensors[(ref[0], ref[2])] = (np.asarray(value, dtype=_FLOAT), None)
    per_layer = {}
    pending = list(cfg["layers"])
    while pending:
        progressed = False
        for entry in list(pending):
            cls, lcfg = _unwrap(entry)
            name = _layer_name(entry)
            if cls == "InputLayer":
                pending.remove(entry)
                progressed = True
                continue
            node = entry["inbound_nodes"][0]
            initial_refs = []
            if isinstance(node, dict):              # Keras 3
                in_refs = _refs_keras3(node.get("args", []))
                initial_refs = _refs_keras3((node.get("kwargs") or {}).get("initial_state", []))
            else:                                   # Keras 1/2
                in_refs, kwargs = _refs_keras2(node)
                if cls in RNN_CLASSES + ("Bidirectional",) and len(in_refs) > 1:
                    in_refs, initial_refs = in_refs[:1], in_refs[1:]
                if kwargs and "initial_state" in kwargs:
                    initial_refs += _refs_keras2(kwargs["initial_state"])[0]
            if any(r not in tensors for r in in_refs + initial_refs):
                continue
            xs = [tensors[r][0] for r in in_refs]
            ms = [tensors[r][1] for r in in_refs]
            init = [tensors[r][0] for r in initial_refs] or None
            outs, masks = apply_layer(cls, lcfg, weights.get(name, []), xs, ms, major, init)
            for i, (o, m) in enumerate(zip(outs, masks)):
                tensors[(name, i)] = (o, m)
            per_layer[name] = outs
            pending.remove(entry)
            progressed = True
        if not progressed:
            raise ValueError("functional graph cannot be evaluated (missing inputs)")
    output_refs = cfg["output_layers"]
    if output_refs and isinstance(output_refs[0], str):
        output_refs = [output_refs]
    return [tensors[(r[0], r[2])][0] for r in output_refs], per_layer


# --------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------

def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return str(value)


def _name_list(group, attr):
    """Reads `attr` or its chunks `attr0`, `attr1`, ... (Keras's large-attribute split)."""
    if attr in group.attrs:
        values = group.attrs[attr]
    else:
        values, i = [], 0
        while "%s%d" % (attr, i) in group.attrs:
            values += list(group.attrs["%s%d" % (attr, i)])
            i += 1
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":  # empty list -> float64 (0,)
        return []
    return [_text(v) for v in values]


def read_h5_layer_weights(group):
    """{layer name: [arrays]} from a `model_weights` group (or a save_weights root)."""
    weights = {}
    for name in _name_list(group, "layer_names"):
        g = group[name]
        weights[name] = [np.asarray(g[w]) for w in _name_list(g, "weight_names")]
    return weights


def load_h5_model(path):
    """Legacy HDF5 model file -> (model_config, weights, keras_version)."""
    with h5py.File(path, "r") as f:
        model_config = json.loads(_text(f.attrs["model_config"]))
        version = _text(f.attrs["keras_version"]) if "keras_version" in f.attrs else "1"
        weights = read_h5_layer_weights(f["model_weights"])
    return model_config, weights, version


def load_h5_weights_only(path):
    """Keras 1/2 `save_weights` HDF5 file (layer groups at the root) -> (weights, version)."""
    with h5py.File(path, "r") as f:
        version = _text(f.attrs["keras_version"]) if "keras_version" in f.attrs else "1"
        return read_h5_layer_weights(f), version


def to_snake_case(name):
    """keras/src/utils/naming.py to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def _vars(h5, path):
    """Datasets "0", "1", ... of group `path`/vars, in numeric order ([] if absent)."""
    key = (path + "/vars") if path else "vars"
    if key not in h5:
        return []
    group = h5[key]
    return [np.asarray(group[k]) for k in sorted(group.keys(), key=int)]


def _keras3_layer_vars(h5, path, class_name, cfg):
    if class_name in ("LSTM", "GRU", "SimpleRNN"):
        return _vars(h5, path + "/cell")
    if class_name == "Bidirectional":
        fwd_cls, fwd_cfg = _unwrap(cfg["layer"])
        bwd_cls, bwd_cfg = _unwrap(cfg.get("backward_layer") or cfg["layer"])
        return (_keras3_layer_vars(h5, path + "/forward_layer", fwd_cls, fwd_cfg)
                + _keras3_layer_vars(h5, path + "/backward_layer", bwd_cls, bwd_cfg))
    if class_name == "TimeDistributed":
        inner_cls, inner_cfg = _unwrap(cfg["layer"])
        return _keras3_layer_vars(h5, path + "/layer", inner_cls, inner_cfg)
    return _vars(h5, path)


def read_keras3_weights(h5, model_config):
    """{layer name: [arrays]} from a Keras 3 weights tree, addressed by class-name paths."""
    layers = _layer_list(model_config)
    if model_config["class_name"] == "Sequential":
        layers = [e for e in layers if e["class_name"] != "InputLayer"]
    used = {}
    weights = {}
    for entry in layers:
        cls, cfg = _unwrap(entry)
        snake = to_snake_case(cls)
        if snake in used:
            used[snake] += 1
            snake = "%s_%d" % (snake, used[snake])
        else:
            used[snake] = 0
        weights[_layer_name(entry)] = _keras3_layer_vars(h5, "layers/" + snake, cls, cfg)
    return weights


def load_keras_zip(path):
    """Keras 3 `.keras` zip -> (model_config, weights, keras_version)."""
    with zipfile.ZipFile(path, "r") as zf:
        config = json.loads(zf.read("config.json"))
        version = json.loads(zf.read("metadata.json")).get("keras_version", "3")
        blob = zf.read("model.weights.h5")
    with h5py.File(io.BytesIO(blob), "r") as h5:
        weights = read_keras3_weights(h5, config)
    return config, weights, version


def load_keras3_weights_file(path, model_config):
    """Keras 3 `.weights.h5` -> {layer name: [arrays]}."""
    with h5py.File(path, "r") as h5:
        return read_keras3_weights(h5, model_config)


def load_any(path):
    """Sniffs the magic bytes (never the extension) and loads a model file."""
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic[:4] == b"PK\x03\x04":
        return load_keras_zip(path)
    if magic == b"\x89HDF\r\n\x1a\n":
        return load_h5_model(path)
    raise ValueError("%s: neither a zip nor an HDF5 file" % path)


# --------------------------------------------------------------------------------------------
# Self-check against values Keras computed
# --------------------------------------------------------------------------------------------

GOLDEN_PAIRS = [
    # model file, io file, recurrent layer name, output layer name
    ("k122_simple_lstm.h5", "k122_simple_lstm_io.h5", "lstm_1", "dense_1"),
    ("k213_simple_lstm.h5", "k213_simple_lstm_io.h5", "lstm_1", "dense_1"),
    ("k213_simple_rnn.h5", "k213_simple_rnn_io.h5", "simple_rnn_1", "dense_1"),
]


def self_check(shared_dir):
    """Max abs error of this reference against the Keras-computed activations/predictions."""
    import os
    results = []
    for model_file, io_file, rnn_name, out_name in GOLDEN_PAIRS:
        config, weights, version = load_h5_model(os.path.join(shared_dir, model_file))
        with h5py.File(os.path.join(shared_dir, io_file), "r") as f:
            x = np.asarray(next(iter(f["inputs"].values())), dtype=_FLOAT)
            act = np.asarray(f["activations"][rnn_name], dtype=_FLOAT)
            pred = np.asarray(f["predictions"][out_name], dtype=_FLOAT)
        outputs, per_layer = run_model(config, weights, [x], version)
        err_act = float(np.max(np.abs(per_layer[rnn_name][0] - act)))
        err_pred = float(np.max(np.abs(outputs[0] - pred)))
        results.append((model_file, version, err_act, err_pred, float(np.max(np.abs(pred)))))
    return results


def torch_cross_check(seed=7):
    """Optional: LSTM and GRU(reset_after=True) against torch.nn in float64."""
    import torch
    rng = np.random.RandomState(seed)
    batch, timesteps, features, units = 3, 6, 4, 5
    x = rng.randn(batch, timesteps, features)
    errs = {}
    lstm = torch.nn.LSTM(features, units, batch_first=True).double()
    with torch.no_grad():
        for p in lstm.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape))))
        ref, _ = lstm(torch.from_numpy(x))
    w_ih, w_hh = lstm.weight_ih_l0.detach().numpy(), lstm.weight_hh_l0.detach().numpy()
    b = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()   # torch gates i, f, g, o = Keras
    cfg = {"units": units, "return_sequences": True}
    out, _ = apply_layer("LSTM", cfg, [w_ih.T, w_hh.T, b], [x], [None], 3)
    errs["LSTM"] = float(np.max(np.abs(out[0] - ref.numpy())))
    gru = torch.nn.GRU(features, units, batch_first=True).double()
    with torch.no_grad():
        for p in gru.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape))))
        ref, _ = gru(torch.from_numpy(x))

    def zrh(w):  # torch blocks r, z, n -> Keras z, r, h
        r, z, n = np.split(w, 3, axis=0)
        return np.concatenate([z, r, n], axis=0)
    kernel = zrh(gru.weight_ih_l0.detach().numpy()).T
    recurrent = zrh(gru.weight_hh_l0.detach().numpy()).T
    bias = np.stack([zrh(gru.bias_ih_l0.detach().numpy()), zrh(gru.bias_hh_l0.detach().numpy())])
    out, _ = apply_layer("GRU", dict(cfg, reset_after=True), [kernel, recurrent, bias], [x], [None], 3)
    errs["GRU(reset_after=True)"] = float(np.max(np.abs(out[0] - ref.numpy())))
    return errs


def main(argv):
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    worst = 0.0
    for model_file, version, err_act, err_pred, scale in self_check(os.path.join(here, "shared")):
        print("%-22s keras %-6s max|recurrent - Keras| = %.2g   max|prediction - Keras| = %.2g"
              " (predictions up to %.3g: relative %.2g)"
              % (model_file, version, err_act, err_pred, scale, err_pred / scale))
        worst = max(worst, err_act, err_pred / max(1.0, scale))
    print("worst (absolute for the recurrent outputs, relative for predictions): %.2g" % worst)
    if "--torch" in argv:
        for name, err in torch_cross_check().items():
            print("torch.nn cross-check %-22s max abs error %.3g" % (name, err))
    return 0 if worst < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
