"""Image operations written with autograd.numpy slices, so that HIPS autograd differentiates them (test oracles)."""

import autograd.numpy as anp


def pairs(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def autograd_windows(x, kernel, stride, padding=0):
    """The pixels each kernel offset (i, j) meets at every output position, as a list of arrays."""
    (kh, kw), (sh, sw), (ph, pw) = pairs(kernel), pairs(stride), pairs(padding)
    x = anp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode="constant")
    ho, wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    return [
        [x[:, :, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw] for j in range(kw)] for i in range(kh)
    ]


def autograd_conv2d(x, w, b, stride=1, padding=0):
    windows = autograd_windows(x, w.shape[2:], stride, padding)
    terms = [
        anp.einsum("nchw,fc->nfhw", windows[i][j], w[:, :, i, j]) for i in range(w.shape[2]) for j in range(w.shape[3])
    ]
    return sum(terms) + b[:, None, None]


def autograd_max_pool2d(x, kernel, stride=None):
    windows = autograd_windows(x, kernel, kernel if stride is None else stride)
    return anp.max(anp.stack([window for row in windows for window in row]), axis=0)


def autograd_avg_pool2d(x, kernel, stride=None):
    windows = autograd_windows(x, kernel, kernel if stride is None else stride)
    return anp.mean(anp.stack([window for row in windows for window in row]), axis=0)


def autograd_batch_norm(x, gamma, beta, training):
    if training:
        mean = anp.mean(x, axis=(0, 2, 3), keepdims=True)
        var = anp.mean((x - mean) ** 2, axis=(0, 2, 3), keepdims=True)
    else:
        mean, var = 0.0, 1.0
    return (x - mean) / anp.sqrt(var + 1e-5) * gamma[:, None, None] + beta[:, None, None]
