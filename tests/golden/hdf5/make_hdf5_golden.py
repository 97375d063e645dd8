"""Writes keras_like.h5, read by tests/io/hdf5_test.cpp (Hdf5Golden): a file laid out the way
Keras 2's legacy HDF5 writer (save_weights_to_hdf5_group / save_attributes_to_hdf5_group) lays
it out, written by h5py itself so that the test reads h5py's own encodings:

- a Python str attribute (h5py: scalar, variable-length UTF-8),
- np.array of bytes (h5py: 1-D fixed-length NULLPAD ASCII) for layer_names and weight_names,
- np.asarray([]) for an empty weight_names (h5py: float64 of shape (0,)),
- float32, float16 and big-endian float64 datasets, a chunked gzip+shuffle+fletcher32 dataset,
- an int64 scalar (an optimizer's iteration count).

Run: python3 tests/golden/hdf5/make_hdf5_golden.py   (h5py 3.7, numpy; deterministic output
except HDF5's object timestamps, which h5py does not write by default).
"""
import json
import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    path = os.path.join(HERE, "keras_like.h5")
    with h5py.File(path, "w", track_order=False) as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": "s\u00e9quence"}})
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = np.array([b"lstm", b"dropout", b"dense"])
        weights.attrs["backend"] = "tensorflow"
        lstm = weights.create_group("lstm").create_group("lstm").create_group("lstm_cell")
        kernel = np.arange(2 * 8, dtype=np.float32).reshape(2, 8) / 8
        recurrent = (np.arange(2 * 8, dtype=np.float32).reshape(2, 8) - 8).astype(np.float16)
        bias = np.linspace(-1, 1, 8).astype(">f8")
        lstm.create_dataset("kernel:0", data=kernel)
        lstm.create_dataset("recurrent_kernel:0", data=recurrent)
        lstm.create_dataset("bias:0", data=bias)
        weights["lstm"].attrs["weight_names"] = np.array(
            [b"lstm/lstm_cell/kernel:0", b"lstm/lstm_cell/recurrent_kernel:0", b"lstm/lstm_cell/bias:0"])
        dropout = weights.create_group("dropout")
        dropout.attrs["weight_names"] = np.asarray([])
        dense = weights.create_group("dense").create_group("dense")
        dense.create_dataset("kernel:0", data=np.linspace(0, 1, 2 * 3, dtype=np.float32).reshape(2, 3),
                             chunks=(1, 2), compression="gzip", shuffle=True, fletcher32=True)
        weights["dense"].attrs["weight_names"] = np.array([b"dense/kernel:0"])
        opt = f.create_group("optimizer_weights")
        opt.create_dataset("iter:0", data=np.int64(1234))


if __name__ == "__main__":
    main()
