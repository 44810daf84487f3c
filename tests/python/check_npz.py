"""Reproduce a trainviz run's test accuracy on CIFAR-10 from its weights.npz with NumPy.

    python3 tests/python/check_npz.py RUN/weights.npz CIFAR_DIR [--expect PERCENT] [--tol PERCENT]

The lines between "--- README snippet ---" markers are the ones README.md shows.
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("npz")
    p.add_argument("cifar_dir")
    p.add_argument("--expect", type=float, help="the accuracy trainviz reported, in %")
    p.add_argument("--tol", type=float, default=0.05, help="allowed difference, in %")
    args = p.parse_args()
    acc = accuracy(args.npz, args.cifar_dir)
    if args.expect is not None and abs(acc - args.expect) > args.tol:
        print(f"expected {args.expect:.2f} %, got {acc:.2f} %", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
