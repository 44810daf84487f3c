"""Reproduce a trainviz run's test accuracy on CIFAR-10 from its weights.npz with NumPy.

    python3 tests/python/check_npz.py RUN/weights.npz CIFAR_DIR [--expect PERCENT] [--tol PERCENT]

An MLP's archive and a layer stack's (one with a "layers" entry) each have their lines; the
lines between "--- README snippet ---" and "--- README ConvNet snippet ---" markers are the
ones README.md shows (tests/suite/embed.rs checks that it shows them as they are here).
"""
import argparse
import sys

import numpy as np


def accuracy(npz_path, cifar_dir):
    # --- README snippet ---
    f = np.load(npz_path)
    act = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
           "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[bytes(f["activation"]).decode()]
    raw = np.fromfile(f"{cifar_dir}/test_batch.bin", dtype=np.uint8).reshape(-1, 3073)
    labels, a = raw[:, 0], (raw[:, 1:].astype(np.float32) - f["mean"]) * f["scale"]
    layers = sum(1 for k in f.files if k.startswith("W"))
    for l in range(1, layers + 1):
        a = a @ f[f"W{l}"].T + f[f"b{l}"]
        if l < layers:
            a = act(a)
    print(f"test accuracy {100 * np.mean(a.argmax(1) == labels):.2f} %")
    # --- README snippet ---
    return 100 * np.mean(a.argmax(1) == labels)


def stack_accuracy(npz_path, cifar_dir):
    # --- README ConvNet snippet ---
    from numpy.lib.stride_tricks import sliding_window_view
    f = np.load(npz_path)
    act = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
           "sigmoid": lambda z: 1 / (1 + np.exp(-z))}
    h, w, c = f["shape"]

    def scores(x):  # x: images × pixels as the data set stores them (channel planes)
        a = ((x - f["mean"]) * f["scale"]).reshape(-1, c, h, w).transpose(0, 2, 3, 1)
        for i, layer in enumerate(bytes(f["layers"]).decode().split(",") + ["output"], 1):
            kind, *arg = layer.split()
            if kind in ("patchify", "conv"):  # filters k×k, stride k or 1 with zero padding
                k = int(arg[0].split(":")[0])
                pad, stride = (k // 2, 1) if kind == "conv" else (0, k)
                a = np.pad(a, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
                a = sliding_window_view(a, (k, k), axis=(1, 2))[:, ::stride, ::stride]
                a = a.transpose(0, 1, 2, 4, 5, 3)  # each patch ordered row, column, channel
                a = a.reshape(*a.shape[:3], -1) @ f[f"W{i}"].T + f[f"b{i}"]
            elif kind in ("dense", "output"):
                a = (a.reshape(len(a), -1) @ f[f"W{i}"].T + f[f"b{i}"])[:, None, None, :]
            elif kind == "flatten":
                a = a.reshape(len(a), 1, 1, -1)
            elif kind == "pool":  # p×p max pooling, stride p; a ragged edge is dropped
                p, (n, y, x_, ch) = int(arg[0]), a.shape
                a = a[:, :y // p * p, :x_ // p * p]
                a = a.reshape(n, y // p, p, x_ // p, p, ch).max(axis=(2, 4))
            elif kind == "bn":  # running averages, per channel
                a = (a - f[f"mean{i}"]) / np.sqrt(f[f"var{i}"] + 1e-8) * f[f"gamma{i}"] + f[f"beta{i}"]
            elif kind in act:
                a = act[kind](a)
            # dropout: nothing at test time
        return a.reshape(len(a), -1)

    raw = np.fromfile(f"{cifar_dir}/test_batch.bin", dtype=np.uint8).reshape(-1, 3073)
    labels = raw[:, 0]
    predicted = np.concatenate([scores(raw[i:i + 500, 1:].astype(np.float32)).argmax(1)
                                for i in range(0, len(raw), 500)])
    print(f"test accuracy {100 * np.mean(predicted == labels):.2f} %")
    # --- README ConvNet snippet ---
    return 100 * np.mean(predicted == labels)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("npz")
    p.add_argument("cifar_dir")
    p.add_argument("--expect", type=float, help="the accuracy trainviz reported, in %")
    p.add_argument("--tol", type=float, default=0.05, help="allowed difference, in %")
    args = p.parse_args()
    if "layers" in np.load(args.npz).files:
        acc = stack_accuracy(args.npz, args.cifar_dir)
    else:
        acc = accuracy(args.npz, args.cifar_dir)
    if args.expect is not None and abs(acc - args.expect) > args.tol:
        print(f"expected {args.expect:.2f} %, got {acc:.2f} %", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
