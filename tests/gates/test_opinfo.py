"""Op-info table: every gate, on systematic samples, against PyTorch and HIPS autograd.

One entry per gate (per mode, where a gate has several) says how to build
it, its two references, its inputs' domain, the argument cases and its
singular points. tests/opinfo_samples.py turns the table into samples over
dtypes (float32, float64), shapes (0-d, one element, empty batches, broadcast
pairs, odd shapes) and memory layouts (strided, transposed, negative-stride,
read-only, broadcast views, Python floats), and runs each through a
ComputationalGraph: value and every gradient against both oracles, the dtype
kept, the inputs unmodified, the gradients owned by the caller.

At a singular point the expected value is PyTorch's, except where our
convention differs; the entry then writes the convention out as its
expected value, and says why (max/min ties, BCE's clamped target gradient).
"""

import math

import autograd.numpy as anp
import numpy as np
import pytest
import torch
from autograd.extend import defvjp, primitive
from image_oracles import autograd_avg_pool2d, autograd_batch_norm, autograd_conv2d, autograd_max_pool2d
from inputs import away_from_zero, normal, positive, probability
from opinfo_samples import Case, OpInfo, Singular, ownership_problems, run_sample, samples
from torch.nn import functional

import gates
from gates import (
    AbsGate,
    AddGate,
    AvgPool2DGate,
    BatchNorm2DGate,
    BinaryCrossEntropyGate,
    BinaryCrossEntropyWithLogitsGate,
    Conv2DGate,
    DivideGate,
    DropoutGate,
    ExpGate,
    FlattenGate,
    Gate,
    LeakyReLUGate,
    LinearGate,
    LogGate,
    MatMulGate,
    MaxGate,
    MaxPool2DGate,
    MeanGate,
    MinGate,
    MSELossGate,
    MultiplyGate,
    NegateGate,
    PowerGate,
    ReLUGate,
    ReshapeGate,
    SigmoidGate,
    SoftmaxCrossEntropyGate,
    SoftmaxGate,
    SqrtGate,
    SubtractGate,
    SumGate,
    TanhGate,
    TransposeGate,
)

# -- shapes and argument cases ----------------------------------------------------------------------

