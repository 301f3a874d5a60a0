"""neuropaint's random numbers, written again in Python from their
definition (core/util/np-rng.c, core/nn/activation.c), so the parity tests
can give PyTorch the very dropout masks our training forward draws."""
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
