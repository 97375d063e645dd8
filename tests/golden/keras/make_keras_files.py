#!/usr/bin/python3
"""Writes the Keras test files of tests/golden/keras/ and reference.json.

    /usr/bin/python3 tests/golden/keras/make_keras_files.py

Needs only Debian's python3-numpy and python3-h5py (no Keras, no TensorFlow). Every file is laid
out as the named Keras version writes it (shared/interop/KERAS-FORMATS.md sections 2 and 3, and
Keras's own saving code: keras/src/saving/saving_lib.py, keras/src/legacy/saving/
legacy_h5_format.py, tf.keras keras/saving/hdf5_format.py, Keras 2.2 keras/engine/saving.py),
with random weights from a fixed seed. The reference outputs come from keras_reference.py, run
on the files as read back from disk. Output is byte-identical from run to run: fixed seed, fixed
zip dates, HDF5 written by h5py with its defaults (earliest file format, no timestamps).
"""
import contextlib
import io
import json
import os
import shutil
import struct
import sys
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ next to the committed files
import keras_reference as kr  # noqa: E402

SEED = 20261202
rng = np.random.RandomState(SEED)


@contextlib.contextmanager
def own_stream(seed):
    """Runs a later-added generator on its own random stream, so that adding it leaves the
    bytes of every file written from the main stream unchanged."""
    global rng
    saved, rng = rng, np.random.RandomState(seed)
    try:
        yield
    finally:
        rng = saved

# --------------------------------------------------------------------------------------------
# Random weights and inputs (float32, as Keras stores them)
# --------------------------------------------------------------------------------------------


def uniform(shape, scale):
    return rng.uniform(-scale, scale, shape).astype(np.float32)


def lstm_weights(features, units):
    return [uniform((features, 4 * units), 0.7), uniform((units, 4 * units), 0.7),
            uniform((4 * units,), 0.5)]


def gru_weights(features, units, reset_after):
    bias_shape = (2, 3 * units) if reset_after else (3 * units,)
    return [uniform((features, 3 * units), 0.7), uniform((units, 3 * units), 0.7),
            uniform(bias_shape, 0.5)]


def simple_rnn_weights(features, units):
    return [uniform((features, units), 0.7), uniform((units, units), 0.7), uniform((units,), 0.5)]


def dense_weights(features, units):
    return [uniform((features, units), 0.8), uniform((units,), 0.3)]


def inputs_normal(shape):
    return rng.standard_normal(shape).astype(np.float32)


def adam_state(weight_list, steps):
    """Keras 3 Adam variables: iterations, learning_rate, then (momentum, velocity) per weight."""
    out = [np.array(steps, dtype=np.int64), np.array(0.001, dtype=np.float32)]
    for w in weight_list:
        out.append(uniform(w.shape, 0.01))
        out.append(np.abs(uniform(w.shape, 0.001)))
    return out


# --------------------------------------------------------------------------------------------
# Layer specs (one neutral description, rendered per Keras generation)
# --------------------------------------------------------------------------------------------

RNN = ("LSTM", "GRU", "SimpleRNN")


def layer(class_name, name, weights=(), inbound=None, **opts):
    spec = {"class": class_name, "name": name, "weights": list(weights), "inbound": inbound}
    spec.update(opts)
    return spec


def rnn_defaults(spec):
    d = {"return_sequences": False, "return_state": False, "go_backwards": False,
         "zero_output_for_mask": False, "activation": "tanh", "recurrent_activation": "sigmoid",
         "use_bias": True, "reset_after": True}
    d.update({k: v for k, v in spec.items() if k in d})
    return d


def all_weights(spec):
    """Trainable variables in Keras's order (for optimizer slots)."""
    return list(spec.get("weights", []))


def out_shapes(spec, in_shapes):
    """Keras shapes (None for unknown dims) of every output tensor of a layer."""
    c = spec["class"]
    s = tuple(in_shapes[0]) if in_shapes else None
    if c == "InputLayer":
        return [tuple(spec["batch_shape"])]
    if c in ("Dropout", "Masking", "Activation"):
        return [s]
    if c == "Dense":
        return [s[:-1] + (spec["units"],)]
    if c == "Embedding":
        return [s + (spec["output_dim"],)]
    if c in RNN:
        o = rnn_defaults(spec)
        u = spec["units"]
        out = (s[0], s[1], u) if o["return_sequences"] else (s[0], u)
        states = [(s[0], u)] * (2 if c == "LSTM" else 1) if o["return_state"] else []
        return [out] + states
    if c == "Bidirectional":
        inner = out_shapes(spec["layer"], in_shapes)
        last = inner[0][-1] * (2 if spec["merge_mode"] == "concat" else 1)
        return [inner[0][:-1] + (last,)] + inner[1:] + inner[1:]
    if c == "TimeDistributed":
        return [s[:2] + (spec["layer"]["units"],)]
    if c in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        return [(s[0], s[2])]
    if c == "Flatten":
        return [(s[0], int(np.prod(s[1:])))]
    if c == "RepeatVector":
        return [(s[0], spec["n"], s[1])]
    if c == "Reshape":
        return [(s[0],) + tuple(spec["target_shape"])]
    if c == "Concatenate":
        return [s[:-1] + (sum(x[-1] for x in in_shapes),)]
    if c in ("Add", "Multiply", "Average"):
        return [s]
    raise ValueError(c)


def as_list(shape):
    return [None if d is None else int(d) for d in shape]


# --------------------------------------------------------------------------------------------
# Keras 3 config.json
# --------------------------------------------------------------------------------------------

SHARED_DTYPE_ID = 140245329517904  # id() of the global DTypePolicy; every layer shares it