UNARY_SHAPES = ((), (1,), (7,), (3, 4), (2, 3, 4), (3, 1, 2), (0, 3))
BROADCAST_PAIRS = (
    ((), ()),
    ((1,), (1,)),
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((3, 1), (1, 4)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((2, 1, 3), (4, 1)),
    ((0, 3), (3,)),
    ((0, 3), (1, 3)),
)
LOSS_SHAPES = ((), (1,), (5,), (3, 4), (2, 3, 4), (0, 3))
REDUCTIONS = ("mean", "sum", "batchmean")


def unary(shapes=UNARY_SHAPES, **arguments):
    return tuple(Case((shape,), arguments) for shape in shapes)


def binary(pairs=BROADCAST_PAIRS):
    return tuple(Case(pair) for pair in pairs)


def over(shapes, argument_sets, fits=lambda shape, arguments: True):
    """Every shape with every set of gate arguments that fits it."""
    return tuple(Case((shape,), arguments) for shape in shapes for arguments in argument_sets if fits(shape, arguments))


def axes_fit(shape, arguments) -> bool:
    """Whether every axis named in ``arguments["axis"]`` exists in an array of ``shape``."""
    axis = arguments.get("axis")
    axes = () if axis is None else np.atleast_1d(axis)
    return all(-len(shape) <= a < len(shape) for a in axes)


def losses(shapes=LOSS_SHAPES):
    return tuple(Case((shape, shape), {"reduction": r}) for shape in shapes for r in REDUCTIONS)


# -- input makers beyond tests/inputs.py ------------------------------------------------------------


def labels_of_three(shape, rng):
    """Integer class indices for three classes: no gradient."""
    return rng.integers(0, 3, shape)


# -- references shared by several entries -----------------------------------------------------------


def reduced(per_element, reduction):
    """Our loss reductions, written with the references' own array methods (torch or autograd)."""
    if reduction == "sum":
        return per_element.sum()
    if reduction == "mean":
        return per_element.mean()
    return per_element.sum() / (per_element.shape[0] if per_element.ndim else 1)


def autograd_transpose(x, axes=None):
    # autograd's own vjp inverts the permutation with argsort, which needs the axes non-negative.
    return anp.transpose(x, None if axes is None else [axis % x.ndim for axis in axes])


def torch_bce_with_logits(z, y, reduction="mean"):
    return reduced(functional.binary_cross_entropy_with_logits(z, y, reduction="none"), reduction)


def torch_transpose(x, axes=None):
    return x.permute(tuple(reversed(range(x.ndim))) if axes is None else axes)


def autograd_softmax(x, axis=-1):
    if x.shape[axis] == 0:  # the max over an empty axis has no identity; softmax of nothing is nothing
        return x
    shifted = anp.exp(x - anp.max(x, axis=axis, keepdims=True))
    return shifted / anp.sum(shifted, axis=axis, keepdims=True)


def autograd_log_softmax(z):
    top = anp.max(z, axis=-1, keepdims=True)
    return z - top - anp.log(anp.sum(anp.exp(z - top), axis=-1, keepdims=True))


def autograd_cross_entropy(z, labels, reduction="mean"):
    log_p = autograd_log_softmax(z)
    if labels.dtype.kind in "iu":
        rows = (np.arange(len(labels)),) if z.ndim == 2 else ()
        return reduced(-log_p[(*rows, labels)], reduction)
    return reduced(-anp.sum(labels * log_p, axis=-1), reduction)


TIES_TO_FIRST = "a tie sends the whole gradient to the first input, documented (PyTorch splits it in halves)"


def ties_to_first(compare):
    """max/min where a tie sends the whole gradient to x (ours, documented), as autograd code."""

    def function(x, y):
        # Adding zeros broadcasts both with a gradient that sums back; autograd's where would not.
        zeros = np.zeros(np.broadcast_shapes(anp.shape(x), anp.shape(y)))
        x, y = x + zeros, y + zeros
        return anp.where(compare(x, y), x, y)

    return function


# BCE on probabilities clamps each log at -100, as PyTorch's BCELoss does, and floors the
# denominator of dL/dA = (A - Y) / (A (1 - A)) at 1e-12 (PyTorch at float32's 1e-12, 4e-9 less).
# Our dL/dY is the derivative of the clamped value, finite at A = 0 or 1 where PyTorch's is
# ±inf. The functions below write that convention out: PyTorch's value, our two gradients.
LOG_FLOOR = math.exp(-100)


def clamped_logs(a):
    return np.log(np.maximum(a, LOG_FLOOR)), np.log(np.maximum(1 - a, LOG_FLOOR))


def torch_bce_clamped(a, y, reduction="mean"):
    log_a, log_1ma = (torch.log(t).clamp(min=-100) for t in (a, 1 - a))
    grad_a = (a - y) / (a * (1 - a)).clamp(min=1e-12)
    grad_y = log_1ma - log_a
    # Zero-valued terms whose gradients are the convention's, added to PyTorch's value.
    per_element = (
        functional.binary_cross_entropy(a.detach(), y.detach(), reduction="none")
        + (a - a.detach()) * grad_a.detach()
        + (y - y.detach()) * grad_y.detach()
    )
    return reduced(per_element, reduction)


@primitive
def _bce_elements_clamped(a, y):
    log_a, log_1ma = clamped_logs(a)
    return -(y * log_a + (1 - y) * log_1ma)


defvjp(
    _bce_elements_clamped,
    lambda ans, a, y: lambda g: g * (a - y) / np.maximum(a * (1 - a), 1e-12),
    lambda ans, a, y: lambda g: g * (clamped_logs(a)[1] - clamped_logs(a)[0]),
)


def autograd_bce_clamped(a, y, reduction="mean"):
    return reduced(_bce_elements_clamped(a, y), reduction)


# -- image gates (their autograd references are in tests/image_oracles.py) -----------------------------


def torch_batch_norm(x, gamma, beta, training):
    # fresh running statistics, as a new gate holds: mean 0, variance 1
    mean, var = torch.zeros(x.shape[1], dtype=x.dtype), torch.ones(x.shape[1], dtype=x.dtype)
    return functional.batch_norm(x, mean, var, gamma, beta, training=training, momentum=0.1, eps=1e-5)


def seeded_mask(shape, p):
    """The mask a DropoutGate seeded with 0 draws first: kept with probability 1 - p, scaled by 1 / (1 - p)."""
    return (np.random.default_rng(0).random(shape) >= p) / (1 - p)


CONV_SHAPES = (
    ((2, 3, 5, 5), (4, 3, 3, 3), (4,)),
    ((1, 2, 6, 4), (3, 2, 2, 3), (3,)),
    ((3, 4, 3, 3), (2, 4, 1, 1), (2,)),
    ((2, 1, 4, 4), (1, 1, 4, 4), (1,)),
)
CONV_ARGUMENTS = ({}, {"stride": 2}, {"padding": 1}, {"stride": (1, 2), "padding": (2, 1)})
POOL_CASES = tuple(
    Case((shape,), arguments)
    for shape in ((2, 3, 4, 4), (1, 2, 5, 7))
    for arguments in ({"kernel": 2}, {"kernel": 3, "stride": 1}, {"kernel": (2, 3), "stride": (1, 2)})
)


# -- the table ----------------------------------------------------------------------------------------

TABLE = (
    OpInfo("add", AddGate, torch.add, anp.add, (normal, normal), binary()),
    OpInfo("subtract", SubtractGate, torch.sub, anp.subtract, (normal, normal), binary()),
    OpInfo("multiply", MultiplyGate, torch.mul, anp.multiply, (normal, normal), binary()),
    OpInfo(
        "divide",
        DivideGate,
        torch.div,
        anp.divide,
        (normal, away_from_zero),
        binary(),
        singular=(
            Singular("y=0", ([1.5, -2.0], [0.0, 0.0]), infinite=True),
            Singular("0d y=0", (1.5, 0.0), infinite=True),
        ),
    ),
    OpInfo("negate", NegateGate, torch.neg, anp.negative, (normal,), unary()),
    OpInfo(
        "power(integer p)",
        PowerGate,
        lambda x, exponent: torch.pow(x, float(exponent)),
        lambda x, exponent: x ** float(exponent),
        (normal,),
        sum((unary(exponent=p) for p in (0, 1, 2, 3)), ())
        + unary(((), (3, 4)), exponent=np.float64(2))
        + unary(((), (3, 4)), exponent=np.int64(3)),
        singular=tuple(Singular(f"x=0,p={p}", ([0.0, -0.0, 1.5],), {"exponent": p}) for p in (0, 1, 2, 3)),
    ),
    OpInfo(
        "power(negative p)",
        PowerGate,
        lambda x, exponent: torch.pow(x, float(exponent)),
        lambda x, exponent: x ** float(exponent),
        (away_from_zero,),
        unary(exponent=-1) + unary(exponent=-2),
        singular=(
            Singular("x=0,p=-1", ([0.0, 2.0],), {"exponent": -1}, infinite=True),
            Singular("x=0,p=-2", ([0.0, -2.0],), {"exponent": -2}, infinite=True),
            Singular("0d x=0,p=-1", (0.0,), {"exponent": -1}, infinite=True),
        ),
    ),
    OpInfo(
        "power(fractional p)",
        PowerGate,
        lambda x, exponent: torch.pow(x, float(exponent)),
        lambda x, exponent: x ** float(exponent),
        (positive,),
        unary(exponent=0.5) + unary(exponent=1.5) + unary(exponent=-0.5),
        singular=(
            Singular("x=0,p=0.5", ([0.0, 4.0],), {"exponent": 0.5}, infinite=True),
            Singular("x=0,p=1.5", ([0.0, 4.0],), {"exponent": 1.5}),
            Singular("x=0,p=-0.5", ([0.0, 4.0],), {"exponent": -0.5}, infinite=True),
        ),
    ),
    OpInfo(
        "max",
        MaxGate,
        torch.maximum,
        anp.maximum,
        (normal, normal),
        binary(),
        singular=(
            Singular(
                "ties",
                ([[0.5, 1.0, 2.0], [1.0, 1.0, -1.0]], [1.0, 1.0, 2.0]),
                torch=lambda x, y: torch.where(x >= y, x, y),
                autograd=ties_to_first(lambda x, y: x >= y),
                convention=TIES_TO_FIRST,
            ),
            Singular(
                "0d tie",
                (1.0, 1.0),
                torch=lambda x, y: torch.where(x >= y, x, y),
                autograd=ties_to_first(lambda x, y: x >= y),
                convention=TIES_TO_FIRST,
            ),
        ),
    ),
    OpInfo(
        "min",
        MinGate,
        torch.minimum,
        anp.minimum,
        (normal, normal),
        binary(),
        singular=(
            Singular(
                "ties",
                ([[0.5, 1.0, 2.0], [1.0, 1.0, -1.0]], [1.0, 1.0, 2.0]),
                torch=lambda x, y: torch.where(x <= y, x, y),
                autograd=ties_to_first(lambda x, y: x <= y),
                convention=TIES_TO_FIRST,
            ),
        ),
    ),
    OpInfo(
        "exp",
        ExpGate,
        torch.exp,
        anp.exp,
        (normal,),
        unary(),
        singular=(Singular("extremes", ([-1000.0, 0.0, 50.0],)),),
    ),
    OpInfo(
        "log",
        LogGate,
        torch.log,
        anp.log,
        (positive,),
        unary(),
        singular=(
            Singular("x=0", ([0.0, 1.0],), infinite=True),
            Singular("0d x=0", (0.0,), infinite=True),
        ),
    ),
    OpInfo(
        "sqrt",
        SqrtGate,
        torch.sqrt,
        anp.sqrt,
        (positive,),
        unary(),
        singular=(Singular("x=0", ([0.0, 4.0],), infinite=True),),
    ),
    OpInfo(
        "abs",
        AbsGate,
        torch.abs,
        anp.abs,
        (away_from_zero,),
        unary(),
        singular=(Singular("x=0", ([0.0, -0.0, 1.0, -1.0],)), Singular("0d x=0", (0.0,))),
    ),
    OpInfo(
        "sigmoid",
        SigmoidGate,
        torch.sigmoid,
        lambda x: anp.exp(-anp.logaddexp(0, -x)),  # 1 / (1 + exp(-x)) without inf / inf at x = -1000
        (normal,),
        unary(),
        singular=(Singular("extremes", ([-1000.0, -80.0, 0.0, 80.0, 1000.0],)),),
    ),
    OpInfo(
        "tanh",
        TanhGate,
        torch.tanh,
        anp.tanh,
        (normal,),
        unary(),
        singular=(Singular("extremes", ([-1000.0, 0.0, 1000.0],)),),
    ),
    OpInfo(
        "relu",
        ReLUGate,
        torch.relu,
        lambda x: anp.where(x > 0, x, 0.0),
        (away_from_zero,),
        unary(),
        singular=(Singular("x=0", ([0.0, -0.0, 2.0, -2.0],)), Singular("0d x=0", (0.0,))),
    ),
    OpInfo(
        "leaky_relu",
        LeakyReLUGate,
        lambda x, alpha=0.01: functional.leaky_relu(x, float(alpha)),
        lambda x, alpha=0.01: anp.where(x > 0, x, alpha * x),
        (away_from_zero,),
        unary() + unary(alpha=0.2) + unary(((), (3, 4)), alpha=np.float64(0.1)),
        singular=(Singular("x=0", ([0.0, -0.0, 1.0],), {"alpha": 0.2}),),
    ),
    OpInfo(
        "softmax",
        SoftmaxGate,
        lambda x, axis=-1: torch.softmax(x, dim=axis),
        autograd_softmax,
        (normal,),
        over(
            ((1,), (7,), (3, 4), (3, 1), (2, 3, 4), (0, 3)),
            ({}, {"axis": 0}, {"axis": 1}, {"axis": -2}),
            axes_fit,
        ),
        singular=(
            Singular("extremes", ([1000.0, 0.0, -1000.0],)),
            Singular("ties", ([[2.0, 2.0, 2.0], [0.0, 5.0, 5.0]],)),
            Singular("float64 extremes", ([1e308, -1e308],), dtypes=(np.float64,)),
            Singular("float32 extremes", ([3e38, -3e38],), dtypes=(np.float32,)),
        ),
    ),
    OpInfo(
        "matmul",
        MatMulGate,
        torch.matmul,
        anp.matmul,
        (normal, normal),
        binary(
            (
                ((3, 4), (4, 2)),
                ((4,), (4, 2)),
                ((3, 4), (4,)),
                ((4,), (4,)),
                ((1, 1), (1, 1)),
                ((2, 3, 4), (4, 5)),
                ((2, 3, 4), (4,)),
                ((2, 1, 3, 4), (3, 4, 2)),
                ((0, 4), (4, 2)),
                ((3, 0), (0, 2)),
            )
        ),
    ),
    OpInfo(
        "linear",
        LinearGate,
        lambda a, w, b: a @ w.T + b,
        lambda a, w, b: a @ w.T + b,
        (normal, normal, normal),
        tuple(
            Case(shapes)
            for shapes in (
                ((4, 3), (2, 3), (2,)),
                ((3,), (2, 3), (2,)),
                ((4, 3), (2, 3), ()),
                ((1, 1), (1, 1), (1,)),
                ((5, 3), (1, 3), (1,)),
                ((0, 3), (2, 3), (2,)),
            )
        ),
    ),
    OpInfo(
        "transpose",
        TransposeGate,
        torch_transpose,
        autograd_transpose,
        (normal,),
        over(((), (5,)), ({},))
        + over(((3, 4), (0, 3)), ({}, {"axes": (1, 0)}, {"axes": (-1, -2)}, {"axes": (0, -1)}))
        + over(
            ((2, 3, 4), (3, 3, 3)),
            ({}, {"axes": (2, 0, 1)}, {"axes": (0, 2, 1)}, {"axes": (-1, 0, 1)}, {"axes": (1, -1, 0)}),
        ),
    ),
    OpInfo(
        "reshape",
        ReshapeGate,
        lambda x, shape: x.reshape(shape),
        lambda x, shape: anp.reshape(x, shape),
        (normal,),
        tuple(
            Case((shape,), {"shape": new})
            for shape, new in (
                ((2, 3), (3, 2)),
                ((2, 3), (6,)),
                ((2, 3), (-1,)),
                ((2, 3, 4), (4, -1)),
                ((), (1, 1)),
                ((1,), ()),
                ((5,), (5, 1)),
                ((0, 3), (3, 0)),
                ((0, 3), (-1, 3)),
            )
        ),
    ),
    OpInfo(
        "sum",
        SumGate,
        lambda x, axis=None, keepdims=False: torch.sum(x, dim=axis, keepdim=keepdims),
        lambda x, axis=None, keepdims=False: anp.sum(x, axis=axis, keepdims=keepdims),
        (normal,),
        over(
            ((), (5,), (3, 4), (2, 3, 4), (0, 3)),
            [
                {"axis": axis, "keepdims": keep}
                for axis in (None, 0, 1, -1, (0, 2), (-1, -3), (0, 1, 2))
                for keep in (False, True)
            ],
            axes_fit,
        ),
    ),
    OpInfo(
        "mean",
        MeanGate,
        lambda x, axis=None, keepdims=False: torch.mean(x, dim=axis, keepdim=keepdims),
        lambda x, axis=None, keepdims=False: anp.mean(x, axis=axis, keepdims=keepdims),
        (normal,),
        over(
            ((), (5,), (3, 4), (2, 3, 4), (0, 3)),
            [{"axis": axis, "keepdims": keep} for axis in (None, 0, 1, -1, (0, 2), (-1, -3)) for keep in (False, True)],
            axes_fit,
        ),
    ),
    OpInfo(
        "mse",
        MSELossGate,
        lambda p, y, reduction="mean": reduced(functional.mse_loss(p, y, reduction="none"), reduction),
        lambda p, y, reduction="mean": reduced((p - y) ** 2, reduction),
        (normal, normal),
        losses(),
    ),
    OpInfo(
        "bce",
        BinaryCrossEntropyGate,
        lambda a, y, reduction="mean": reduced(functional.binary_cross_entropy(a, y, reduction="none"), reduction),
        lambda a, y, reduction="mean": reduced(-(y * anp.log(a) + (1 - y) * anp.log(1 - a)), reduction),
        (probability, probability),
        losses(),
        singular=tuple(
            Singular(
                f"A=0 or 1;{reduction}",
                ([0.0, 1.0, 0.0, 1.0], [0.3, 0.7, 0.0, 1.0]),
                {"reduction": reduction},
                torch=torch_bce_clamped,
                autograd=autograd_bce_clamped,
                convention="dL/dY is the derivative of the clamped value, finite (PyTorch's is ±inf there)",
            )
            for reduction in REDUCTIONS
        ),
    ),
    OpInfo(
        "bce_with_logits",
        BinaryCrossEntropyWithLogitsGate,
        lambda z, y, reduction="mean": reduced(
            functional.binary_cross_entropy_with_logits(z, y, reduction="none"), reduction
        ),
        lambda z, y, reduction="mean": reduced(anp.logaddexp(0, z) - z * y, reduction),
        (normal, probability),
        losses(),
        singular=(Singular("extremes", ([-1000.0, 1000.0, 0.0], [0.3, 0.6, 1.0]), {"reduction": "sum"}),),
    ),
    OpInfo(
        "softmax_cross_entropy(class indices)",
        SoftmaxCrossEntropyGate,
        lambda z, labels, reduction="mean": reduced(functional.cross_entropy(z, labels, reduction="none"), reduction),
        autograd_cross_entropy,
        (normal, labels_of_three),
        tuple(
            Case(shapes, {"reduction": r})
            for shapes in (((4, 3), (4,)), ((3,), ()), ((1, 3), (1,)), ((0, 3), (0,)))
            for r in REDUCTIONS
        ),
        singular=(
            Singular("extremes", ([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]], np.array([2, 1]))),
            Singular("float64 extremes", ([[1e308, -1e308]], np.array([0])), dtypes=(np.float64,)),
            Singular("float32 extremes", ([[3e38, -3e38]], np.array([0])), dtypes=(np.float32,)),
        ),
    ),
    OpInfo(
        "softmax_cross_entropy(label rows)",
        SoftmaxCrossEntropyGate,
        lambda z, y, reduction="mean": reduced(functional.cross_entropy(z, y, reduction="none"), reduction),
        autograd_cross_entropy,
        (normal, probability),
        tuple(Case((shape, shape), {"reduction": r}) for shape in ((4, 3), (3,), (1, 5), (0, 3)) for r in REDUCTIONS),
        singular=(Singular("extremes", ([[1000.0, 0.0, -1000.0]], [[0.2, 0.3, 0.5]]), {"reduction": "sum"}),),
    ),
    OpInfo(
        "conv2d",
        Conv2DGate,
        functional.conv2d,
        autograd_conv2d,
        (normal, normal, normal),
        tuple(Case(shapes, arguments) for shapes in CONV_SHAPES for arguments in CONV_ARGUMENTS),
    ),
    OpInfo(
        "max_pool2d",
        MaxPool2DGate,
        lambda x, kernel, stride=None: functional.max_pool2d(x, kernel, stride),
        autograd_max_pool2d,
        (normal,),
        POOL_CASES,
    ),
    OpInfo(
        "avg_pool2d",
        AvgPool2DGate,
        lambda x, kernel, stride=None: functional.avg_pool2d(x, kernel, stride),
        autograd_avg_pool2d,
        (normal,),
        POOL_CASES,
    ),
    OpInfo(
        "batch_norm2d",
        lambda training: BatchNorm2DGate(3, training=training),
        torch_batch_norm,
        autograd_batch_norm,
        (normal, positive, normal),
        tuple(
            Case(shapes, {"training": training})
            for shapes in (((4, 3, 2, 3), (3,), (3,)), ((1, 3, 3, 3), (3,), (3,)))
            for training in (True, False)
        ),
    ),
    OpInfo(
        "dropout",
        lambda p, training: DropoutGate(p, seed=0, training=training),
        lambda x, p, training: x * torch.tensor(seeded_mask(x.shape, p)) if training else x,
        lambda x, p, training: x * seeded_mask(x.shape, p) if training else x,
        (normal,),
        over(((5,), (3, 4), (2, 3, 4, 4)), [{"p": p, "training": t} for p in (0.0, 0.3) for t in (True, False)]),
    ),
    OpInfo(
        "flatten",
        FlattenGate,
        lambda x: x.reshape(x.shape[0], math.prod(x.shape[1:])),
        lambda x: anp.reshape(x, (x.shape[0], math.prod(x.shape[1:]))),
        (normal,),
        unary(((3,), (2, 3), (2, 3, 4), (2, 1, 3, 3), (0, 3, 2))),
    ),
)

