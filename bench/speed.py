"""Training speed of nn_core against PyTorch on the CPU, and against the machine's own
float32 matrix-multiply rate; and peak memory of a full-MNIST training run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/speed.py [--epochs 5] [--threads 1] [--no-memory]
        [--one-thread-too]

(Those two variables pin OpenBLAS to an older kernel on some machines; unset them for a fair
measurement of a current NumPy. PyTorch is optional: `pip install torch==2.13.0`.)

Prints seconds per epoch on the 60,000 training images for 784-256-128-10 relu, mini_batch 128,
plain gradient descent, for both libraries (median of the epochs), their ratio, the float32
GEMM rate of this machine, and the share of it that each library's training reaches. With
``--one-thread-too``, each round also trains an epoch of nn_core with BLAS held to one thread
(``threadpoolctl``), beside the epoch with every thread: on a machine shared with other work, the
products of a mini-batch wait for the slower of two threads at every call. Each round also times
the products of an epoch alone (the six matrix products of each mini-batch, nothing between them):
the least time any NumPy trainer of this network and mini-batch can take on this BLAS; and the
same training as bare NumPy (``bare_epoch``): the products and the least element-wise work they need.
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


def products_alone(n, dims=DIMS, batch=BATCH):
    """Seconds of the matrix products of one epoch of ``n`` images and nothing else: per mini-batch,
    ``W @ A`` for every layer, ``dZ @ A.T`` for every layer and ``W.T @ dZ`` for all but the first,
    with the shapes and memory layouts training uses."""
    rng = np.random.default_rng(0)
    W = [rng.standard_normal((b, a)).astype(np.float32) for a, b in zip(dims, dims[1:])]
    X = rng.random((batch, dims[0]), dtype=np.float32)  # rows, as gathered; the layers see X.T
    A = [X.T] + [np.ones((d, batch), np.float32) for d in dims[1:]]
    start = time.perf_counter()
    for _ in range(-(-n // batch)):
        for l, w in enumerate(W):
            w @ A[l]
        for l in range(len(W) - 1, -1, -1):
            A[l + 1] @ A[l].T
            if l:
                W[l].T @ A[l + 1]
    return time.perf_counter() - start


def bare_epoch(x, y, dims=DIMS, batch=BATCH, rate=RATE, seed=0):
    """Seconds of one epoch of the same training written as bare NumPy, every array made once and
    reused (``out=``): per mini-batch the gather of its images, each layer's product, bias and relu
    (softmax at the end), the output's gradient, each layer's weight and bias gradients, the relu
    masks and the update; no cost, accuracy, schedule, checks or progress. What a NumPy trainer of
    this network spends at the least, beyond its products, on this machine."""
    rng = np.random.default_rng(seed)
    W = [(rng.standard_normal((b, a)) * np.sqrt(2 / a)).astype(np.float32) for a, b in zip(dims, dims[1:])]
    bias = [np.zeros((b, 1), np.float32) for b in dims[1:]]
    Y = np.zeros((len(y), dims[-1]), np.float32)
    Y[np.arange(len(y)), y] = 1
    Xb = np.empty((batch, dims[0]), np.float32)
    Yb = np.empty((batch, dims[-1]), np.float32)
    Z = [np.empty((d, batch), np.float32) for d in dims[1:]]
    A = [Xb.T] + [np.empty((d, batch), np.float32) for d in dims[1:]]
    dZ = [np.empty((d, batch), np.float32) for d in dims[1:]]
    dW = [np.empty_like(w) for w in W]
    db = [np.empty_like(b) for b in bias]
    top = np.empty((1, batch), np.float32)
    step = np.float32(rate)
    perm = rng.permutation(len(y))
    start = time.perf_counter()
    for i in range(len(y) // batch):  # whole mini-batches only, so that every buffer keeps its shape
        idx = perm[i * batch : (i + 1) * batch]
        np.take(x, idx, axis=0, out=Xb)
        np.take(Y, idx, axis=0, out=Yb)
        for l, w in enumerate(W):
            np.matmul(w, A[l], out=Z[l])
            Z[l] += bias[l]
            if l < len(W) - 1:
                np.maximum(Z[l], 0, out=A[l + 1])
        out = A[-1]
        np.max(Z[-1], axis=0, keepdims=True, out=top)
        np.subtract(Z[-1], top, out=out)
        np.exp(out, out=out)
        np.sum(out, axis=0, keepdims=True, out=top)
        out /= top
        np.subtract(out, Yb.T, out=dZ[-1])
        dZ[-1] *= np.float32(1 / batch)
        for l in range(len(W) - 1, -1, -1):
            np.matmul(dZ[l], A[l].T, out=dW[l])
            np.sum(dZ[l], axis=1, keepdims=True, out=db[l])
            if l:
                np.matmul(W[l].T, dZ[l], out=dZ[l - 1])
                np.multiply(dZ[l - 1], Z[l - 1] > 0, out=dZ[l - 1])
        for w, g, b, gb in zip(W, dW, bias, db):
            g *= step
            w -= g
            gb *= step
            b -= gb
    return time.perf_counter() - start


def nn_core_epochs(x, y, epochs):
    """Yields the seconds of each training epoch of nn_core."""
    config = TrainConfig(
        layer_data={"Dim": DIMS, "Activs": ["relu", "relu", "softmax"]},
        epochs=epochs,
        mini_batch=BATCH,
        rate=RATE,
        optimizer="gd",
        schedule="constant",
        dropout=0.0,
        val_fraction=0.0,
    )
    for record in Trainer(config, x, y).run():
        yield record.seconds


def torch_epochs(x, y, epochs):
    """Yields the seconds of each epoch of the same network and loop in PyTorch."""
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
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(X.shape[0])
        for i in range(0, X.shape[0], BATCH):
            idx = perm[i : i + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(X[idx]), Y[idx])
            loss.backward()
            opt.step()
        yield time.perf_counter() - start


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
    parser.add_argument("--threads", type=int, default=None, help="BLAS/OpenMP threads for both libraries (default: all cores)")
    parser.add_argument(
        "--one-thread-too", action="store_true", help="also time nn_core with BLAS on one thread, in the same rounds"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory run (a whole default training)")
    args = parser.parse_args()
    if args.threads and os.environ.get("OPENBLAS_NUM_THREADS") != str(args.threads):
        # Thread pools are sized when the libraries load: start again with the variables set.
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    print(
        "OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s, %d cores, threads: %s"
        % (
            os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
            os.environ.get("OPENBLAS_L2_SIZE", "(unset)"),
            os.cpu_count(),
            args.threads or "all",
        )
    )
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            print(
                "BLAS: %s %s, %s kernel, %d threads"
                % (info.get("internal_api"), info.get("version"), info.get("architecture"), info.get("num_threads"))
            )
    except ImportError:
        pass
    d = load_mnist()
    flops = flops_per_sample(DIMS) * d.x_train.shape[0]
    print(
        "one epoch of %s on %d images, mini_batch %d: %.1f GFLOP"
        % ("-".join(map(str, DIMS)), d.x_train.shape[0], BATCH, flops / 1e9)
    )
    try:
        import torch

        theirs = torch_epochs(d.x_train, d.y_train, args.epochs)
        print("PyTorch %s, %d threads" % (torch.__version__, torch.get_num_threads()))
    except ImportError:
        theirs = None
        print("PyTorch: not installed (pip install torch==2.13.0 to compare)")
    ours = nn_core_epochs(d.x_train, d.y_train, args.epochs)
    single = nn_core_epochs(d.x_train, d.y_train, args.epochs) if args.one_thread_too else None
    # Timings on a shared machine drift: measure the three side by side, one epoch each per round.
    rounds = []
    for i in range(args.epochs):
        rate = gemm_rate()
        row = {"gemm": rate, "nn_core": next(ours), "products": products_alone(d.x_train.shape[0])}
        row["bare"] = bare_epoch(d.x_train, d.y_train, seed=i)
        if theirs is not None:
            row["torch"] = next(theirs)
        if single is not None:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(1, user_api="blas"):
                row["one_thread"] = next(single)
        rounds.append(row)
        print(
            "round %d: matmul %.0f GFLOP/s, nn_core %.3f s (its products alone %.3f s, bare NumPy %.3f s)%s%s"
            % (
                i + 1,
                rate / 1e9,
                row["nn_core"],
                row["products"],
                row["bare"],
                "" if theirs is None else ", PyTorch %.3f s" % row["torch"],
                "" if single is None else ", nn_core on one BLAS thread %.3f s" % row["one_thread"],
            )
        )
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    share = lambda k: statistics.median(flops / r[k] / r["gemm"] for r in rounds)  # noqa: E731
    print("float32 matrix multiply (2048x2048): %.1f GFLOP/s (median)" % (med["gemm"] / 1e9))
    print("nn_core: %.3f s per epoch, %.0f%% of the matrix-multiply rate" % (med["nn_core"], 100 * share("nn_core")))
    print(
        "the products of an epoch alone: %.3f s, %.0f%% of the rate; %.0f%% of nn_core's epoch"
        % (med["products"], 100 * share("products"), 100 * statistics.median(r["products"] / r["nn_core"] for r in rounds))
    )
    print(
        "bare NumPy (the products and the least element-wise work around them, buffers reused): %.3f s, %.0f%% of the rate; "
        "nn_core's epoch %.2fx it"
        % (med["bare"], 100 * share("bare"), statistics.median(r["nn_core"] / r["bare"] for r in rounds))
    )
    if single is not None:
        print(
            "nn_core on one BLAS thread: %.3f s per epoch, %.2fx the time on every thread (median of the rounds)"
            % (med["one_thread"], statistics.median(r["one_thread"] / r["nn_core"] for r in rounds))
        )
    if theirs is not None:
        print("PyTorch: %.3f s per epoch, %.0f%% of the matrix-multiply rate" % (med["torch"], 100 * share("torch")))
        print(
            "ratio nn_core / PyTorch: %.2f (below 1 means nn_core is faster); the products alone / PyTorch: %.2f; "
            "bare NumPy / PyTorch: %.2f"
            % (
                statistics.median(r["nn_core"] / r["torch"] for r in rounds),
                statistics.median(r["products"] / r["torch"] for r in rounds),
                statistics.median(r["bare"] / r["torch"] for r in rounds),
            )
        )
    if not args.no_memory:
        print("peak resident memory of a full-MNIST training run (default settings): %.0f MiB" % peak_memory_of_training())


if __name__ == "__main__":
    main()