class K3Style:
    """What differs between the Keras 3 releases that these files imitate."""

    def __init__(self, version, date_saved, dtype_policy_dict, orthogonal, name_attrs,
                 bidir_template_group, adam_extra_keys):
        self.version = version
        self.date_saved = date_saved                  # metadata.json "date_saved"
        self.dtype_policy_dict = dtype_policy_dict    # DTypePolicy dicts (~3.4+) or "float32"
        self.orthogonal = orthogonal                  # "OrthogonalInitializer" in 3.0.x
        self.name_attrs = name_attrs                  # `name` attribute on vars groups (3.6+)
        self.bidir_template_group = bidir_template_group  # empty bidirectional/layer/... (3.0-3.3)
        self.adam_extra_keys = adam_extra_keys        # loss_scale_factor, gradient_accumulation_steps

    def dtype(self, shared=True):
        if not self.dtype_policy_dict:
            return "float32"
        d = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
             "registered_name": None}
        if shared:
            d["shared_object_id"] = SHARED_DTYPE_ID
        return d

    def init(self, class_name, config):
        if class_name == "Orthogonal":
            class_name = self.orthogonal
        return {"module": "keras.initializers", "class_name": class_name, "config": config,
                "registered_name": None}

    def adam(self):
        cfg = {"name": "adam", "learning_rate": 0.0010000000474974513, "weight_decay": None,
               "clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False,
               "ema_momentum": 0.99, "ema_overwrite_frequency": None}
        if self.adam_extra_keys:
            cfg.update({"loss_scale_factor": None, "gradient_accumulation_steps": None})
        cfg.update({"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False})
        return {"module": "keras.optimizers", "class_name": "Adam", "config": cfg,
                "registered_name": None}


K305 = K3Style("3.0.5", "2024-03-02@10:11:12", False, "OrthogonalInitializer", False, True, False)
K38 = K3Style("3.8.0", "2025-02-14@09:30:00", True, "Orthogonal", True, False, True)
K310 = K3Style("3.10.0", "2025-06-26@12:30:02", True, "Orthogonal", True, False, True)


def k3_layer_config(spec, st, shared=True):
    """The `config` dict of a Keras 3 layer (keys in Keras's get_config order)."""
    c = spec["class"]
    cfg = {"name": spec["name"], "trainable": True, "dtype": st.dtype(shared)}
    if c in RNN:
        o = rnn_defaults(spec)
        cfg.update({"return_sequences": o["return_sequences"], "return_state": o["return_state"],
                    "go_backwards": o["go_backwards"], "stateful": False, "unroll": False,
                    "zero_output_for_mask": o["zero_output_for_mask"], "units": spec["units"],
                    "activation": o["activation"]})
        if c != "SimpleRNN":
            cfg["recurrent_activation"] = o["recurrent_activation"]
        cfg.update({"use_bias": o["use_bias"],
                    "kernel_initializer": st.init("GlorotUniform", {"seed": None}),
                    "recurrent_initializer": st.init("Orthogonal", {"seed": None, "gain": 1.0}),
                    "bias_initializer": st.init("Zeros", {})})
        if c == "LSTM":
            cfg["unit_forget_bias"] = True
        cfg.update({"kernel_regularizer": None, "recurrent_regularizer": None,
                    "bias_regularizer": None, "activity_regularizer": None,
                    "kernel_constraint": None, "recurrent_constraint": None,
                    "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0})
        if c == "GRU":
            cfg["reset_after"] = o["reset_after"]
        cfg["seed"] = None
    elif c == "Dense":
        cfg.update({"units": spec["units"], "activation": spec.get("activation", "linear"),
                    "use_bias": True,
                    "kernel_initializer": st.init("GlorotUniform", {"seed": None}),
                    "bias_initializer": st.init("Zeros", {}), "kernel_regularizer": None,
                    "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None})
    elif c == "Dropout":
        cfg.update({"rate": spec["rate"], "seed": None, "noise_shape": None})
    elif c == "Masking":
        cfg["mask_value"] = spec.get("mask_value", 0.0)
    elif c == "Activation":
        cfg["activation"] = spec["activation"]
    elif c == "Embedding":
        cfg.update({"input_dim": spec["input_dim"], "output_dim": spec["output_dim"],
                    "embeddings_initializer": st.init(
                        "RandomUniform", {"seed": None, "minval": -0.05, "maxval": 0.05}),
                    "embeddings_regularizer": None, "activity_regularizer": None,
                    "embeddings_constraint": None, "mask_zero": spec.get("mask_zero", False)})
    elif c in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        cfg.update({"data_format": "channels_last", "keepdims": False})
    elif c == "Flatten":
        cfg["data_format"] = "channels_last"
    elif c == "RepeatVector":
        cfg["n"] = spec["n"]
    elif c == "Reshape":
        cfg["target_shape"] = list(spec["target_shape"])
    elif c == "Concatenate":
        cfg["axis"] = -1
    elif c in ("Add", "Multiply", "Average"):
        pass
    elif c == "InputLayer":
        cfg = {"batch_shape": as_list(spec["batch_shape"]), "dtype": spec.get("dtype", "float32"),
               "sparse": False}
        if tuple(int(v) for v in st.version.split(".")[:2]) >= (3, 5):
            cfg["ragged"] = False
        cfg["name"] = spec["name"]
    else:
        raise ValueError(c)
    return cfg


def k3_entry(spec, st, in_shapes, shared=True, initial_state_shapes=None):
    """The serialized layer: module, class_name, config, registered_name, build_config."""
    c = spec["class"]
    if c == "Bidirectional":
        inner = spec["layer"]
        ro = rnn_defaults(inner)
        fwd = dict(inner, name="forward_" + inner["name"],
                   zero_output_for_mask=ro["return_sequences"])
        bwd = dict(fwd, name="backward_" + inner["name"], go_backwards=True)
        cfg = {"name": spec["name"], "trainable": True, "dtype": st.dtype(shared)}
        fwd_entry = k3_entry(fwd, st, in_shapes, shared=False)
        bwd_entry = k3_entry(bwd, st, in_shapes, shared=False)
        if st.bidir_template_group:   # 3.0.x: Wrapper.get_config puts "layer" first
            cfg.update({"layer": fwd_entry, "merge_mode": spec["merge_mode"],
                        "backward_layer": bwd_entry})
        else:
            cfg.update({"merge_mode": spec["merge_mode"], "layer": fwd_entry,
                        "backward_layer": bwd_entry})
    elif c == "TimeDistributed":
        s = in_shapes[0]
        cfg = {"name": spec["name"], "trainable": True, "dtype": st.dtype(shared),
               "layer": k3_entry(spec["layer"], st, [(s[0],) + tuple(s[2:])])}
    else:
        cfg = k3_layer_config(spec, st, shared)
    entry = {"module": "keras.layers", "class_name": c, "config": cfg, "registered_name": None}
    if c != "InputLayer":
        if initial_state_shapes:
            entry["build_config"] = {"shapes_dict": {
                "sequences_shape": as_list(in_shapes[0]),
                "initial_state_shape": [as_list(s) for s in initial_state_shapes]}}
        elif len(in_shapes) > 1:
            entry["build_config"] = {"input_shape": [as_list(s) for s in in_shapes]}
        else:
            entry["build_config"] = {"input_shape": as_list(in_shapes[0])}
    return entry


def k3_compile_config(st, loss, metrics):
    return {"optimizer": st.adam(), "loss": loss, "loss_weights": None, "metrics": metrics,
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False}


def keras_tensor(shape, history, dtype="float32"):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": as_list(shape), "dtype": dtype, "keras_history": list(history)}}


def k3_model_config(model, st):
    """config.json for a Sequential or Functional model spec."""
    if model["kind"] == "Sequential":
        inp = model["input"]
        entries = [k3_entry(inp, st, [])]
        shape = tuple(inp["batch_shape"])
        for spec in model["layers"]:
            entries.append(k3_entry(spec, st, [shape]))
            shape = out_shapes(spec, [shape])[0]
        build = as_list(inp["batch_shape"])
        out = {"module": "keras", "class_name": "Sequential",
               "config": {"name": model["name"], "trainable": True, "dtype": st.dtype(),
                          "layers": entries, "build_input_shape": build},
               "registered_name": None, "build_config": {"input_shape": build}}
    else:
        shapes = {}  # (layer, tensor index) -> shape
        entries = []
        for spec in model["layers"]:
            if spec["class"] == "InputLayer":
                e = k3_entry(spec, st, [])
                e["name"] = spec["name"]
                e["inbound_nodes"] = []
                shapes[(spec["name"], 0)] = tuple(spec["batch_shape"])
                entries.append(e)
                continue
            args = spec["inbound"]["args"]
            refs = args if isinstance(args, list) else [args]
            in_shapes = [shapes[r] for r in refs]
            init_refs = spec["inbound"].get("initial_state", [])
            init_shapes = [shapes[r] for r in init_refs]
            e = k3_entry(spec, st, in_shapes, initial_state_shapes=init_shapes or None)
            e["name"] = spec["name"]
            kt = [keras_tensor(shapes[r], (r[0], 0, r[1])) for r in refs]
            kwargs = {}
            if init_refs:
                kwargs["initial_state"] = [keras_tensor(shapes[r], (r[0], 0, r[1]))
                                           for r in init_refs]
            e["inbound_nodes"] = [{"args": [kt] if isinstance(args, list) else kt,
                                   "kwargs": kwargs}]
            for i, s in enumerate(out_shapes(spec, in_shapes)):
                shapes[(spec["name"], i)] = s
            entries.append(e)
        out = {"module": "keras.src.models.functional", "class_name": "Functional",
               "config": {"name": model["name"], "trainable": True, "layers": entries,
                          "input_layers": [[n, 0, 0] for n in model["inputs"]],
                          "output_layers": [[n, 0, i] for n, i in model["outputs"]]},
               "registered_name": "Functional", "build_config": {"input_shape": None}}
    if model.get("compile"):
        out["compile_config"] = k3_compile_config(st, *model["compile"])
    return out


# --------------------------------------------------------------------------------------------
# Keras 3 weights tree (model.weights.h5 inside the zip, or a standalone .weights.h5)
# --------------------------------------------------------------------------------------------

CELL_NAMES = {"LSTM": "lstm_cell", "GRU": "gru_cell", "SimpleRNN": "simple_rnn_cell"}


def k3_groups(model, st):
    """[(group path, name attribute, arrays)] in the order Keras's _save_state creates them."""
    groups = [("", model["name"], [])]
    layers = model["layers"] if model["kind"] == "Functional" else model["layers"]
    used = {}
    for spec in layers:
        snake = kr.to_snake_case(spec["class"])
        if snake in used:
            used[snake] += 1
            snake = "%s_%d" % (snake, used[snake])
        else:
            used[snake] = 0
        path = "layers/" + snake
        c = spec["class"]
        if c in RNN:
            groups += [(path, spec["name"], []), (path + "/cell", CELL_NAMES[c], spec["weights"])]
        elif c == "Bidirectional":
            inner = spec["layer"]
            half = len(spec["weights"]) // 2
            cell = CELL_NAMES[inner["class"]]
            groups += [(path, spec["name"], []),
                       (path + "/backward_layer", "backward_" + inner["name"], []),
                       (path + "/backward_layer/cell", cell, spec["weights"][half:]),
                       (path + "/forward_layer", "forward_" + inner["name"], []),
                       (path + "/forward_layer/cell", cell, spec["weights"][:half])]
            if st.bidir_template_group:
                groups += [(path + "/layer", inner["name"], []), (path + "/layer/cell", cell, [])]
        elif c == "TimeDistributed":
            groups += [(path, spec["name"], []),
                       (path + "/layer", spec["layer"]["name"], spec["weights"])]
        else:
            groups.append((path, spec["name"], spec["weights"]))
    if model.get("optimizer_state") is not None:
        groups.append(("optimizer", "adam", model["optimizer_state"]))
    return groups


def write_k3_weights(target, model, st):
    """Writes the tree to a path or a BytesIO; returns nothing."""
    with h5py.File(target, "w") as h5:
        for path, name, arrays in k3_groups(model, st):
            group = h5.create_group("vars") if not path else h5.create_group(path).create_group("vars")
            if st.name_attrs:
                group.attrs["name"] = name
            for i, a in enumerate(arrays):
                group[str(i)] = a


def write_zip(path, members):
    """members: [(ZipInfo or name, bytes)], stored (no compression) as Keras writes them."""
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in members:
            if isinstance(info, str):
                info = zipfile.ZipInfo(info)     # 1980-01-01 00:00, as zf.open(name, "w") makes
            else:                                # a fresh copy: writestr mutates its ZipInfo
                copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                copy.external_attr = info.external_attr
                copy.compress_type = info.compress_type
                info = copy
            info.create_system = 3
            zf.writestr(info, data)


def keras_zip_members(model, st):
    metadata = json.dumps({"keras_version": st.version, "date_saved": st.date_saved})
    config = json.dumps(k3_model_config(model, st))
    blob = io.BytesIO()
    write_k3_weights(blob, model, st)
    date = tuple(int(v) for v in st.date_saved.replace("@", "-").replace(":", "-").split("-"))
    weights_info = zipfile.ZipInfo("model.weights.h5", date_time=date)
    weights_info.external_attr = 0o600 << 16    # what ZipFile.writestr(name, ...) sets
    return [("metadata.json", metadata.encode()), ("config.json", config.encode()),
            (weights_info, blob.getvalue())]


def write_keras(path, model, st):
    write_zip(path, keras_zip_members(model, st))


# --------------------------------------------------------------------------------------------
# Legacy HDF5 (Keras 1, 2, tf.keras, Keras 3 legacy writer)
# --------------------------------------------------------------------------------------------

def set_name_list(group, attr, names, style):
    """Keras's save_attributes_to_hdf5_group: h5py 3 writes a list of bytes as variable-length
    strings; h5py 2 (Keras <= 2.2, tf.keras <= 2.1) wrote fixed-length NULLPAD strings; an empty
    list becomes a float64 array of shape (0,)."""
    encoded = [n.encode("utf8") for n in names]
    if not encoded:
        group.attrs[attr] = np.asarray([])
    elif style == "vlen":
        group.attrs[attr] = encoded
    else:
        group.attrs.create(attr, np.array(encoded, dtype="S%d" % max(len(n) for n in encoded)))


def write_layer_groups(root, layers, style, keras_version, backend="tensorflow", sort=True):
    """layers: [(layer name, [(weight name, array)])] in model order."""
    set_name_list(root, "layer_names", [n for n, _ in layers], style)
    if backend is not None:
        root.attrs["backend"] = backend.encode("utf8")
    if keras_version is not None:
        root.attrs["keras_version"] = keras_version.encode("utf8")
    for name, weights in (sorted(layers, key=lambda x: x[0]) if sort else layers):
        g = root.create_group(name)
        set_name_list(g, "weight_names", [w for w, _ in weights], style)
        for wname, value in weights:
            d = g.create_dataset(wname, value.shape, dtype=value.dtype)
            if value.shape:
                d[:] = value
            else:
                d[()] = value


def write_optimizer_weights(f, named, style):
    g = f.create_group("optimizer_weights")
    set_name_list(g, "weight_names", [n for n, _ in named], style)
    for name, value in named:
        d = g.create_dataset(name, value.shape, dtype=value.dtype)
        if value.shape:
            d[:] = value
        else:
            d[()] = value


# ---- tf.keras 2.x ---------------------------------------------------------------------------

def tf2_init(class_name, config):
    return {"class_name": class_name, "config": config}


def tf2_rnn_config(spec, name=None):
    c = spec["class"]
    o = rnn_defaults(spec)
    cfg = {"name": name or spec["name"], "trainable": True, "dtype": "float32",
           "return_sequences": o["return_sequences"], "return_state": o["return_state"],
           "go_backwards": o["go_backwards"], "stateful": False, "unroll": False,
           "time_major": False, "units": spec["units"], "activation": o["activation"],
           "recurrent_activation": o["recurrent_activation"], "use_bias": o["use_bias"],
           "kernel_initializer": tf2_init("GlorotUniform", {"seed": None}),
           "recurrent_initializer": tf2_init("Orthogonal", {"gain": 1.0, "seed": None}),
           "bias_initializer": tf2_init("Zeros", {})}
    if c == "LSTM":
        cfg["unit_forget_bias"] = True
    cfg.update({"kernel_regularizer": None, "recurrent_regularizer": None,
                "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
                "recurrent_constraint": None, "bias_constraint": None, "dropout": 0.0,
                "recurrent_dropout": 0.0, "implementation": 2})
    if c == "GRU":
        cfg["reset_after"] = o["reset_after"]
    return cfg


def tf2_dense_config(spec):
    return {"name": spec["name"], "trainable": True, "dtype": "float32", "units": spec["units"],
            "activation": spec.get("activation", "linear"), "use_bias": True,
            "kernel_initializer": tf2_init("GlorotUniform", {"seed": None}),
            "bias_initializer": tf2_init("Zeros", {}), "kernel_regularizer": None,
            "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
            "bias_constraint": None}


# ---- Keras 2.1 / 2.2 standalone --------------------------------------------------------------

K2_GLOROT = {"class_name": "VarianceScaling",
             "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}
K2_ORTH = {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}}
K2_ZEROS = {"class_name": "Zeros", "config": {}}


def k2_dense_config(spec, name):
    return {"name": name, "trainable": True, "units": spec["units"],
            "activation": spec.get("activation", "linear"), "use_bias": True,
            "kernel_initializer": K2_GLOROT, "bias_initializer": K2_ZEROS,
            "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None}


# --------------------------------------------------------------------------------------------
# reference.json
# --------------------------------------------------------------------------------------------

def flat(a):
    """Row-major list of float32-representable numbers with 9 significant digits."""
    a = np.asarray(a, dtype=np.float64).astype(np.float32).ravel()
    return [float("%.9g" % v) for v in a]


def tensor(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": flat(a)}


def tolerance(max_err):
    """atol for a float32 implementation: 4x the float32 error observed, at least 1e-5, rounded up
    to one significant digit."""
    t = max(1e-5, 4.0 * max_err)
    exp = int(np.floor(np.log10(t)))
    lead = int(np.ceil(t / 10.0 ** exp - 1e-9))
    return float("%de%d" % (lead, exp)) if lead < 10 else float("1e%d" % (exp + 1))


def reference(model_config, weights, inputs, version):
    """Reference outputs (float64) and the float32 discrepancy that sizes atol."""
    out64, _ = kr.run_model(model_config, weights, inputs, version)
    prev = kr.compute_dtype(np.float32)
    try:
        out32, _ = kr.run_model(model_config, weights, inputs, version)
    finally:
        kr.compute_dtype(prev)
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(out64, out32))
    return out64, err


CASES = []
HOSTILE = []


def add_case(file, writer, what, inputs, model_config, weights, version, **extra):
    outputs, err = reference(model_config, weights, inputs, version)
    case = {"file": file, "writer": writer, "what": what}
    case.update(extra)
    case.update({"inputs": [tensor(x) for x in inputs], "outputs": [tensor(y) for y in outputs],
                 "atol": tolerance(err)})
    CASES.append(case)
    return outputs


def add_model_case(file, writer, what, inputs, **extra):
    config, weights, version = kr.load_any(os.path.join(HERE, file))
    return add_case(file, writer, what, inputs, config, weights, version, **extra)


# --------------------------------------------------------------------------------------------
# The files
# --------------------------------------------------------------------------------------------

def path(name):
    return os.path.join(HERE, name)


def k38_sequential_lstm():
    T, F = 5, 3
    def make_layers():
        return [layer("LSTM", "lstm", lstm_weights(F, 4), units=4, return_sequences=True),
                layer("Dropout", "dropout", rate=0.2),
                layer("LSTM", "lstm_1", lstm_weights(4, 3), units=3),
                layer("Dense", "dense", dense_weights(3, 4), units=4, activation="softmax")]
    model = {"kind": "Sequential", "name": "sequential",
             "input": layer("InputLayer", "input_layer", batch_shape=(None, T, F)),
             "layers": make_layers(),
             "compile": ("categorical_crossentropy", ["accuracy"])}
    model["optimizer_state"] = adam_state(sum((s["weights"] for s in model["layers"]), []), 120)
    write_keras(path("k38_sequential_lstm.keras"), model, K38)
    x = inputs_normal((4, T, F))
    add_model_case("k38_sequential_lstm.keras", "keras 3.8 .keras",
                   "Sequential InputLayer(batch_shape [null,5,3]) -> LSTM(4, return_sequences) -> "
                   "Dropout -> LSTM(3) -> Dense(4, softmax); DTypePolicy dicts with "
                   "shared_object_id; compile_config Adam + categorical_crossentropy; "
                   "optimizer/vars (iterations, learning_rate, momentum/velocity); `name` "
                   "attributes on every vars group (3.6+)", [x])

    # The same model's Keras 3 weights-only file, with different weights.
    other = dict(model, layers=make_layers())
    other["optimizer_state"] = adam_state(sum((s["weights"] for s in other["layers"]), []), 240)
    write_k3_weights(path("k38_sequential_lstm.weights.h5"), other, K38)
    config, _, version = kr.load_keras_zip(path("k38_sequential_lstm.keras"))
    weights = kr.load_keras3_weights_file(path("k38_sequential_lstm.weights.h5"), config)
    add_case("k38_sequential_lstm.weights.h5", "keras 3.8 model.save_weights(*.weights.h5)",
             "Keras 3 weights-only file (same tree as model.weights.h5) for "
             "k38_sequential_lstm.keras, with different weights: load the .keras, then these "
             "weights, then run", [x], config, weights, version,
             weights_for="k38_sequential_lstm.keras")


def k305_bidir_lstm_gru():
    T, F = 6, 3
    model = {"kind": "Sequential", "name": "sequential",
             "input": layer("InputLayer", "input_layer", batch_shape=(None, T, F)),
             "layers": [
                 layer("Bidirectional", "bidirectional",
                       lstm_weights(F, 3) + lstm_weights(F, 3), merge_mode="concat",
                       layer=layer("LSTM", "lstm", units=3, return_sequences=True)),
                 layer("GRU", "gru", gru_weights(6, 4, True), units=4, reset_after=True)]}
    write_keras(path("k305_bidir_lstm_gru.keras"), model, K305)
    add_model_case("k305_bidir_lstm_gru.keras", "keras 3.0.5 .keras",
                   "Sequential Bidirectional(LSTM(3, return_sequences), concat) -> GRU(4, "
                   "reset_after=True, bias (2,12)); dtype plain strings; OrthogonalInitializer; "
                   "the extra empty layers/bidirectional/layer/cell/vars group of 3.0-3.3; no "
                   "`name` attributes; not compiled (no compile_config, no optimizer group)",
                   [inputs_normal((3, T, F))])


def k310_seq2seq():
    F_enc, F_dec, U = 3, 2, 5
    model = {"kind": "Functional", "name": "functional",
             "inputs": ["input_layer", "input_layer_1"], "outputs": [("time_distributed", 0)],
             "layers": [
                 layer("InputLayer", "input_layer", batch_shape=(None, None, F_enc)),
                 layer("InputLayer", "input_layer_1", batch_shape=(None, None, F_dec)),
                 layer("LSTM", "lstm", lstm_weights(F_enc, U), units=U, return_state=True,
                       inbound={"args": ("input_layer", 0)}),
                 layer("LSTM", "lstm_1", lstm_weights(F_dec, U), units=U, return_sequences=True,
                       inbound={"args": ("input_layer_1", 0),
                                "initial_state": [("lstm", 1), ("lstm", 2)]}),
                 layer("TimeDistributed", "time_distributed", dense_weights(U, 4),
                       layer=layer("Dense", "dense", units=4, activation="softmax"),
                       inbound={"args": ("lstm_1", 0)})],
             "compile": ("categorical_crossentropy", ["accuracy"])}
    model["optimizer_state"] = adam_state(sum((s["weights"] for s in model["layers"]), []), 57)
    write_keras(path("k310_seq2seq_functional.keras"), model, K310)
    add_model_case("k310_seq2seq_functional.keras", "keras 3.10 .keras",
                   "Functional seq2seq: InputLayers with None timesteps ([null,null,3], "
                   "[null,null,2]); encoder LSTM(5, return_state) whose h and c (keras_history "
                   "[lstm,0,1], [lstm,0,2]) are the decoder LSTM(5, return_sequences)'s "
                   "initial_state (build_config shapes_dict); TimeDistributed(Dense(4, softmax)); "
                   "InputLayers occupy layers/input_layer and layers/input_layer_1 in the weights",
                   [inputs_normal((3, 6, F_enc)), inputs_normal((3, 4, F_dec))])


def k38_embedding_bigru_lstm():
    T, V, D = 7, 12, 4
    model = {"kind": "Sequential", "name": "sequential",
             "input": layer("InputLayer", "input_layer", batch_shape=(None, T), dtype="int32"),
             "layers": [
                 layer("Embedding", "embedding", [uniform((V, D), 0.8)], input_dim=V,
                       output_dim=D, mask_zero=True),
                 layer("Bidirectional", "bidirectional",
                       gru_weights(D, 3, True) + gru_weights(D, 3, True), merge_mode="sum",
                       layer=layer("GRU", "gru", units=3, return_sequences=True)),
                 layer("LSTM", "lstm", lstm_weights(3, 4), units=4),
                 layer("Dense", "dense", dense_weights(4, 2), units=2, activation="sigmoid")]}
    write_keras(path("k38_embedding_bigru_lstm.keras"), model, K38)
    ids = rng.randint(1, V, size=(4, T)).astype(np.float32)
    for row, zeros in enumerate((0, 2, 4, 6)):
        ids[row, :zeros] = 0.0                    # pad_sequences' default: pre-padding
    add_model_case("k38_embedding_bigru_lstm.keras", "keras 3.8 .keras",
                   "Sequential Embedding(12, 4, mask_zero=True) -> Bidirectional(GRU(3, "
                   "return_sequences), merge_mode sum) -> LSTM(4) -> Dense(2, sigmoid); integer "
                   "ids (stored as floats) pre-padded with 0, 2, 4, 6 zeros: the mask skips them "
                   "and Bidirectional forces zero outputs at masked steps", [ids])


def k38_masking_lstm_td():
    T, F = 6, 3
    model = {"kind": "Sequential", "name": "sequential",
             "input": layer("InputLayer", "input_layer", batch_shape=(None, T, F)),
             "layers": [
                 layer("Masking", "masking", mask_value=0.0),
                 layer("LSTM", "lstm", lstm_weights(F, 4), units=4, return_sequences=True),
                 layer("TimeDistributed", "time_distributed", dense_weights(4, 2),
                       layer=layer("Dense", "dense", units=2))]}
    write_keras(path("k38_masking_lstm_timedistributed.keras"), model, K38)
    x = inputs_normal((3, T, F))
    x[0, 0] = 0.0          # masked first step: output zeros (then Dense gives its bias)
    x[0, 3] = 0.0          # masked middle step: output repeats step 2's
    x[1, 2:4] = 0.0        # two masked steps in the middle
    add_model_case("k38_masking_lstm_timedistributed.keras", "keras 3.8 .keras",
                   "Masking(0.0) -> LSTM(4, return_sequences, zero_output_for_mask=False) -> "
                   "TimeDistributed(Dense(2)); row 0 masked at t=0 and t=3, row 1 at t=2,3, row "
                   "2 unmasked: a masked step keeps the state and repeats the previous output "
                   "(zeros before the first unmasked step)", [x])


def k38_simplernn_go_backwards():
    T, F = 5, 3
    model = {"kind": "Sequential", "name": "sequential",
             "input": layer("InputLayer", "input_layer", batch_shape=(None, T, F)),
             "layers": [layer("SimpleRNN", "simple_rnn", simple_rnn_weights(F, 4), units=4,
                              go_backwards=True, return_sequences=True)]}
    write_keras(path("k38_simplernn_go_backwards.keras"), model, K38)
    add_model_case("k38_simplernn_go_backwards.keras", "keras 3.8 .keras",
                   "standalone SimpleRNN(4, go_backwards=True, return_sequences=True): outputs in "
                   "reversed time order (output[:, 0] is the step that read x[:, T-1]), no "
                   "re-reversal", [inputs_normal((3, T, F))])


def k38_activations():
    T, F = 6, 3
    model = {"kind": "Sequential", "name": "sequential",
             "input": layer("InputLayer", "input_layer", batch_shape=(None, T, F)),
             "layers": [
                 layer("LSTM", "lstm", lstm_weights(F, 5), units=5, return_sequences=True,
                       activation="softsign", recurrent_activation="hard_sigmoid"),
                 layer("GRU", "gru", gru_weights(5, 4, False), units=4, return_sequences=True,
                       activation="elu", recurrent_activation="hard_sigmoid", reset_after=False),
                 layer("GlobalAveragePooling1D", "global_average_pooling1d"),
                 layer("Dense", "dense", dense_weights(4, 3), units=3, activation="selu"),
                 layer("Activation", "activation", activation="softplus")]}
    x = inputs_normal((3, T, F)) * 2.0           # larger inputs: hard_sigmoid clips somewhere
    write_keras(path("k38_hard_sigmoid_activations.keras"), model, K38)
    add_model_case("k38_hard_sigmoid_activations.keras", "keras 3.8 .keras",
                   "LSTM(5, activation softsign, recurrent_activation hard_sigmoid) -> GRU(4, "
                   "reset_after=False, bias (12,), activation elu, recurrent_activation "
                   "hard_sigmoid) -> GlobalAveragePooling1D -> Dense(3, selu) -> "
                   "Activation(softplus); Keras 3 hard_sigmoid = clip(x/6 + 0.5, 0, 1)", [x])

    model = {"kind": "Sequential", "name": "sequential",
             "input": layer("InputLayer", "input_layer", batch_shape=(None, 5, 2)),
             "layers": [
                 layer("Masking", "masking", mask_value=0.0),
                 layer("GRU", "gru", gru_weights(2, 3, True), units=3, return_sequences=True),
                 layer("GlobalAveragePooling1D", "global_average_pooling1d"),
                 layer("Dense", "dense", dense_weights(3, 2), units=2, activation="exponential")]}
    write_keras(path("k38_masking_gru_average_pooling.keras"), model, K38)
    x = inputs_normal((3, 5, 2))
    x[0, 1] = 0.0
    x[1, 0:3] = 0.0
    add_model_case("k38_masking_gru_average_pooling.keras", "keras 3.8 .keras",
                   "Masking -> GRU(3, return_sequences) -> GlobalAveragePooling1D -> Dense(2, "
                   "exponential): Keras 3 averages only the unmasked steps (row 0 masked at t=1, "
                   "row 1 at t=0..2)", [x])


def k38_functional_merge():
    T, F, G = 5, 3, 4
    model = {"kind": "Functional", "name": "functional",
             "inputs": ["input_layer", "input_layer_1"],
             "outputs": [("dense_1", 0), ("dense_2", 0)],
             "layers": [
                 layer("InputLayer", "input_layer", batch_shape=(None, T, F)),
                 layer("InputLayer", "input_layer_1", batch_shape=(None, G)),
                 layer("LSTM", "lstm", lstm_weights(F, 4), units=4,
                       inbound={"args": ("input_layer", 0)}),
                 layer("Dense", "dense", dense_weights(G, 4), units=4, activation="tanh",
                       inbound={"args": ("input_layer_1", 0)}),
                 layer("Add", "add", inbound={"args": [("lstm", 0), ("dense", 0)]}),
                 layer("Multiply", "multiply", inbound={"args": [("lstm", 0), ("dense", 0)]}),
                 layer("Average", "average", inbound={"args": [("lstm", 0), ("dense", 0)]}),
                 layer("Concatenate", "concatenate",
                       inbound={"args": [("add", 0), ("multiply", 0), ("average", 0)]}),
                 layer("RepeatVector", "repeat_vector", n=3, inbound={"args": ("concatenate", 0)}),
                 layer("Reshape", "reshape", target_shape=(6, 6),
                       inbound={"args": ("repeat_vector", 0)}),
                 layer("GlobalMaxPooling1D", "global_max_pooling1d",
                       inbound={"args": ("reshape", 0)}),
                 layer("Dense", "dense_1", dense_weights(6, 2), units=2, activation="relu",
                       inbound={"args": ("global_max_pooling1d", 0)}),
                 layer("Flatten", "flatten", inbound={"args": ("reshape", 0)}),
                 layer("Dense", "dense_2", dense_weights(36, 3), units=3, activation="sigmoid",
                       inbound={"args": ("flatten", 0)})]}
    write_keras(path("k38_functional_merge.keras"), model, K38)
    add_model_case("k38_functional_merge.keras", "keras 3.8 .keras",
                   "Functional, two inputs, two outputs: LSTM(4) and Dense(4, tanh) -> Add, "
                   "Multiply, Average -> Concatenate (12) -> RepeatVector(3) -> Reshape((6, 6)) "
                   "-> GlobalMaxPooling1D -> Dense(2, relu) [output 0] and Flatten -> Dense(3, "
                   "sigmoid) [output 1]; merge layers' inbound args are lists of __keras_tensor__",
                   [inputs_normal((3, T, F)), inputs_normal((3, G))])


def k38_bidir_states():
    """Bidirectional with return_state: its states as outputs and as an initial_state input.

    Added after the first release of this folder: own random stream (SEED + 1)."""
    F_enc, F_dec, U = 3, 2, 4
    # Keras 3 Functional operation order (ops/function.py map_graph): by decreasing depth, ties
    # in DFS order from the outputs (time_distributed, lstm_1, input_layer_1, concatenate,
    # bidirectional, input_layer, concatenate_1).
    model = {"kind": "Functional", "name": "functional",
             "inputs": ["input_layer", "input_layer_1"],
             "outputs": [("time_distributed", 0), ("bidirectional", 0)],
             "layers": [
                 layer("InputLayer", "input_layer", batch_shape=(None, None, F_enc)),
                 layer("Bidirectional", "bidirectional",
                       lstm_weights(F_enc, U) + lstm_weights(F_enc, U), merge_mode="concat",
                       layer=layer("LSTM", "lstm", units=U, return_state=True),
                       inbound={"args": ("input_layer", 0)}),
                 layer("InputLayer", "input_layer_1", batch_shape=(None, None, F_dec)),
                 layer("Concatenate", "concatenate",
                       inbound={"args": [("bidirectional", 1), ("bidirectional", 3)]}),
                 layer("Concatenate", "concatenate_1",
                       inbound={"args": [("bidirectional", 2), ("bidirectional", 4)]}),
                 layer("LSTM", "lstm_1", lstm_weights(F_dec, 2 * U), units=2 * U,
                       return_sequences=True,
                       inbound={"args": ("input_layer_1", 0),
                                "initial_state": [("concatenate", 0), ("concatenate_1", 0)]}),
                 layer("TimeDistributed", "time_distributed", dense_weights(2 * U, 3),
                       layer=layer("Dense", "dense", units=3, activation="softmax"),
                       inbound={"args": ("lstm_1", 0)})]}
    write_keras(path("k38_bidir_encoder_states.keras"), model, K38)
    add_model_case("k38_bidir_encoder_states.keras", "keras 3.8 .keras",
                   "Functional seq2seq with a bidirectional encoder: Bidirectional(LSTM(4, "
                   "return_state), concat) on [null,null,3] returns [output (8), forward_h, "
                   "forward_c, backward_h, backward_c] (keras_history [bidirectional,0,0..4]); "
                   "Concatenate([fh, bh]) and Concatenate([fc, bc]) are the decoder LSTM(8, "
                   "return_sequences)'s initial_state; TimeDistributed(Dense(3, softmax)); outputs "
                   "[decoder probabilities, encoder output]; the decoder LSTM 'lstm_1' is "
                   "layers/lstm in the weights (the encoder's is inside layers/bidirectional)",
                   [inputs_normal((3, 6, F_enc)), inputs_normal((3, 4, F_dec))])

    T, F, U = 5, 3, 4
    model = {"kind": "Functional", "name": "functional",
             "inputs": ["input_layer", "input_layer_1", "input_layer_2"],
             "outputs": [("bidirectional", 0), ("bidirectional", 1), ("bidirectional", 2)],
             "layers": [
                 layer("InputLayer", "input_layer", batch_shape=(None, T, F)),
                 layer("InputLayer", "input_layer_1", batch_shape=(None, U)),
                 layer("InputLayer", "input_layer_2", batch_shape=(None, U)),
                 layer("Bidirectional", "bidirectional",
                       gru_weights(F, U, True) + gru_weights(F, U, True), merge_mode="sum",
                       layer=layer("GRU", "gru", units=U, return_sequences=True,
                                   return_state=True, reset_after=True),
                       inbound={"args": ("input_layer", 0),
                                "initial_state": [("input_layer_1", 0), ("input_layer_2", 0)]})]}
    write_keras(path("k38_bidir_gru_states_in.keras"), model, K38)
    add_model_case("k38_bidir_gru_states_in.keras", "keras 3.8 .keras",
                   "Functional: Bidirectional(GRU(4, return_sequences, return_state, "
                   "reset_after=True), merge_mode sum)(x, initial_state=[h_f, h_b]) with x "
                   "[null,5,3] and two state Inputs [null,4]: the first half of initial_state "
                   "starts the forward GRU, the second half the backward one (__keras_tensor__ "
                   "kwargs, build_config shapes_dict); outputs [sum of forward and re-reversed "
                   "backward sequences, forward_h, backward_h] (backward_h is the state after "
                   "reading x[:, 0])",
                   [inputs_normal((3, T, F)), inputs_normal((3, U)), inputs_normal((3, U))])


def k38_legacy_h5():
    """Keras 3.8 model.save("x.h5"): legacy_h5_format.save_model_to_hdf5."""
    T, F = 6, 3
    inner = layer("LSTM", "lstm", units=3, return_sequences=True,
                  recurrent_activation="hard_sigmoid")
    bidir = layer("Bidirectional", "bidirectional", lstm_weights(F, 3) + lstm_weights(F, 3),
                  merge_mode="ave", layer=inner)
    lstm = layer("LSTM", "lstm_1", lstm_weights(3, 4), units=4)
    dense = layer("Dense", "dense", dense_weights(4, 2), units=2)
    st = K38
    # Sequential.get_config under use_legacy_config: layers as {"class_name", "config"} only; the
    # nested forward/backward layers of Bidirectional keep the new envelope (its get_config calls
    # serialization_lib directly).
    inp = layer("InputLayer", "input_layer", batch_shape=(None, T, F))
    layer_cfgs = [{"class_name": "InputLayer", "config": k3_layer_config(inp, st, False)}]
    shape = (None, T, F)
    for spec in (bidir, lstm, dense):
        e = k3_entry(spec, st, [shape], shared=False)   # no ObjectSharingScope in legacy saving
        layer_cfgs.append({"class_name": e["class_name"], "config": e["config"]})
        shape = out_shapes(spec, [shape])[0]
    model_config = {"class_name": "Sequential",
                    "config": {"name": "sequential", "trainable": True, "dtype": st.dtype(False),
                               "layers": layer_cfgs, "build_input_shape": [None, T, F]}}
    training_config = {"loss": "mean_squared_error", "loss_weights": None, "metrics": None,
                       "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
                       "jit_compile": False,
                       "optimizer_config": {"class_name": "Adam",
                                            "config": st.adam()["config"]}}
    names = {0: "kernel", 1: "recurrent_kernel", 2: "bias"}
    w = bidir["weights"]
    layers = [("bidirectional",
               [("sequential/bidirectional/forward_lstm/lstm_cell/%s" % names[i], w[i])
                for i in range(3)] +
               [("sequential/bidirectional/backward_lstm/lstm_cell/%s" % names[i], w[3 + i])
                for i in range(3)]),
              ("lstm_1", [("sequential/lstm_1/lstm_cell/%s" % names[i], lstm["weights"][i])
                          for i in range(3)]),
              ("dense", [("sequential/dense/kernel", dense["weights"][0]),
                         ("sequential/dense/bias", dense["weights"][1])])]
    trainable = [(n, v) for _, ws in layers for n, v in ws]
    opt = [("adam/iteration", np.array(33, dtype=np.int64)),
           ("adam/learning_rate", np.array(0.001, dtype=np.float32))]
    for n, v in trainable:
        opt.append(("adam/%s_momentum" % n.replace("/", "_"), uniform(v.shape, 0.01)))
        opt.append(("adam/%s_velocity" % n.replace("/", "_"), np.abs(uniform(v.shape, 0.001))))
    with h5py.File(path("k38_legacy_bilstm.h5"), "w") as f:
        f.attrs["keras_version"] = "3.8.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        f.attrs["training_config"] = json.dumps(training_config).encode("utf8")
        g = f.create_group("model_weights")
        write_layer_groups(g, layers, "vlen", "3.8.0")
        set_name_list(g.create_group("top_level_model_weights"), "weight_names", [], "vlen")
        write_optimizer_weights(f, opt, "vlen")
    add_model_case("k38_legacy_bilstm.h5", "keras 3.8 model.save('*.h5') (legacy writer)",
                   "keras_version 3.8.0 in an HDF5 file: Sequential Bidirectional(LSTM(3, "
                   "return_sequences, recurrent_activation hard_sigmoid), merge_mode ave) -> "
                   "LSTM(4) -> Dense(2); weight names are variable paths without ':0' "
                   "(sequential/bidirectional/forward_lstm/lstm_cell/kernel); Keras 3 "
                   "hard_sigmoid meaning (x/6 + 0.5) although the file is .h5; InputLayer in the "
                   "config but not in layer_names; top_level_model_weights; Keras 3 optimizer "
                   "names", [inputs_normal((3, T, F))])


def tfk210_model(bidir_w, gru_w, dense_w):
    inner = layer("LSTM", "lstm", units=3, return_sequences=True)
    return (inner,
            layer("Bidirectional", "bidirectional", bidir_w, merge_mode="concat", layer=inner),
            layer("GRU", "gru", gru_w, units=4, reset_after=True),
            layer("Dense", "dense", dense_w, units=2, activation="softmax"))


def tfk210_layers(bidir, gru, dense):
    names = ("kernel:0", "recurrent_kernel:0", "bias:0")
    w = bidir["weights"]
    # tf.keras names cells with a global counter: the user's LSTM made lstm_cell, the forward and
    # backward copies lstm_cell_1 and lstm_cell_2.
    return [("input_1", []),
            ("bidirectional",
             [("bidirectional/forward_lstm/lstm_cell_1/" + names[i], w[i]) for i in range(3)] +
             [("bidirectional/backward_lstm/lstm_cell_2/" + names[i], w[3 + i]) for i in range(3)]),
            ("gru", [("gru/gru_cell/" + names[i], gru["weights"][i]) for i in range(3)]),
            ("dense", [("dense/kernel:0", dense["weights"][0]), ("dense/bias:0", dense["weights"][1])])]


def tfk210_functional():
    """tf.keras 2.10 model.save("x.h5") of a Functional model."""
    T, F = 6, 3
    inner, bidir, gru, dense = tfk210_model(lstm_weights(F, 3) + lstm_weights(F, 3),
                                            gru_weights(6, 4, True), dense_weights(4, 2))
    model_config = {"class_name": "Functional", "config": {
        "name": "model", "layers": [
            {"class_name": "InputLayer",
             "config": {"batch_input_shape": [None, T, F], "dtype": "float32", "sparse": False,
                        "ragged": False, "name": "input_1"},
             "name": "input_1", "inbound_nodes": []},
            {"class_name": "Bidirectional",
             "config": {"name": "bidirectional", "trainable": True, "dtype": "float32",
                        "layer": {"class_name": "LSTM", "config": tf2_rnn_config(inner)},
                        "merge_mode": "concat"},
             "name": "bidirectional", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
            {"class_name": "GRU", "config": tf2_rnn_config(gru), "name": "gru",
             "inbound_nodes": [[["bidirectional", 0, 0, {}]]]},
            {"class_name": "Dense", "config": tf2_dense_config(dense), "name": "dense",
             "inbound_nodes": [[["gru", 0, 0, {}]]]}],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["dense", 0, 0]]}}
    training_config = {"loss": "categorical_crossentropy", "metrics": None,
                       "weighted_metrics": None, "loss_weights": None,
                       "optimizer_config": {"class_name": "Adam", "config": {
                           "name": "Adam", "learning_rate": 0.0010000000474974513, "decay": 0.0,
                           "beta_1": 0.8999999761581421, "beta_2": 0.9990000128746033,
                           "epsilon": 1e-07, "amsgrad": False}}}
    layers = tfk210_layers(bidir, gru, dense)
    opt = [("Adam/iter:0", np.array(90, dtype=np.int64))]
    trainable = [(n, v) for _, ws in layers for n, v in ws]
    opt += [("Adam/%s/m:0" % n[:-2], uniform(v.shape, 0.01)) for n, v in trainable]
    opt += [("Adam/%s/v:0" % n[:-2], np.abs(uniform(v.shape, 0.001))) for n, v in trainable]
    with h5py.File(path("tfk210_functional_bidir_gru.h5"), "w") as f:
        f.attrs["keras_version"] = "2.10.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        f.attrs["training_config"] = json.dumps(training_config).encode("utf8")
        g = f.create_group("model_weights")
        write_layer_groups(g, layers, "vlen", "2.10.0")
        set_name_list(g.create_group("top_level_model_weights"), "weight_names", [], "vlen")
        write_optimizer_weights(f, opt, "vlen")
    x = inputs_normal((3, T, F))
    add_model_case("tfk210_functional_bidir_gru.h5", "tf.keras 2.10 model.save('*.h5')",
                   "class_name Functional; InputLayer batch_input_shape; Bidirectional(LSTM(3, "
                   "return_sequences)) with weight names bidirectional/forward_lstm/lstm_cell_1/"
                   "kernel:0; GRU(4, reset_after=True, time_major false, implementation 2) -> "
                   "Dense(2, softmax); variable-length string name lists; "
                   "top_level_model_weights; training_config Adam; optimizer_weights "
                   "Adam/iter:0, .../m:0, .../v:0", [x])

    # model.save_weights("x.h5") of the same architecture with other weights: the model_weights
    # content at the root, no model_config.
    _, bidir2, gru2, dense2 = tfk210_model(lstm_weights(F, 3) + lstm_weights(F, 3),
                                           gru_weights(6, 4, True), dense_weights(4, 2))
    with h5py.File(path("tfk210_save_weights.h5"), "w") as f:
        write_layer_groups(f, tfk210_layers(bidir2, gru2, dense2), "vlen", "2.10.0")
        set_name_list(f.create_group("top_level_model_weights"), "weight_names", [], "vlen")
    weights, version = kr.load_h5_weights_only(path("tfk210_save_weights.h5"))
    config, _, _ = kr.load_h5_model(path("tfk210_functional_bidir_gru.h5"))
    add_case("tfk210_save_weights.h5", "tf.keras 2.10 model.save_weights('*.h5')",
             "weights-only HDF5: layer_names, backend, keras_version and the layer groups on the "
             "ROOT, no model_config; weights for tfk210_functional_bidir_gru.h5 (different "
             "values)", [x], config, weights, version,
             weights_for="tfk210_functional_bidir_gru.h5")


def k224_gru():
    """Keras 2.2.4 model.save(): h5py 2.x era fixed-length names; Sequential dict config."""
    T, F, U = 5, 3, 4
    gru_w, dense_w = gru_weights(F, U, False), dense_weights(U, 2)
    gru_cfg = {"name": "gru_1", "trainable": True, "batch_input_shape": [None, T, F],
               "dtype": "float32", "return_sequences": False, "return_state": False,
               "go_backwards": False, "stateful": False, "unroll": False, "units": U,
               "activation": "tanh", "recurrent_activation": "hard_sigmoid", "use_bias": True,
               "kernel_initializer": K2_GLOROT, "recurrent_initializer": K2_ORTH,
               "bias_initializer": K2_ZEROS, "kernel_regularizer": None,
               "recurrent_regularizer": None, "bias_regularizer": None,
               "activity_regularizer": None, "kernel_constraint": None,
               "recurrent_constraint": None, "bias_constraint": None, "dropout": 0.0,
               "recurrent_dropout": 0.0, "implementation": 1, "reset_after": False}
    model_config = {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": [
        {"class_name": "GRU", "config": gru_cfg},
        {"class_name": "Dense", "config": k2_dense_config({"units": 2}, "dense_1")}]}}
    training_config = {"optimizer_config": {"class_name": "Adam", "config": {
        "lr": 0.0010000000474974513, "beta_1": 0.8999999761581421, "beta_2": 0.9990000128746033,
        "decay": 0.0, "epsilon": 1e-07, "amsgrad": False}}, "loss": "mean_squared_error",
        "metrics": [], "sample_weight_mode": None, "loss_weights": None}
    layers = [("gru_1", [("gru_1/kernel:0", gru_w[0]), ("gru_1/recurrent_kernel:0", gru_w[1]),
                         ("gru_1/bias:0", gru_w[2])]),
              ("dense_1", [("dense_1/kernel:0", dense_w[0]), ("dense_1/bias:0", dense_w[1])])]
    params = [v for _, ws in layers for _, v in ws]
    opt = [("Adam/iterations:0", np.array(300, dtype=np.int64))]
    slots = [uniform(p.shape, 0.01) for p in params] + [np.abs(uniform(p.shape, 0.001)) for p in params]
    slots += [np.zeros((1,), np.float32) for _ in params]        # vhats placeholders (no amsgrad)
    opt += [("training/Adam/Variable%s:0" % ("" if i == 0 else "_%d" % i), v)
            for i, v in enumerate(slots)]
    with h5py.File(path("k224_gru_hard_sigmoid.h5"), "w") as f:
        f.attrs["keras_version"] = b"2.2.4"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        g = f.create_group("model_weights")
        write_layer_groups(g, layers, "fixed", "2.2.4", sort=False)
        f.attrs["training_config"] = json.dumps(training_config).encode("utf8")
        write_optimizer_weights(f, opt, "fixed")
    add_model_case("k224_gru_hard_sigmoid.h5", "keras 2.2.4 model.save()",
                   "standalone Keras 2.2.4: Sequential config as a dict {name, layers} (list "
                   "form ended with 2.2.2: see k216_*), batch_input_shape on the GRU; GRU(4, "
                   "reset_after=False, bias (12,), recurrent_activation hard_sigmoid = clip(0.2x "
                   "+ 0.5)) -> Dense(2); fixed-length NULLPAD layer_names/weight_names; names "
                   "gru_1/kernel:0 in nested groups", [inputs_normal((3, T, F)) * 2.0])


def to_cudnn_kernel(kernel, n_gates):
    """Inverse of Keras's CuDNN -> Keras conversion of the input kernel (per gate block)."""
    blocks = [k.T.reshape(k.shape) for k in np.hsplit(kernel, n_gates)]
    stored = np.hstack(blocks)
    assert np.array_equal(kr._cudnn_to_keras_kernel(stored, n_gates), kernel)
    return stored


def k216_cudnn():
    """Keras 2.1.6 model.save() with CuDNNLSTM / CuDNNGRU (list-form Sequential config)."""
    def cudnn_config(cls, name, units, batch_input_shape, return_sequences):
        cfg = {"name": name, "trainable": True, "batch_input_shape": batch_input_shape,
               "dtype": "float32", "return_sequences": return_sequences, "return_state": False,
               "go_backwards": False, "stateful": False, "units": units,
               "kernel_initializer": K2_GLOROT, "recurrent_initializer": K2_ORTH,
               "bias_initializer": K2_ZEROS}
        if cls == "CuDNNLSTM":
            cfg["unit_forget_bias"] = True
        cfg.update({"kernel_regularizer": None, "recurrent_regularizer": None,
                    "bias_regularizer": None, "activity_regularizer": None,
                    "kernel_constraint": None, "recurrent_constraint": None,
                    "bias_constraint": None})
        return cfg

    training_config = {"optimizer_config": {"class_name": "RMSprop", "config": {
        "lr": 0.0010000000474974513, "rho": 0.8999999761581421, "decay": 0.0,
        "epsilon": 1e-07}}, "loss": "mse", "metrics": [], "sample_weight_mode": None,
        "loss_weights": None}

    def write(file, layer_cfgs, layers):
        with h5py.File(path(file), "w") as f:
            f.attrs["keras_version"] = b"2.1.6"
            f.attrs["backend"] = b"tensorflow"
            f.attrs["model_config"] = json.dumps(
                {"class_name": "Sequential", "config": layer_cfgs}).encode("utf8")
            f.attrs["training_config"] = json.dumps(training_config).encode("utf8")
            write_layer_groups(f.create_group("model_weights"), layers, "fixed", "2.1.6",
                               sort=False)

    # CuDNNLSTM: bias (8U,) = input biases then recurrent biases; input kernel blocks Fortran.
    T, F, U = 5, 3, 4
    k = lstm_weights(F, U)
    split = uniform((4 * U,), 0.3)
    stored = [to_cudnn_kernel(k[0], 4), np.hstack([b.T for b in np.hsplit(k[1], 4)]),
              np.concatenate([split, k[2] - split]).astype(np.float32)]
    dense_w = dense_weights(U, 2)
    write("k216_cudnnlstm.h5",
          [{"class_name": "CuDNNLSTM",
            "config": cudnn_config("CuDNNLSTM", "cu_dnnlstm_1", U, [None, T, F], False)},
           {"class_name": "Dense", "config": k2_dense_config({"units": 2}, "dense_1")}],
          [("cu_dnnlstm_1", [("cu_dnnlstm_1/kernel:0", stored[0]),
                             ("cu_dnnlstm_1/recurrent_kernel:0", stored[1]),
                             ("cu_dnnlstm_1/bias:0", stored[2])]),
           ("dense_1", [("dense_1/kernel:0", dense_w[0]), ("dense_1/bias:0", dense_w[1])])])
    add_model_case("k216_cudnnlstm.h5", "keras 2.1.6 model.save() (CuDNNLSTM)",
                   "CuDNNLSTM(4) -> Dense(2), list-form Sequential config, no activation keys "
                   "(tanh/sigmoid implied); bias (32,) = input + recurrent biases; each (3,4) gate "
                   "block of the input kernel stored in Fortran order (convert with "
                   "k.T.reshape(k.shape, order='F') per block, recurrent blocks transposed, "
                   "bias[:16] + bias[16:])", [inputs_normal((3, T, F))])

    # CuDNNGRU: bias (6U,) -> GRU(reset_after=True) bias (2, 3U).
    T, F, U = 4, 2, 3
    g = gru_weights(F, U, True)
    stored = [to_cudnn_kernel(g[0], 3), np.hstack([b.T for b in np.hsplit(g[1], 3)]),
              g[2].reshape(-1)]
    dense_w = dense_weights(T * U, 2)
    write("k216_cudnngru.h5",
          [{"class_name": "CuDNNGRU",
            "config": cudnn_config("CuDNNGRU", "cu_dnngru_1", U, [None, T, F], True)},
           {"class_name": "Flatten", "config": {"name": "flatten_1", "trainable": True}},
           {"class_name": "Dense", "config": k2_dense_config({"units": 2}, "dense_1")}],
          [("cu_dnngru_1", [("cu_dnngru_1/kernel:0", stored[0]),
                            ("cu_dnngru_1/recurrent_kernel:0", stored[1]),
                            ("cu_dnngru_1/bias:0", stored[2])]),
           ("flatten_1", []),
           ("dense_1", [("dense_1/kernel:0", dense_w[0]), ("dense_1/bias:0", dense_w[1])])])
    add_model_case("k216_cudnngru.h5", "keras 2.1.6 model.save() (CuDNNGRU)",
                   "CuDNNGRU(3, return_sequences) -> Flatten -> Dense(2); bias (18,) becomes GRU "
                   "reset_after=True bias (2, 9); input kernel blocks in Fortran order; "
                   "Flatten's empty weight_names is a float64 (0,) array",
                   [inputs_normal((3, T, F))])


def k122_gru_simplernn():
    """Keras 1.2.2 model.save(): GRU as 9 arrays, SimpleRNN as W, U, b."""
    T, F, U1, U2 = 5, 3, 4, 3
    g = gru_weights(F, U1, False)
    s = simple_rnn_weights(U1, U2)
    d = dense_weights(U2, 2)
    gru_arrays = []
    for gate, i in (("z", 0), ("r", 1), ("h", 2)):
        gru_arrays += [("gru_1_W_%s:0" % gate, np.ascontiguousarray(g[0][:, i * U1:(i + 1) * U1])),
                       ("gru_1_U_%s:0" % gate, np.ascontiguousarray(g[1][:, i * U1:(i + 1) * U1])),
                       ("gru_1_b_%s:0" % gate, np.ascontiguousarray(g[2][i * U1:(i + 1) * U1]))]
    rnn_common = {"W_regularizer": None, "U_regularizer": None, "b_regularizer": None,
                  "dropout_W": 0.0, "dropout_U": 0.0}
    model_config = {"class_name": "Sequential", "config": [
        {"class_name": "GRU", "config": dict({
            "name": "gru_1", "trainable": True, "batch_input_shape": [None, T, F],
            "input_dtype": "float32", "output_dim": U1, "init": "glorot_uniform",
            "inner_init": "orthogonal", "activation": "tanh", "inner_activation": "hard_sigmoid",
            "return_sequences": True, "go_backwards": False, "stateful": False,
            "unroll": False, "consume_less": "cpu", "input_dim": F, "input_length": None},
            **rnn_common)},
        {"class_name": "SimpleRNN", "config": dict({
            "name": "simplernn_1", "trainable": True, "output_dim": U2,
            "init": "glorot_uniform", "inner_init": "orthogonal", "activation": "tanh",
            "return_sequences": False, "go_backwards": False, "stateful": False,
            "unroll": False, "consume_less": "cpu", "input_dim": None, "input_length": None},
            **rnn_common)},
        {"class_name": "Dense", "config": {
            "name": "dense_1", "init": "glorot_uniform", "activation": "linear",
            "W_regularizer": None, "b_regularizer": None, "activity_regularizer": None,
            "W_constraint": None, "b_constraint": None, "bias": True, "input_dim": U2,
            "output_dim": 2, "trainable": True}}]}
    training_config = {"metrics": None, "loss": "mse", "optimizer_config": {
        "class_name": "RMSprop", "config": {"epsilon": 1e-08, "lr": 0.0010000000474974513,
                                            "rho": 0.8999999761581421, "decay": 0.0}},
        "loss_weights": None, "sample_weight_mode": None}
    layers = [("gru_1", gru_arrays),
              ("simplernn_1", [("simplernn_1_W:0", s[0]), ("simplernn_1_U:0", s[1]),
                               ("simplernn_1_b:0", s[2])]),
              ("dense_1", [("dense_1_W:0", d[0]), ("dense_1_b:0", d[1])])]
    with h5py.File(path("k122_gru_simplernn.h5"), "w") as f:
        f.attrs["keras_version"] = b"1.2.2"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        f.attrs["training_config"] = json.dumps(training_config).encode("utf8")
        write_layer_groups(f.create_group("model_weights"), layers, "fixed", None,
                           backend=None, sort=False)
    add_model_case("k122_gru_simplernn.h5", "keras 1.2.2 model.save()",
                   "Keras 1: list-form Sequential, output_dim/inner_activation/consume_less; "
                   "GRU(4, return_sequences, inner_activation hard_sigmoid) as 9 arrays W_z, U_z, "
                   "b_z, W_r, U_r, b_r, W_h, U_h, b_h (reset before the product) -> SimpleRNN(3) "
                   "as W, U, b -> Dense(2) as W, b; no keras_version/backend on model_weights "
                   "(Keras 2/3 loaders then assume version '1')", [inputs_normal((3, T, F))])


def disguised():
    shutil.copyfile(path("k224_gru_hard_sigmoid.h5"), path("disguised_hdf5.keras"))
    shutil.copyfile(path("k38_sequential_lstm.keras"), path("disguised_zip.h5"))
    src = {c["file"]: c for c in CASES}
    for new, old, what in (
            ("disguised_hdf5.keras", "k224_gru_hard_sigmoid.h5",
             "a .keras name on an HDF5 file (byte copy of k224_gru_hard_sigmoid.h5): sniff "
             "\\x89HDF, not the extension"),
            ("disguised_zip.h5", "k38_sequential_lstm.keras",
             "a .h5 name on a Keras 3 zip (byte copy of k38_sequential_lstm.keras): sniff PK")):
        case = dict(src[old], file=new, what=what, copy_of=old)
        CASES.append(case)


# ---- the shared real files ----------------------------------------------------------------

def shared_cases():
    shared = os.path.join(HERE, "shared")
    for model_file, io_file, rnn_name, out_name in kr.GOLDEN_PAIRS:
        config, weights, version = kr.load_h5_model(os.path.join(shared, model_file))
        with h5py.File(os.path.join(shared, io_file), "r") as f:
            x = np.asarray(next(iter(f["inputs"].values())))
            act = np.asarray(f["activations"][rnn_name])
            pred = np.asarray(f["predictions"][out_name])
        outputs, per_layer = kr.run_model(config, weights, [x.astype(np.float64)], version)
        err = max(float(np.max(np.abs(outputs[0] - pred))),
                  float(np.max(np.abs(per_layer[rnn_name][0] - act))))
        CASES.append({
            "file": "shared/" + model_file, "writer": "keras %s (real file)" % version,
            "what": "outputs computed by Keras itself (%s: predictions/%s; activations/%s is "
                    "the recurrent layer's output)" % (io_file, out_name, rnn_name),
            "source": "keras", "inputs": [tensor(x)], "outputs": [tensor(pred)],
            "activations": [dict(tensor(act), layer=rnn_name)],
            "reference_max_abs_error": float("%.3g" % err), "atol": tolerance(err)})

    add_model_case("shared/k213_simple_lstm.h5", "keras 2.1.3 (real file)",
                   "batch_input_shape fixed [25, 1, 1]: 25 other random inputs, reference outputs",
                   [inputs_normal((25, 1, 1))], source="keras_reference.py")

    x = inputs_normal((3, 10, 42))
    x[0, 7:] = 0.0            # post-padding
    x[1, :4] = 0.0            # pre-padding
    x[2, 3] = 0.0             # a hole
    x[2, 5] = 0.0
    add_model_case("shared/k220_masking_lstm.h5", "keras 2.2.0 (real file)",
                   "Masking(0.0) -> LSTM(32, hard_sigmoid = 0.2x + 0.5); row 0 masked at t=7..9, "
                   "row 1 at t=0..3, row 2 at t=3 and t=5", [x], source="keras_reference.py")

    ins = [inputs_normal((2, 17, 4)), inputs_normal((2, 1, 10)), inputs_normal((2, 5, 4)),
           inputs_normal((2, 12)), inputs_normal((2, 12))]
    add_model_case("shared/k225_functional_lstm_bidir.h5", "keras 2.2.5 (real file)",
                   "5 inputs (input_3 has None timesteps: 5 used here; input_4/input_5 are "
                   "lstm_15's initial h and c), 17 outputs in output_layers order including "
                   "return_state h and c; recurrent_activation relu, linear, sigmoid, "
                   "hard_sigmoid", ins, source="keras_reference.py")

    add_model_case("shared/tfk224_gru_stateful_initstate.h5", "tf.keras 2.2.4-tf (real file)",
                   "stateful GRU(1, linear, use_bias=False, reset_after=True) with batch fixed to "
                   "1; the second input is the initial state (first call after reset)",
                   [inputs_normal((1, 3, 1)), inputs_normal((1, 1))], source="keras_reference.py")


# ---- hostile files ---------------------------------------------------------------------------

def hostile(name, what):
    HOSTILE.append({"file": "hostile/" + name, "what": what})
    return path(os.path.join("hostile", name))


def hostile_files():
    good = open(path("k38_sequential_lstm.keras"), "rb").read()
    with open(hostile("truncated.keras", "zip cut at 60% of its bytes (no central directory)"),
              "wb") as f:
        f.write(good[:len(good) * 6 // 10])

    # A config.json member of 60 MB of zeros, deflated to ~60 KB (ratio > 1000).
    members = keras_zip_members(BOMB_MODEL, K38)
    p = hostile("zip_bomb_config.keras",
                "config.json is 60,000,000 bytes of zeros deflated to about 58 KB (expands "
                "> 1000x); refuse by declared/actual size before inflating")
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr(zipfile.ZipInfo("metadata.json"), members[0][1])
        info = zipfile.ZipInfo("config.json")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w") as out:
            chunk = bytes(1 << 20)
            for _ in range(60):
                out.write(chunk[:1000000])
        zf.writestr(members[2][0], members[2][1])

    deep = "[" * 10000 + "]" * 10000
    config = ('{"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", '
              '"layers": %s}, "registered_name": null}' % deep)
    write_zip(hostile("deep_config.keras",
                      "config.json nests 10,000 arrays inside 'layers': needs a depth limit"),
              [("metadata.json", members[0][1]), ("config.json", config.encode()),
               members[2]])

    write_zip(hostile("path_traversal.keras",
                      "an extra member named ../evil.txt: never extract members to disk by name"),
              members[:2] + [("../evil.txt", b"should never be written\n"), members[2]])

    # A weights dataset whose dataspace claims (1000000, 1000000) float32 = 4 TB, 220 bytes stored.
    p = hostile("huge_dataset.h5",
                "dense_1/kernel:0 declares shape (1000000, 1000000) (10^12 float32, 4 TB) while "
                "220 bytes are stored: check declared size against storage before allocating")
    shutil.copyfile(path("k224_gru_hard_sigmoid.h5"), p)
    with h5py.File(p, "r+") as f:
        g = f["model_weights/dense_1/dense_1"]
        del g["kernel:0"]
        g.create_dataset("kernel:0", data=np.ones((5, 11), np.float32))
    raw = bytearray(open(p, "rb").read())
    pattern = struct.pack("<QQ", 5, 11)
    hits = [i for i in range(len(raw) - 15) if raw[i:i + 16] == pattern]
    assert len(hits) == 2 and hits[1] == hits[0] + 16, hits   # dims then max dims
    for i in hits:
        raw[i:i + 16] = struct.pack("<QQ", 10 ** 6, 10 ** 6)
    open(p, "wb").write(bytes(raw))
    with h5py.File(p, "r") as f:
        assert f["model_weights/dense_1/dense_1/kernel:0"].shape == (10 ** 6, 10 ** 6)

    p = hostile("bad_model_config.h5", "model_config attribute is not JSON (cut mid-string)")
    shutil.copyfile(path("k224_gru_hard_sigmoid.h5"), p)
    with h5py.File(p, "r+") as f:
        text = f.attrs["model_config"]
        text = text.encode() if isinstance(text, str) else text
        f.attrs["model_config"] = text[:len(text) // 3]

    wrong = json.loads(members[1][1])
    wrong["config"]["layers"][1]["config"]["units"] = 64
    write_zip(hostile("wrong_units.keras",
                      "config says the first LSTM has units 64; the stored weights are for units "
                      "4 (kernel (3, 16), recurrent_kernel (4, 16), bias (16,))"),
              [members[0], ("config.json", json.dumps(wrong).encode()), members[2]])

    unknown = json.loads(members[1][1])
    unknown["config"]["layers"][1]["class_name"] = "ConvLSTM2D"
    write_zip(hostile("unknown_layer_convlstm2d.keras",
                      "a layer class recur does not have (ConvLSTM2D in place of the first LSTM)"),
              [members[0], ("config.json", json.dumps(unknown).encode()), members[2]])

    bidir = json.loads(open_member(path("k305_bidir_lstm_gru.keras"), "config.json"))
    bidir["config"]["layers"][1]["config"]["merge_mode"] = None
    write_zip(hostile("bidirectional_merge_mode_null.keras",
                      "Bidirectional merge_mode null (the layer returns a list of two tensors)"),
              [(zipfile.ZipInfo("metadata.json"), open_member(path("k305_bidir_lstm_gru.keras"),
                                                              "metadata.json")),
               ("config.json", json.dumps(bidir).encode()),
               zip_member(path("k305_bidir_lstm_gru.keras"), "model.weights.h5")])

    custom = json.loads(members[1][1])
    lstm = custom["config"]["layers"][1]
    cell_cfg = {k: v for k, v in lstm["config"].items()
                if k not in ("return_sequences", "return_state", "go_backwards", "stateful",
                             "unroll", "zero_output_for_mask", "activity_regularizer")}
    cell_cfg["name"] = "peephole_lstm_cell"
    custom["config"]["layers"][1] = {
        "module": "keras.layers", "class_name": "RNN",
        "config": {"name": "rnn", "trainable": True, "dtype": lstm["config"]["dtype"],
                   "return_sequences": True, "return_state": False, "go_backwards": False,
                   "stateful": False, "unroll": False, "zero_output_for_mask": False,
                   "cell": {"module": "my_project.cells", "class_name": "PeepholeLSTMCell",
                            "config": cell_cfg, "registered_name": "MyProject>PeepholeLSTMCell",
                            "build_config": {"input_shape": [None, 3]}}},
        "registered_name": None, "build_config": lstm["build_config"]}
    write_zip(hostile("custom_rnn_cell.keras",
                      "RNN layer wrapping a custom cell (registered_name "
                      "'MyProject>PeepholeLSTMCell'): refuse with a message naming the class"),
              [members[0], ("config.json", json.dumps(custom).encode()), members[2]])

    npz = io.BytesIO()
    np.savez(npz, **{"layers/lstm/cell/vars/0": np.zeros((3, 16), np.float32)})
    write_zip(hostile("weights_npz.keras",
                      "weights stored as model.weights.npz (weights_format='npz') instead of "
                      "model.weights.h5"),
              members[:2] + [("model.weights.npz", npz.getvalue())])

    p = hostile("external_link.h5",
                "dense_1/kernel:0 is an HDF5 external link to /etc/passwd.h5: never follow "
                "soft or external links")
    shutil.copyfile(path("k224_gru_hard_sigmoid.h5"), p)
    with h5py.File(p, "r+") as f:
        g = f["model_weights/dense_1/dense_1"]
        del g["kernel:0"]
        g["kernel:0"] = h5py.ExternalLink("/etc/passwd.h5", "/kernel")


def open_member(zip_path, name):
    with zipfile.ZipFile(zip_path) as zf:
        return zf.read(name)


def zip_member(zip_path, name):
    with zipfile.ZipFile(zip_path) as zf:
        info = zf.getinfo(name)
        return (zipfile.ZipInfo(name, date_time=info.date_time), zf.read(name))


BOMB_MODEL = None


def to_json(out):
    """reference.json with one case per line (diffable, compact)."""
    lines = ["{"]
    keys = [k for k in out if k not in ("cases", "hostile")]
    for k in keys:
        lines.append(" %s: %s," % (json.dumps(k), json.dumps(out[k])))
    for k in ("cases", "hostile"):
        lines.append(" %s: [" % json.dumps(k))
        items = out[k]
        for i, item in enumerate(items):
            lines.append("  " + json.dumps(item) + ("," if i + 1 < len(items) else ""))
        lines.append(" ]" + ("," if k == "cases" else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    global BOMB_MODEL
    os.makedirs(path("hostile"), exist_ok=True)
    k38_sequential_lstm()
    k305_bidir_lstm_gru()
    k310_seq2seq()
    k38_embedding_bigru_lstm()
    k38_masking_lstm_td()
    k38_simplernn_go_backwards()
    k38_activations()
    k38_functional_merge()
    with own_stream(SEED + 1):
        k38_bidir_states()
    k38_legacy_h5()
    tfk210_functional()
    k224_gru()
    k216_cudnn()
    k122_gru_simplernn()
    disguised()
    shared_cases()
    BOMB_MODEL = {"kind": "Sequential", "name": "sequential",
                  "input": layer("InputLayer", "input_layer", batch_shape=(None, 5, 3)),
                  "layers": [layer("LSTM", "lstm", lstm_weights(3, 4), units=4,
                                   return_sequences=True),
                             layer("Dense", "dense", dense_weights(4, 2), units=2)]}
    hostile_files()

    out = {"generator": "tests/golden/keras/make_keras_files.py (seed %d)" % SEED,
           "reference": "tests/golden/keras/keras_reference.py (float64)",
           "compare": "|got - want| <= atol, element-wise; arrays are flat, row-major",
           "cases": CASES, "hostile": HOSTILE}
    with open(path("reference.json"), "w") as f:
        f.write(to_json(out))

    total = 0
    for root, _, files in os.walk(HERE):
        for name in sorted(files):
            if name.endswith((".h5", ".keras")) and "shared" not in root:
                size = os.path.getsize(os.path.join(root, name))
                total += size
                assert size < 100 * 1024, (name, size)
    print("%d cases, %d hostile files, %d bytes of generated model files"
          % (len(CASES), len(HOSTILE), total))


if __name__ == "__main__":
    main()
