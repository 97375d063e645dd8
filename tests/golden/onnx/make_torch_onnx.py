#!/usr/bin/env python3
"""Writes the PyTorch-exported ONNX models recur's import is tested on (tests/model/onnx_torch_test.cpp).

Each model is exported with torch.onnx.export (TorchScript exporter, opset 14, dynamic batch axis),
and torch_outputs.json holds, per model, the input it was run on and PyTorch's outputs:

    {"torch": "1.13.1", "models": [{"file": "lstm_linear.onnx",
        "inputs": {"x": {"dims": [3, 5, 3], "values": [...]}},
        "outputs": {"y": {"dims": [3, 2], "values": [...]}}}, ...]}

Run from anywhere with Debian's python3-torch (1.13) and python3-onnx; the files are committed, so
the tests need no Python:

    /usr/bin/python3 tests/golden/onnx/make_torch_onnx.py
"""
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


class LstmLinear(torch.nn.Module):
    """nn.LSTM(batch_first) and a Linear on the last step: out[:, -1, :]."""

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 5, batch_first=True)
        self.head = torch.nn.Linear(5, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1, :])


class BiGruLinear(torch.nn.Module):
    """A bidirectional GRU and a Linear on every step."""

    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(3, 4, batch_first=True, bidirectional=True)
        self.head = torch.nn.Linear(8, 2)

    def forward(self, x):
        out, _ = self.gru(x)
        return torch.tanh(self.head(out))


class Lstm2Layers(torch.nn.Module):
    """A 2-layer LSTM; the output is the last layer's final h (h_n[-1])."""

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return h[-1]


class GruWithState(torch.nn.Module):
    """A GRU started from a given h0; outputs the sequence (through a Linear) and h_n."""

    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(2, 3, batch_first=True)
        self.head = torch.nn.Linear(3, 1)

    def forward(self, x, h0):
        out, h = self.gru(x, h0)
        return self.head(out), h


class BiLstmClassifier(torch.nn.Module):
    """A bidirectional LSTM whose two final states are concatenated: cat(h_n[-2], h_n[-1])."""

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True)
        self.head = torch.nn.Linear(8, 3)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return torch.softmax(self.head(torch.cat((h[-2], h[-1]), dim=1)), dim=1)


class TimeMajorGru(torch.nn.Module):
    """A GRU on time-major input (batch_first=False): x (T, batch, F) -> out (T, batch, H)."""

    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(2, 3)

    def forward(self, x):
        out, _ = self.gru(x)
        return out


def tensor_json(t):
    return {"dims": list(t.shape), "values": [float(v) for v in t.detach().reshape(-1).tolist()]}


def main():
    torch.manual_seed(20240601)
    cases = [
        ("lstm_linear", LstmLinear(), {"x": torch.randn(3, 5, 3)}, ["y"]),
        ("bigru_linear", BiGruLinear(), {"x": torch.randn(2, 6, 3)}, ["y"]),
        ("lstm_2layers", Lstm2Layers(), {"x": torch.randn(4, 5, 3)}, ["h_last"]),
        ("gru_with_state", GruWithState(), {"x": torch.randn(3, 4, 2), "h0": torch.randn(1, 3, 3)}, ["y", "h_n"]),
        ("bilstm_classifier", BiLstmClassifier(), {"x": torch.randn(3, 5, 3)}, ["probabilities"]),
        ("time_major_gru", TimeMajorGru(), {"x_tbf": torch.randn(6, 2, 2)}, ["out_tbh"]),
    ]
    models = []
    for name, module, inputs, output_names in cases:
        module.eval()
        with torch.no_grad():
            args = tuple(inputs.values())
            outputs = module(*args)
            if not isinstance(outputs, tuple):
                outputs = (outputs,)
            # The batch axis: 1 in h0, h_n and the time-major tensors, else 0.
            def batch_axis(name):
                return 1 if name in ("h0", "h_n", "x_tbf", "out_tbh") else 0
            dynamic = {k: {batch_axis(k): "batch"} for k in list(inputs) + output_names}
            path = os.path.join(HERE, name + ".onnx")
            torch.onnx.export(module, args, path, input_names=list(inputs), output_names=output_names,
                              opset_version=14, dynamic_axes=dynamic)
        models.append({
            "file": name + ".onnx",
            "inputs": {k: tensor_json(v) for k, v in inputs.items()},
            "outputs": {k: tensor_json(v) for k, v in zip(output_names, outputs)},
        })
    with open(os.path.join(HERE, "torch_outputs.json"), "w") as f:
        json.dump({"torch": torch.__version__, "models": models}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
