"""Training speed of nn_core against PyTorch on the CPU, and against the machine's own
float32 matrix-multiply rate; and peak memory of a full-MNIST training run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/speed.py [--epochs 3]

(Those two variables pin OpenBLAS to an older kernel on some machines; unset them for a fair
measurement of a current NumPy. PyTorch is optional: `pip install torch==2.13.0`.)

Prints seconds per epoch on the 60,000 training images for 784-256-128-10 relu, mini_batch 128,
plain gradient descent, for both libraries (median of the epochs), their ratio, the float32
GEMM rate of this machine, and the share of it that each library's training reaches.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nn_core.data import load_mnist  # noqa: E402
from nn_core.training import TrainConfig, Trainer  # noqa: E402

DIMS = [784, 256, 128, 10]
BATCH, RATE = 128, 0.1


def flops_per_sample(dims):
    """Multiply-adds x 2 of forward (W @ A), backward dW (dZ @ A.T) and dA (W.T @ dZ, not needed
    for the first layer) of one sample."""
    macs = sum(a * b for a, b in zip(dims, dims[1:]))
    dA = sum(a * b for a, b in zip(dims[1:-1], dims[2:]))
    return 2 * (2 * macs + dA)


def gemm_rate(n=2048, repeats=5):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.T.copy()
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n**3 / min(times)


def nn_core_epochs(x, y, epochs):
    config = TrainConfig(layer_data={"Dim": DIMS, "Activs": ["relu", "relu", "softmax"]}, epochs=epochs,
                         mini_batch=BATCH, rate=RATE, optimizer="gd", val_fraction=0.0)
    return [r.seconds for r in Trainer(config, x, y).run()]


def torch_epochs(x, y, epochs):
    import torch

    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(DIMS, DIMS[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(DIMS) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(net.parameters(), lr=RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    X, Y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(X.shape[0])
        for i in range(0, X.shape[0], BATCH):
            idx = perm[i : i + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(X[idx]), Y[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times, torch.__version__, torch.get_num_threads()


def peak_memory_of_training():
    """Peak resident memory (MiB) of a separate process that loads MNIST and runs the default
    training (``TrainConfig()``, all 60,000 images) to the end."""
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "from nn_core.data import load_mnist\nfrom nn_core.training import TrainConfig, Trainer\n"
        "d = load_mnist()\nlist(Trainer(TrainConfig(), d.x_train, d.y_train).run())\n" % str(ROOT)
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description="nn_core training speed and memory")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    print("OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s, %d cores" % (
        os.environ.get("OPENBLAS_CORETYPE", "(unset)"), os.environ.get("OPENBLAS_L2_SIZE", "(unset)"), os.cpu_count()))
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            print("BLAS: %s %s, %s kernel, %d threads" % (info.get("internal_api"), info.get("version"), info.get("architecture"), info.get("num_threads")))
    except ImportError:
        pass
    d = load_mnist()
    rate = gemm_rate()
    flops = flops_per_sample(DIMS) * d.x_train.shape[0]
    print("float32 matrix multiply (2048x2048): %.1f GFLOP/s" % (rate / 1e9))
    print("one epoch of %s on %d images: %.1f GFLOP" % ("-".join(map(str, DIMS)), d.x_train.shape[0], flops / 1e9))

    ours = statistics.median(nn_core_epochs(d.x_train, d.y_train, args.epochs))
    print("nn_core: %.3f s per epoch (%.0f%% of the matrix-multiply rate)" % (ours, 100 * flops / ours / rate))
    try:
        times, version, threads = torch_epochs(d.x_train, d.y_train, args.epochs)
    except ImportError:
        print("PyTorch: not installed (pip install torch==2.13.0 to compare)")
    else:
        theirs = statistics.median(times)
        print("PyTorch %s (%d threads): %.3f s per epoch (%.0f%% of the matrix-multiply rate)" % (
            version, threads, theirs, 100 * flops / theirs / rate))
        print("ratio nn_core / PyTorch: %.2f (below 1 means nn_core is faster)" % (ours / theirs))
    print("peak resident memory of a full-MNIST training run (default settings): %.0f MiB" % peak_memory_of_training())


if __name__ == "__main__":
    main()
