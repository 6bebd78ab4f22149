"""Input makers the gate tests share: each draws an array of a shape with a numpy Generator,
from a domain where the gate under test is smooth (away from kinks, poles and log(0))."""

import numpy as np


def normal(shape, rng: np.random.Generator):
    return rng.standard_normal(shape)


def positive(shape, rng: np.random.Generator):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(shape, rng: np.random.Generator):
    """Magnitudes in [0.5, 2] with random signs: clear of the kinks at 0."""
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def probability(shape, rng: np.random.Generator):
    return rng.uniform(0.05, 0.95, shape)