SAMPLES = [sample for op in TABLE for sample in samples(op)]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.id)
def test_gate_matches_torch_and_autograd_through_a_graph(sample):
    problems = run_sample(sample)
    assert not problems, f"{sample.id}:\n  " + "\n  ".join(problems)


def test_the_table_yields_at_least_2000_distinct_samples():
    ids = [sample.id for sample in SAMPLES]
    assert len(set(ids)) == len(ids), "two samples share an id: the count would overstate the coverage"
    assert len(SAMPLES) >= 2000


def test_every_gate_has_an_entry():
    classes = {getattr(gates, name) for name in gates.__all__}
    gate_classes = {c for c in classes if isinstance(c, type) and issubclass(c, Gate) and c is not Gate}
    covered = {type(op.gate(**op.cases[0].arguments)) for op in TABLE}
    assert gate_classes - covered == set()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_clamps_its_logs_at_minus_100_in_float32_too(dtype):
    # The table found it: flooring A at exp(-100), a float32 subnormal, clamped log 0 at -99.97.
    gate = BinaryCrossEntropyGate("sum")
    loss = gate.forward(np.array([0.0, 1.0], dtype), np.array([1.0, 0.0], dtype))
    assert loss == 200.0
    np.testing.assert_array_equal(gate.backward(dtype(1))[1], [100.0, -100.0])


