"""neuropaint's random numbers, written again in Python from their
definition (core/util/np-rng.c, core/nn/activation.c), so the parity tests
can give PyTorch the very dropout masks our training forward draws."""
import math

import numpy as np

GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1


def rng_hash(x):
    """splitmix64's mixing of x + golden ratio, on Python integers."""
    z = (x + GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def _hash_array(x):
    with np.errstate(over="ignore"):
        z = x + np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def dropout_mask(net_key, layer_index, shape, rate):
    """The mask (0 or 1/(1-rate)) of the dropout layer at layer_index of a
    network whose key is net_key, for an output of this NCHW shape: value i
    (in NCHW order) is kept when the top 32 bits of hash(key ^ i) reach
    rate * 2^32, with key = hash(net_key ^ hash(layer_index))."""
    key = rng_hash(net_key ^ rng_hash(layer_index))
    i = np.arange(int(np.prod(shape)), dtype=np.uint64)
    threshold = np.uint64(int(np.float32(rate) * 4294967296.0))
    keep = (_hash_array(np.uint64(key) ^ i) >> np.uint64(32)) >= threshold
    scale = np.float32(1) / (np.float32(1) - np.float32(rate))
    return (keep.astype(np.float32) * scale).reshape(shape)


def layer_indices(description, kind):
    """Indices (our layer numbering: non-empty description lines) of the
    layers of this kind."""
    lines = [l.split("#")[0].strip() for l in description.split("\n")]
    lines = [l for l in lines if l]
    return [i for i, l in enumerate(lines) if l.split()[0] == kind]


class Rng:
    """np_rng (core/util/np-rng.c): splitmix64 bits, uniforms of 53 bits, and
    Marsaglia's polar normals with the portable logarithm, in Python floats
    (IEEE doubles, so every step rounds as the C code's does)."""

    def __init__(self, seed):
        self.state = seed & MASK64
        self.spare = None

    def next(self):
        z = rng_hash(self.state)
        self.state = (self.state + GOLDEN) & MASK64
        return z

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    @staticmethod
    def log(x):
        m, e = math.frexp(x)
        if m < math.sqrt(2) / 2:
            m *= 2
            e -= 1
        s = (m - 1) / (m + 1)
        s2, term, total = s * s, s, 0.0
        for k in range(1, 28, 2):
            total += term / k
            term *= s2
        return 2 * total + e * 0.6931471805599453094172321

    def normal(self):
        if self.spare is not None:
            value, self.spare = self.spare, None
            return value
        while True:
            u = 2 * self.uniform() - 1
            v = 2 * self.uniform() - 1
            s = u * u + v * v
            if 0 < s < 1:
                break
        f = math.sqrt(-2 * self.log(s) / s)
        self.spare = v * f
        return u * f


def normal_tensor(seed, channels, height, width):
    """np_tensor_fill_normal: N(0, 1) from seed, channel by channel, row by
    row, as float32 (C, H, W)."""
    rng = Rng(seed)
    return np.array([rng.normal() for _ in range(channels * height * width)],
                    dtype=np.float64).astype(np.float32).reshape(channels, height, width)
