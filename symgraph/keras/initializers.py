"""``keras.initializers``: weight initial values, drawn in numpy as Keras defines them.

Each initializer is called as ``init(shape, dtype)`` and returns a numpy array. Random
ones draw from the facade's generator (``keras.utils.set_random_seed`` seeds it), or
from their own when built with ``seed=``.
"""

from __future__ import annotations

import math

import numpy as np

from symgraph.keras import backend

_GLOBAL_RNG = np.random.default_rng()


def set_seed(seed: int | None) -> None:
    """Reseed the generator every unseeded initializer draws from."""
    global _GLOBAL_RNG
    _GLOBAL_RNG = np.random.default_rng(seed)


def _dtype(dtype: object) -> np.dtype:
    return np.dtype(dtype or backend.floatx())


class Initializer:
    """Base class: ``__call__(shape, dtype=None)`` returns a numpy array."""

    def __init__(self, seed: int | None = None):
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    @property
    def rng(self) -> np.random.Generator:
        return self._rng if self._rng is not None else _GLOBAL_RNG

    def __call__(self, shape: tuple, dtype: object = None) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"seed": self.seed} if "seed" in self.__init__.__code__.co_varnames else {}

    @classmethod
    def from_config(cls, config: dict) -> Initializer:
        return cls(**config)


class Zeros(Initializer):
    def __init__(self):
        super().__init__()

    def __call__(self, shape: tuple, dtype: object = None) -> np.ndarray:
        return np.zeros(shape, _dtype(dtype))

    def get_config(self) -> dict:
        return {}


class Ones(Initializer):
    def __init__(self):
        super().__init__()

    def __call__(self, shape: tuple, dtype: object = None) -> np.ndarray:
        return np.ones(shape, _dtype(dtype))

    def get_config(self) -> dict:
        return {}


class Constant(Initializer):
    def __init__(self, value: float = 0.0):
        super().__init__()
        self.value = value

    def __call__(self, shape: tuple, dtype: object = None) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.value, _dtype(dtype)), shape).copy()

    def get_config(self) -> dict:
        return {"value": self.value}


class Identity(Initializer):
    """gain * eye, for 2-D shapes."""

    def __init__(self, gain: float = 1.0):
        super().__init__()
        self.gain = gain

    def __call__(self, shape: tuple, dtype: object = None) -> np.ndarray:
        if len(shape) != 2:
            raise ValueError(f"Identity initializer can only be used for 2D matrices. Received: shape={shape}")
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"gain": self.gain}


class RandomUniform(Initializer):
    """Uniform on [minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape: tuple, dtype: object = None) -> np.ndarray:
        return self.rng.uniform(self.minval, self.maxval, size=shape).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape: tuple, dtype: object = None) -> np.ndarray:
        return self.rng.normal(self.mean, self.stddev, size=shape).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _truncated_normal(rng: np.random.Generator, shape: tuple, mean: float, stddev: float) -> np.ndarray:
    """Normal samples redrawn until within two standard deviations of the mean."""
    out = rng.normal(0.0, 1.0, size=shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, size=int(bad.sum()))
        bad = np.abs(out) > 2.0
    return mean + stddev * out


class TruncatedNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape: tuple, dtype: object = None) -> np.ndarray:
        return _truncated_normal(self.rng, shape, self.mean, self.stddev).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def compute_fans(shape: tuple) -> tuple[float, float]:
    """(fan_in, fan_out) as Keras computes them; kernels (..., in, out) count the receptive field."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class VarianceScaling(Initializer):
    """scale / fan (fan_in, fan_out or their mean) as the variance.

    truncated_normal: stddev sqrt(scale/fan) / 0.8796 (the std of a unit normal cut at
    +-2), uniform: limit sqrt(3 scale/fan), untruncated_normal: stddev sqrt(scale/fan).
    """

    def __init__(
        self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal", seed: int | None = None
    ):
        super().__init__(seed)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"Invalid `distribution` argument: {distribution}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape: tuple, dtype: object = None) -> np.ndarray:
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        if self.distribution == "truncated_normal":
            out = _truncated_normal(self.rng, shape, 0.0, math.sqrt(scale) / 0.87962566103423978)
        elif self.distribution == "untruncated_normal":
            out = self.rng.normal(0.0, math.sqrt(scale), size=shape)
        else:
            limit = math.sqrt(3.0 * scale)
            out = self.rng.uniform(-limit, limit, size=shape)
        return np.asarray(out).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


class _VarianceScalingPreset(VarianceScaling):
    """A named VarianceScaling: ``_preset`` fixes (scale, mode, distribution), only the
    seed is an argument (and the whole config), as in Keras."""

    _preset: tuple[float, str, str]

    def __init__(self, seed: int | None = None):
        super().__init__(*self._preset, seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}


class GlorotUniform(_VarianceScalingPreset):
    """Uniform on +-sqrt(6 / (fan_in + fan_out))."""

    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_VarianceScalingPreset):
    _preset = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_VarianceScalingPreset):
    _preset = (2.0, "fan_in", "truncated_normal")


class HeUniform(_VarianceScalingPreset):
    _preset = (2.0, "fan_in", "uniform")


class LecunNormal(_VarianceScalingPreset):
    _preset = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_VarianceScalingPreset):
    _preset = (1.0, "fan_in", "uniform")


class Orthogonal(Initializer):
    """gain * Q of the QR decomposition of a normal matrix (prod(shape[:-1]), shape[-1]),
    signs fixed by diag(R), transposed when there are fewer rows than columns."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape: tuple, dtype: object = None) -> np.ndarray:
        if len(shape) < 2:
            raise ValueError(f"The tensor to initialize must be at least two-dimensional. Received: shape={shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self.rng.normal(0.0, 1.0, size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"gain": self.gain, "seed": self.seed}


_BY_NAME = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "identity": Identity,
    "uniform": RandomUniform,
    "random_uniform": RandomUniform,
    "normal": RandomNormal,
    "random_normal": RandomNormal,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
    "lecun_normal": LecunNormal,
    "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal,
}
_BY_CLASS = {cls.__name__: cls for cls in set(_BY_NAME.values())}

# Keras' function-style aliases.
zeros, ones, glorot_uniform, glorot_normal = Zeros, Ones, GlorotUniform, GlorotNormal
he_normal, he_uniform, lecun_normal, lecun_uniform, orthogonal = (
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
)


def get(identifier: object) -> Initializer | None:
    """An initializer from a name ("glorot_uniform"), a class name, a config dict, a
    class, an instance or a callable ``f(shape, dtype)``."""
    if identifier is None:
        return None
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _BY_NAME.get(identifier.lower()) or _BY_CLASS.get(identifier)
        if cls is None:
            raise ValueError(f"Could not interpret initializer identifier: {identifier}")
        return cls()
    if isinstance(identifier, dict):
        cls = _BY_CLASS.get(identifier.get("class_name")) or _BY_NAME.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Could not interpret initializer identifier: {identifier}")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier  # type: ignore[return-value]
    raise ValueError(f"Could not interpret initializer identifier: {identifier}")


def serialize(initializer: Initializer) -> dict:
    return {
        "module": "keras.initializers",
        "class_name": type(initializer).__name__,
        "config": initializer.get_config(),
    }
