"""The main job: train a network built from gates on (Fashion-)MNIST and keep the results.

    python examples/train_mnist.py                       # Fashion-MNIST, 784-256-128-10 ReLU MLP, Adam
    python examples/train_mnist.py --model two-layer     # the seed chapter's sigmoid + BCE network
    python examples/train_mnist.py --model cnn           # a small conv net: 2 conv blocks with batch norm
    python examples/train_mnist.py --dataset mnist       # MNIST, downloaded once (network needed)
    python examples/train_mnist.py --dataset DIR         # any directory of the four IDX files
    python examples/train_mnist.py --export-onnx         # also model.onnx, scored again in ONNX Runtime

Fashion-MNIST is read offline from Debian's ``dataset-fashion-mnist`` package
(``make demo`` installs it). 5,000 training images are held out for
validation; the test set is scored once, at the end. The learning rate
follows a cosine from ``--lr`` down to zero over the epochs (``--schedule
constant`` keeps it fixed). BLAS runs on one thread unless
``OPENBLAS_NUM_THREADS`` says otherwise (see below). Written to ``--out``:

    metrics.json   test accuracy and loss, training seconds, settings, per-epoch history
    model.npz      the trained model (``models.load("model.npz")``)
    curves.png     loss and accuracy per epoch, training and validation
    graph.svg      the network's graph, with the values and gradients of 8 test images
                   (a conv net's layers collapsed to one box each)
    model.onnx     with --export-onnx: the prediction graph for ONNX Runtime (the onnx extra)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

# A batch of 128 against 784x256 weights is too small to gain from BLAS threads, and spinning threads
# crawl when other processes share the cores: on a 2-core machine, 7.4 s threaded against 8.8 s single
# when idle, but 38 s against 11 s under load. So one thread, unless the environment says otherwise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # after the thread setting, which numpy reads when it loads

from models import (
    CNN,
    MLP,
    SGD,
    Adam,
    Momentum,
    TwoLayerNet,
    evaluate,
    fit,
    load_fashion_mnist,
    load_idx_directory,
    load_mnist,
    scale_images,
)

OPTIMIZERS = {"adam": (Adam, 1e-3), "sgd": (SGD, 0.5), "momentum": (Momentum, 0.05)}
DEFAULT_HIDDEN = {"mlp": [256, 128], "two-layer": [128], "cnn": [128]}
DEFAULT_EPOCHS = {"mlp": 10, "two-layer": 10, "cnn": 14}


def sizes(text: str) -> list[int]:
    return [int(n) for n in text.split(",")]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist (default), mnist, or a directory")
    parser.add_argument("--model", choices=("mlp", "two-layer", "cnn"), default="mlp")
    parser.add_argument(
        "--hidden",
        type=sizes,
        help="hidden sizes, comma separated (default 256,128 for mlp, 128 for two-layer and cnn)",
    )
    parser.add_argument("--activation", default="relu", help="mlp hidden activation (default relu)")
    parser.add_argument("--channels", type=sizes, default=[16, 32], help="cnn filters per conv block (default 16,32)")
    parser.add_argument("--dropout", type=float, default=0.25, help="cnn dropout before its linear layers (0.25)")
    parser.add_argument("--no-batch-norm", action="store_true", help="cnn without batch normalisation")
    parser.add_argument("--epochs", type=int, help="default 10 (14 for cnn)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="adam")
    parser.add_argument(
        "--lr", type=float, help="learning rate (default 1e-3 adam, 3e-3 adam for cnn, 0.5 sgd, 0.05 momentum)"
    )
    parser.add_argument("--schedule", choices=("cosine", "constant"), default="cosine")
    parser.add_argument("--validation", type=int, default=5000, help="training images held out (default 5000)")
    parser.add_argument("--limit", type=int, help="train on the first LIMIT training images only (quick runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out/train_mnist"))
    parser.add_argument("--cache-dir", type=Path, help="where MNIST downloads go (default ~/.cache/gategraph/mnist)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    parser.add_argument("--export-onnx", action="store_true", help="also write model.onnx and score it in ONNX Runtime")
    args = parser.parse_args(argv)
    args.hidden = args.hidden or DEFAULT_HIDDEN[args.model]
    args.epochs = args.epochs if args.epochs is not None else DEFAULT_EPOCHS[args.model]
    if args.model == "two-layer" and len(args.hidden) != 1:
        parser.error(f"--model two-layer has one hidden layer; got --hidden {args.hidden}")
    if args.lr is None:
        # batch normalisation keeps each layer's inputs scaled, so the conv net trains well at a higher rate
        args.lr = 3e-3 if (args.model, args.optimizer) == ("cnn", "adam") else OPTIMIZERS[args.optimizer][1]
    return args


def load_data(name: str, cache_dir: Path | None):
    if name == "fashion-mnist":
        return load_fashion_mnist()
    if name == "mnist":
        return load_mnist(cache_dir)
    return load_idx_directory(name)


def build_model(args, input_shape: tuple[int, ...], n_out: int):
    if args.model == "two-layer":
        return TwoLayerNet(input_shape[0], args.hidden[0], n_out, seed=args.seed)
    if args.model == "cnn":
        return CNN(
            input_shape,
            args.channels,
            n_out,
            hidden=args.hidden,
            batch_norm=not args.no_batch_norm,
            dropout=args.dropout,
            seed=args.seed,
        )
    return MLP([input_shape[0], *args.hidden, n_out], activation=args.activation, seed=args.seed)


def main(argv=None) -> dict:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    (train_images, train_labels), (test_images, test_labels) = load_data(args.dataset, args.cache_dir)
    flat = args.model != "cnn"  # a conv net takes images (N, 1, 28, 28), the others rows of pixels
    x_all, x_test = scale_images(train_images, flat=flat), scale_images(test_images, flat=flat)
    y_all, y_test = train_labels.astype(np.int64), test_labels.astype(np.int64)
    classes = int(max(y_all.max(), y_test.max())) + 1
    order = np.random.default_rng(args.seed).permutation(len(x_all))
    held, kept = order[: args.validation], order[args.validation :]
    if args.limit:
        kept = kept[: args.limit]
    x_train, y_train, x_val, y_val = x_all[kept], y_all[kept], x_all[held], y_all[held]
    print(
        f"{args.dataset}: {len(x_train):,} training, {len(x_val):,} validation, {len(x_test):,} test images, "
        f"{classes} classes (loaded in {time.perf_counter() - started:.1f} s)"
    )

    model = build_model(args, x_train.shape[1:], classes)
    print(model.summary())
    optimizer_class = OPTIMIZERS[args.optimizer][0]
    optimizer = optimizer_class(model.parameters(), lr=args.lr)
    print(f"{optimizer!r}, {args.epochs} epochs of batches of {args.batch_size}, {args.schedule} schedule")

    def end_of_epoch(record: dict) -> None:
        if args.schedule == "cosine":
            optimizer.lr = args.lr * 0.5 * (1 + math.cos(math.pi * record["epoch"] / args.epochs))
        validation = f"  val loss {record['val_loss']:.4f}  val acc {record['val_accuracy']:.4f}" if len(x_val) else ""
        print(
            f"epoch {record['epoch']:3d}/{args.epochs}  loss {record['loss']:.4f}  acc {record['accuracy']:.4f}"
            f"{validation}  {record['seconds']:.1f} s",
            flush=True,
        )

    history = fit(
        model,
        optimizer,
        x_train,
        y_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation=(x_val, y_val) if len(x_val) else None,
        seed=args.seed,
        progress=False if args.no_progress else None,
        callback=end_of_epoch,
    )
    train_seconds = sum(history["seconds"])
    test = evaluate(model, x_test, y_test)
    print(f"test accuracy {test['accuracy']:.4f}  test loss {test['loss']:.4f}  trained in {train_seconds:.1f} s")

    model_path, curves_path, graph_path = args.out / "model.npz", args.out / "curves.png", args.out / "graph.svg"
    model.save(model_path)
    try:
        history.plot(curves_path, title=f"{model.architecture} on {args.dataset}: test accuracy {test['accuracy']:.4f}")
    except ImportError as error:  # matplotlib is an optional extra: the rest of the results still count
        print(f"no {curves_path.name}: {error}")
    onnx_accuracy = export_and_score_onnx(model, args.out / "model.onnx", x_test, y_test) if args.export_onnx else None
    with model.in_mode(False):  # the diagram's pass must not move batch norm's running statistics
        # loss and output in one pass, so that no node keeps a value from another (the ONNX export's)
        model.forward(model.inputs(x_test[:8]), model.targets(y_test[:8]))
        model.backward()
    model.graph.render(graph_path, collapse=args.model == "cnn")

    metrics = {
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "train_seconds": round(train_seconds, 3),
        "epochs": args.epochs,
        "dataset": args.dataset,
        "model": model.architecture,
        "summary": repr(model),
        "parameters": model.num_parameters,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "schedule": args.schedule,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "train_examples": len(x_train),
        "validation_examples": len(x_val),
        "onnx_test_accuracy": onnx_accuracy,
        "history": history.to_dict(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"wrote {args.out / 'metrics.json'}, {model_path}, {curves_path}, {graph_path}")
    return metrics


def export_and_score_onnx(model, path: Path, x_test: np.ndarray, y_test: np.ndarray) -> float:
    """Write the prediction graph as ONNX, run the test set through ONNX Runtime, return its accuracy."""
    import onnxruntime

    model.export_onnx(path)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {"X": model.inputs(x_test)})
    accuracy = float(np.mean(model.classes(output) == y_test))
    print(f"wrote {path}: test accuracy through ONNX Runtime {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main(sys.argv[1:])