# -- the checks themselves: each catches the fault it is there for ------------------------------------


class DoubledGradient(MultiplyGate):
    def backward(self, upstream):
        return tuple(2 * grad for grad in super().backward(upstream))


class ChangesItsInput(NegateGate):
    def forward(self, x):
        x *= 2
        return -x / 2


class Float64Gradient(NegateGate):
    def backward(self, upstream):
        return (-np.asarray(upstream, np.float64),)


class Float64Value(NegateGate):
    def forward(self, x):
        return -np.asarray(x, np.float64)


@pytest.mark.parametrize(
    ("gate", "arity", "fault"),
    [
        (DoubledGradient, 2, "grad x0 vs torch"),
        (ChangesItsInput, 1, "input x0 was modified"),
        (Float64Gradient, 1, "grad x0 is float64, the inputs are float32"),
        (Float64Value, 1, "value is float64, the inputs are float32"),
    ],
)
def test_the_runner_reports_a_faulty_gate(gate, arity, fault):
    references = (torch.mul, anp.multiply) if arity == 2 else (torch.neg, anp.negative)
    op = OpInfo("faulty", gate, *references, (normal,) * arity, (Case(((3, 4),) * arity),))
    sample = next(s for s in samples(op) if s.id.endswith("float32-contiguous"))
    assert any(problem.startswith(fault) for problem in run_sample(sample))


def test_the_ownership_check_reports_shared_and_read_only_gradients():
    x, seed = np.ones(3), np.ones(3)
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    problems = ownership_problems({"x0": x[::-1], "x1": seed, "x2": frozen, "x3": frozen[:2]}, {"x0": x}, seed)
    assert problems == [
        "grad x0 shares memory with input x0",
        "grad x1 shares memory with the upstream seed",
        "grad x2 is read-only",
        "grad x3 is read-only",
        "grads x2 and x3 share memory",
    ]
    assert ownership_problems({"x0": np.ones(3), "x1": np.float32(1.0), "x2": 2.0}, {"x0": x}, seed) == []
