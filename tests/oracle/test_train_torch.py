"""Our training steps against PyTorch's (the oracle).

From the same initial weights and the same batches, three full pix2pix steps
(D on fake then real, Adam; G through the frozen D plus 100·L1, Adam; batch
norm in training mode, dropout with our mask) and three super-resolution
steps (MSE, no discriminator; the seed's net and the EDSR-like one) must
leave losses, weights, running statistics and Adam's moments equal to
torch's within 1e-4 of each tensor's scale.

The PyTorch side is written here from pix2pix's definition (Isola et al.;
the reference implementation's optimize_parameters), with torch.nn modules
and torch.optim.Adam; our trainer runs through tests/train-steps.c, which
resumes a checkpoint this test writes and saves one after the steps.

Adam's epsilon is 1e-3 here, not 1e-8: the bias of a convolution followed by
batch norm has a gradient of exactly 0 in exact arithmetic, so both programs
hand Adam rounding noise, which a tiny epsilon turns into ±lr steps of
random sign. A larger epsilon keeps such noise small and leaves the real
gradients (orders of magnitude larger) in charge, so the comparison tests
the arithmetic, not the noise.
"""
import os
import subprocess
import sys
import tempfile
import unittest

import nptest

try:
    import numpy as np
    import torch
    from torch import nn
    sys.path.insert(0, os.path.join(nptest.SOURCE_ROOT, "tools"))
    import export_torch as ex
    import nprandom
except ImportError as e:  # pragma: no cover - Debian's python3-torch is a test dependency
    print("skipping: %s" % e)
    sys.exit(nptest.SKIP)

STEPS = os.environ.get("NP_TRAIN_STEPS", "train-steps")
TOL = 1e-4
SEED = 1234
STREAM_DROPOUT = 102   # core/train/trainer.c
STREAM_AUGMENT_FAKE, STREAM_AUGMENT_REAL, STREAM_AUGMENT_G = 103, 104, 105
HYPER = {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "eps": 1e-3, "init_std": 0.02}


def trainer_key(seed, step, stream):
    """np_trainer_key: hash(seed ^ hash((step << 8) | stream))."""
    return nprandom.rng_hash(seed ^ nprandom.rng_hash((step << 8) | stream))


class MaskDropout(nn.Module):
    def __init__(self):
        super().__init__()
        self.mask = None

    def forward(self, x):
        return x * self.mask


def checkpoint(path, g, d, recon, recon_weight, gan_weight, decay=None, colour=None, ema=None, augment=False,
               sn_u=None):
    """Our checkpoint format at step 0: both nets, zero moments; decay
    (start, end) a learning-rate schedule; colour (weight, target) a
    colourfulness term; ema a moving average of G's weights (starting at
    them)."""
    tensors, meta = [], {"format": "neuropaint-checkpoint", "train.step": 0, "train.seed": SEED,
                         "train.recon": recon, "train.recon_weight": recon_weight,
                         "train.gan_weight": gan_weight}
    if decay:
        meta["train.decay_start"], meta["train.decay_end"] = decay
    if colour:
        meta["train.colour_weight"], meta["train.target"] = repr(colour[0]), colour[1]
    meta.update({"train." + k: repr(v) for k, v in HYPER.items()})
    if augment:
        meta["train.augment"] = 1
    if sn_u is not None:
        # Spectral norm: D's first u vectors, one after the other, v zero.
        meta["train.spectral_norm"] = 1
        tensors += [("sn.D.u", sn_u), ("sn.D.v", np.zeros(sum(n for n in sn_u_cols(d)), np.float32))]
    if ema:
        meta["train.ema"] = repr(ema)
        tensors.append(("ema.G", flat_state(g)))
    for prefix, net in (("G", g), ("D", d)):
        if net is None:
            continue
        for k, v in net.meta.items():
            meta[prefix + "." + k] = v
        meta[prefix + ".batchnorm"] = "batch"
        tensors += [(prefix + "." + k, v) for k, v in ex.state(net)]
        n = ex.n_parameters(net)
        tensors += [("adam.%s.m" % prefix, np.zeros(n, np.float32)), ("adam.%s.v" % prefix, np.zeros(n, np.float32))]
        meta["adam.%s.t" % prefix] = 0
    ex.write_safetensors(path, tensors, meta)


def flat_state(net):
    """Our parameter block: the trainable parameters in layer order, then
    the buffers (batch norm's running statistics)."""
    return np.concatenate([p.detach().numpy().ravel() for p in net.parameters()]
                          + [b.numpy().ravel() for n, b in net.named_buffers() if not n.endswith("num_batches_tracked")])


def sn_weights(d):
    """D's weights under spectral norm: its convolutions' and linear layers'."""
    return [(name, p) for name, p in d.named_parameters() if name.endswith(".weight")]


def sn_u_cols(d):
    return [p[0].numel() for _, p in sn_weights(d)]


class SpectralNorm:
    """Miyato et al.'s spectral norm as the trainer applies it: one power
    iteration at the start of D's step (under no_grad, as PyTorch's
    spectral_norm), then W/σ with σ = uᵀWv differentiated with u, v
    constant; G's term uses the updated W over uᵀW'v, the same u, v."""

    def __init__(self, d, u):
        self.d, self.u, self.v = d, {}, {}
        at = 0
        for name, p in sn_weights(d):
            rows = p.shape[0]
            self.u[name] = torch.from_numpy(u[at:at + rows].copy())
            at += rows

    def iterate(self):
        with torch.no_grad():
            for name, p in sn_weights(self.d):
                m = p.reshape(p.shape[0], -1)
                self.v[name] = nn.functional.normalize(m.t() @ self.u[name], dim=0, eps=1e-12)
                self.u[name] = nn.functional.normalize(m @ self.v[name], dim=0, eps=1e-12)

    def __call__(self, x):
        weights = {}
        for name, p in sn_weights(self.d):
            sigma = self.u[name] @ (p.reshape(p.shape[0], -1) @ self.v[name])
            weights[name] = p / sigma
        return torch.nn.utils.stateless.functional_call(self.d, weights, (x,))


def diffaugment(x, key):
    """DiffAugment's colour, translation and cutout (Zhao et al. 2020's
    DiffAugment_pytorch.py, policy "color,translation,cutout") in torch,
    with the draws core/train/augment.c takes for image n from np_rng seeded
    with hash(key ^ hash(n)): brightness, saturation, contrast, the shifts,
    the cutout's centre. Differentiable, so G's gradient goes through it."""
    n, c, h, w = x.shape
    out = []
    for i in range(n):
        rng = nprandom.Rng(nprandom.rng_hash(key ^ nprandom.rng_hash(i)))
        b, sat, con = rng.uniform() - 0.5, rng.uniform() * 2, rng.uniform() + 0.5
        sx, sy = w // 8, h // 8
        tx = int(rng.uniform() * (2 * sx + 1)) - sx
        ty = int(rng.uniform() * (2 * sy + 1)) - sy
        cx, cy = int(rng.uniform() * (w + 1)), int(rng.uniform() * (h + 1))
        y = x[i] + b
        m = y.mean(0, keepdim=True)
        y = (y - m) * sat + m
        m = y.mean()
        y = (y - m) * con + m
        # Translation: out[y, x] = in[y − ty, x − tx], zeros coming in.
        y = nn.functional.pad(y, (sx, sx, sy, sy))[:, sy - ty:sy - ty + h, sx - tx:sx - tx + w]
        mask = torch.ones(h, w)
        mask[max(cy - h // 4, 0):min(cy + h // 2 - h // 4, h), max(cx - w // 4, 0):min(cx + w // 2 - w // 4, w)] = 0
        out.append(y * mask)
    return torch.stack(out)


def colourfulness(pictures):
    """Hasler and Süsstrunk's colourfulness of each R'G'B' picture (N, 3, H,
    W) on 0–255: sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²)."""
    r, g, b = pictures[:, 0] * 255, pictures[:, 1] * 255, pictures[:, 2] * 255
    rg, yb = (r - g).flatten(1), ((r + g) / 2 - b).flatten(1)
    spread = torch.sqrt(rg.var(1, unbiased=False) + yb.var(1, unbiased=False))
    return spread + 0.3 * torch.sqrt(rg.mean(1) ** 2 + yb.mean(1) ** 2)


def chroma_to_rgb(values, luma=0.5):
    """A chroma target's R'G'B' (JPEG's YCbCr, BT.601; values = 2·Cb, 2·Cr),
    unclamped, on a constant luminance (which colourfulness does not see)."""
    cb, cr = values[:, 0] * 0.5, values[:, 1] * 0.5
    r = luma + 1.402 * cr
    b = luma + 1.772 * cb
    g = (luma - 0.299 * r - 0.114 * b) / 0.587
    return torch.stack([r, g, b], 1)


def gan_step(g, d, opt_g, opt_d, src, real, recon, recon_weight, gan_weight, conditional=True,
             judge=None, seen=lambda picture, which: picture, before_d=lambda: None):
    """One step as our trainer takes it (pix2pix's optimize_parameters): D on
    fake, then real, each BCE weighted ½; then G through the frozen D plus the
    weighted reconstruction term (recon: a torch loss function). D judges
    (source, picture) pairs, or with conditional=False the picture alone.
    judge(cond, picture) is what D is called through (default D itself; a
    spectral norm's wrapper), seen(picture, which) what it sees of the
    "fake", "real" and "g" pictures (DiffAugment), and before_d runs before
    D's step (the spectral norm's power iteration). Returns the losses in the
    order the trainer records them: D real, D fake, G GAN, G reconstruction."""
    bce = nn.BCEWithLogitsLoss()
    judge = judge or d
    cond = src if conditional else None
    fake = g(src)
    opt_d.zero_grad()
    before_d()
    pred_fake = judge(cond, seen(fake.detach(), "fake"))
    loss_d_fake = bce(pred_fake, torch.zeros_like(pred_fake))
    pred_real = judge(cond, seen(real, "real"))
    loss_d_real = bce(pred_real, torch.ones_like(pred_real))
    ((loss_d_fake + loss_d_real) * 0.5).backward()
    opt_d.step()
    for p in d.parameters():
        p.requires_grad_(False)
    opt_g.zero_grad()
    pred = judge(cond, seen(fake, "g"))
    loss_g_gan = bce(pred, torch.ones_like(pred))
    loss_g_recon = recon(fake, real)
    (loss_g_gan * gan_weight + loss_g_recon * recon_weight).backward()
    opt_g.step()
    for p in d.parameters():
        p.requires_grad_(True)
    return [loss_d_real.item(), loss_d_fake.item(), loss_g_gan.item(), loss_g_recon.item()]


def adam(net):
    """torch's Adam with the trainer's hyperparameters."""
    return torch.optim.Adam(net.parameters(), lr=HYPER["lr"], betas=(HYPER["beta1"], HYPER["beta2"]),
                            eps=HYPER["eps"])


def adam_moments(net, opt):
    """Adam's m and v flattened in our layout (trainable parameters in layer
    order, which is named_parameters' order)."""
    m, v = [], []
    for p in net.parameters():
        st = opt.state[p]
        m.append(st["exp_avg"].flatten())
        v.append(st["exp_avg_sq"].flatten())
    return torch.cat(m).numpy(), torch.cat(v).numpy()


class Training(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        cls.dir = tempfile.mkdtemp(prefix="np-train-")

    def run_ours(self, ckpt, batches, threads=1, micro=1):
        out = os.path.join(self.dir, "after.ckpt")
        bpath = os.path.join(self.dir, "batches.safetensors")
        feed = []
        for k, (s, t) in enumerate(batches):
            feed += [("source.%d" % k, s.numpy()), ("target.%d" % k, t.numpy())]
        ex.write_safetensors(bpath, feed)
        proc = subprocess.run([STEPS, ckpt, bpath, out, str(threads), str(micro)], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return ex.read_safetensors(out)

    def close(self, ours, ref, what):
        ref = np.asarray(ref, np.float32)
        ours = np.asarray(ours, np.float32).reshape(ref.shape)
        scale = max(float(np.abs(ref).max()), 1e-6)
        err = float(np.abs(ours - ref).max()) / scale
        if err > TOL:
            self.fail("%s: max error %.3g of scale %.3g" % (what, err, scale))
        return err

    def compare_state(self, ours, prefix, net, opt, what):
        worst = 0
        for name, value in ex.state(net):
            worst = max(worst, self.close(ours[prefix + "." + name], value, "%s %s" % (what, name)))
        m, v = adam_moments(net, opt)
        worst = max(worst, self.close(ours["adam.%s.m" % prefix], m, what + " Adam m"))
        worst = max(worst, self.close(ours["adam.%s.v" % prefix], v, what + " Adam v"))
        print("  %s: weights, running statistics and moments within %.2g of scale" % (what, worst))

    def test_pix2pix_three_steps(self):
        g = ex.randomize(ex.UNet(8, 5), 1)
        d = ex.randomize(ex.PatchGAN(8, 3, logits=True), 2)
        ckpt = os.path.join(self.dir, "pix2pix.ckpt")
        checkpoint(ckpt, g, d, "l1", 100.0, 1.0)
        batches = [(torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1) for _ in range(3)]
        for threads in (1, 2):
            (ours, meta) = self.run_ours(ckpt, batches, threads)
            if threads == 1:
                first = ours, meta
            else:
                # The same bits for any thread count.
                for name, value in first[0].items():
                    np.testing.assert_array_equal(value, ours[name], err_msg=name)
                self.assertEqual({k: v for k, v in meta.items() if k.startswith("run.")},
                                 {k: v for k, v in first[1].items() if k.startswith("run.")})
        ours, meta = first
        (drop,) = nprandom.layer_indices(meta["G.graph"], "dropout")

        g.train(), d.train()
        g.drop = MaskDropout()
        opt_g = adam(g)
        opt_d = adam(d)
        for step, (src, real) in enumerate(batches):
            shape = (src.shape[0], g.m["d4"].out_channels, src.shape[2] // 16, src.shape[3] // 16)
            g.drop.mask = torch.from_numpy(
                nprandom.dropout_mask(trainer_key(SEED, step, STREAM_DROPOUT), drop, shape, 0.5))
            # GAN + 100·L1.
            want = gan_step(g, d, opt_g, opt_d, src, real, nn.functional.l1_loss, 100.0, 1.0)

            got = [float(x) for x in meta["run.loss.%d" % step].split()]
            print("  step %d losses ours %s torch %s" % (step, got, want))
            for a, b, what in zip(got, want, ("D real", "D fake", "G GAN", "G L1")):
                self.assertLess(abs(a - b), TOL * max(1.0, abs(b)), "step %d %s" % (step, what))
        self.compare_state(ours, "G", g, opt_g, "G")
        self.compare_state(ours, "D", d, opt_d, "D")
        self.assertEqual(meta["train.step"], "3")

    def test_pix2pix_micro_batches(self):
        """Two steps of a batch of 4 in 2 micro-batches of 2, as PyTorch with
        gradient accumulation computes them: batch norm on each micro-batch's
        statistics, its running statistics moved by the first micro-batch
        only (momentum 0 for the others, as DDP keeps rank 0's), D's
        gradients of both micro-batches averaged into one step, then G's,
        through the updated D; dropout masks those of the whole batch."""
        g = ex.randomize(ex.UNet(8, 5), 4)
        d = ex.randomize(ex.PatchGAN(8, 3, logits=True), 5)
        ckpt = os.path.join(self.dir, "micro.ckpt")
        checkpoint(ckpt, g, d, "l1", 100.0, 1.0)
        batches = [(torch.rand(4, 3, 64, 64) * 2 - 1, torch.rand(4, 3, 64, 64) * 2 - 1) for _ in range(2)]
        ours, meta = self.run_ours(ckpt, batches, 2, micro=2)
        (drop,) = nprandom.layer_indices(meta["G.graph"], "dropout")

        def momentum(net, value):
            for mod in net.modules():
                if isinstance(mod, nn.BatchNorm2d):
                    mod.momentum = value

        g.train(), d.train()
        g.drop = MaskDropout()
        bce = nn.BCEWithLogitsLoss()
        opt_g = adam(g)
        opt_d = adam(d)
        m = 2
        for step, (src, real) in enumerate(batches):
            b = src.shape[0] // m
            shape = (src.shape[0], g.m["d4"].out_channels, src.shape[2] // 16, src.shape[3] // 16)
            mask = torch.from_numpy(nprandom.dropout_mask(trainer_key(SEED, step, STREAM_DROPOUT), drop, shape, 0.5))
            parts = [(src[k * b:(k + 1) * b], real[k * b:(k + 1) * b], mask[k * b:(k + 1) * b]) for k in range(m)]
            fakes, losses = [], np.zeros(4)
            opt_d.zero_grad()
            for k, (s, r, mk) in enumerate(parts):
                momentum(g, 0.1 if k == 0 else 0.0)
                momentum(d, 0.1 if k == 0 else 0.0)
                g.drop.mask = mk
                fake = g(s)
                fakes.append(fake)
                pred_fake = d(s, fake.detach())
                loss_fake = bce(pred_fake, torch.zeros_like(pred_fake))
                pred_real = d(s, r)
                loss_real = bce(pred_real, torch.ones_like(pred_real))
                ((loss_fake + loss_real) * 0.5 / m).backward()
                losses[:2] += [loss_real.item() / m, loss_fake.item() / m]
            opt_d.step()
            for p in d.parameters():
                p.requires_grad_(False)
            opt_g.zero_grad()
            for k, ((s, r, mk), fake) in enumerate(zip(parts, fakes)):
                momentum(d, 0.1 if k == 0 else 0.0)
                pred = d(s, fake)
                loss_gan = bce(pred, torch.ones_like(pred))
                loss_l1 = nn.functional.l1_loss(fake, r)
                ((loss_gan + loss_l1 * 100.0) / m).backward()
                losses[2:] += [loss_gan.item() / m, loss_l1.item() / m]
            opt_g.step()
            for p in d.parameters():
                p.requires_grad_(True)
            got = [float(x) for x in meta["run.loss.%d" % step].split()]
            print("  step %d losses ours %s torch %s" % (step, got, list(losses)))
            for a, want, what in zip(got, losses, ("D real", "D fake", "G GAN", "G L1")):
                self.assertLess(abs(a - want), TOL * max(1.0, abs(want)), "step %d %s" % (step, what))
        self.compare_state(ours, "G", g, opt_g, "G (micro-batches)")
        self.compare_state(ours, "D", d, opt_d, "D (micro-batches)")

    def colouriser_steps(self, seed, name, recon, terms, colour=(0.0, "chroma")):
        """Three steps of a colouriser (gray → chroma, no discriminator)
        trained with `recon` and the colourfulness weight colour[0], ours
        against PyTorch's: terms(fake, real) gives the losses the trainer
        reports from its fourth column on, as (weight, value) pairs, written
        here from their definitions; the step minimises their weighted sum,
        its gradient PyTorch's autograd."""
        g = ex.randomize(ex.UNet(8, 5, in_channels=1, out_channels=2), seed)
        ckpt = os.path.join(self.dir, name + ".ckpt")
        checkpoint(ckpt, g, None, recon, 100.0, 0.0, colour=colour)
        batches = [(torch.rand(2, 1, 64, 64) * 2 - 1, (torch.rand(2, 2, 64, 64) * 2 - 1) * 0.4) for _ in range(3)]
        ours, meta = self.run_ours(ckpt, batches, 2)
        (drop,) = nprandom.layer_indices(meta["G.graph"], "dropout")

        g.train()
        g.drop = MaskDropout()
        opt = adam(g)
        for step, (src, real) in enumerate(batches):
            shape = (src.shape[0], g.m["d4"].out_channels, src.shape[2] // 16, src.shape[3] // 16)
            g.drop.mask = torch.from_numpy(
                nprandom.dropout_mask(trainer_key(SEED, step, STREAM_DROPOUT), drop, shape, 0.5))
            opt.zero_grad()
            weighted = terms(g(src), real)
            sum(w * value for w, value in weighted).backward()
            opt.step()
            got = [float(x) for x in meta["run.loss.%d" % step].split()][3:]
            want = [value.item() for _, value in weighted]
            print("  step %d %s ours %s torch %s" % (step, name, got[:len(want)], want))
            for a, b in zip(got, want):
                self.assertLess(abs(a - b), TOL * max(1.0, abs(b)))
        self.compare_state(ours, "G", g, opt, name)

    def test_colourfulness_three_steps(self):
        """L1 and the colourfulness term: 100·L1 + 0.5·mean |C(fake) −
        C(real)| on the colours the chroma stands for."""
        self.colouriser_steps(6, "colour", "l1", lambda fake, real: [
            (100.0, nn.functional.l1_loss(fake, real)),
            (0.5, (colourfulness(chroma_to_rgb(fake)) - colourfulness(chroma_to_rgb(real))).abs().mean())],
            colour=(0.5, "chroma"))

    def test_root_loss_three_steps(self):
        """The L½ loss (--loss l0.5): 100·mean((|fake − real| + 0.01)^½ −
        0.01^½)."""
        self.colouriser_steps(7, "root", "l0.5", lambda fake, real: [
            (100.0, ((fake - real).abs() + 0.01).sqrt().mean() - 0.1)])

    def test_magnitude_loss_three_steps(self):
        """L1 plus the magnitude term (--loss l1+magnitude): 100·(mean
        |fake − real| + mean over the pixels of |‖fake‖ − ‖real‖|),
        ‖·‖ = √(Cb² + Cr² + 10⁻⁶)."""
        def norm(c):
            return (c.pow(2).sum(1) + 1e-6).sqrt()

        self.colouriser_steps(8, "magnitude", "l1+magnitude", lambda fake, real: [
            (100.0, nn.functional.l1_loss(fake, real) + (norm(fake) - norm(real)).abs().mean())])

    def test_chroma_bins_three_steps(self):
        """A chroma-bins colouriser's steps (U-Net with the half-size logits
        head): Zhang et al. 2016's loss written here from the paper, the
        softmax cross-entropy against the truth's 5 nearest bins weighted
        by a Gaussian (σ 8 on 0–255), times the nearest bin's rebalancing
        weight, over bins with gaps in the grid; the logits repeated over
        the 2×2 truth pixels each covers (nearest)."""
        # The global generator left as it was: the tests after this one draw
        # their data from it (module construction draws from it too).
        with torch.random.fork_rng():
            self.chroma_bins_steps()

    def chroma_bins_steps(self):
        centres = [(cb, cr) for cb in range(-64, 65, 16) for cr in range(-48, 65, 16) if (cb * 7 + cr * 3) % 80]
        rng = np.random.default_rng(5)
        weights = rng.uniform(0.3, 3, len(centres)).astype(np.float32)
        g = ex.randomize(ex.UNet(8, 5, in_channels=1, out_channels=len(centres), half_logits=True), 6)
        g.meta["chroma_bins"] = ",".join("%d:%d" % c for c in centres)
        g.meta["chroma_bin_weights"] = ",".join("%.9g" % w for w in weights)
        ckpt = os.path.join(self.dir, "bins.ckpt")
        checkpoint(ckpt, g, None, "cross-entropy", 1.0, 0.0, colour=(0.0, "chroma-bins"))
        # Batches of their own generator, not the suite's, as the dream test's.
        gen = torch.Generator().manual_seed(7)
        batches = [(torch.rand(2, 1, 64, 64, generator=gen) * 2 - 1,
                    (torch.rand(2, 2, 64, 64, generator=gen) * 2 - 1) * 0.5) for _ in range(3)]
        ours, meta = self.run_ours(ckpt, batches, 2)
        (drop,) = nprandom.layer_indices(meta["G.graph"], "dropout")
        points = torch.tensor(centres, dtype=torch.float64)
        rebalance = torch.from_numpy(weights)

        def loss(logits, real):
            k = logits.shape[1]
            truth = real.permute(0, 2, 3, 1).reshape(-1, 2).double() * 127.5   # 255·Cb, 255·Cr
            d2 = ((truth[:, None, :] - points[None]) ** 2).sum(-1)
            near_d2, near = torch.topk(d2, 5, largest=False)
            soft = torch.exp(-near_d2 / (2 * 8.0 ** 2))
            encoding = torch.zeros(truth.shape[0], k).scatter_(1, near, (soft / soft.sum(1, keepdim=True)).float())
            log_p = torch.log_softmax(logits.permute(0, 2, 3, 1).reshape(-1, k), 1)
            return (rebalance[near[:, 0]] * -(encoding * log_p).sum(1)).mean()

        g.train()
        g.drop = MaskDropout()
        opt = adam(g)
        for step, (src, real) in enumerate(batches):
            shape = (src.shape[0], g.m["d4"].out_channels, src.shape[2] // 16, src.shape[3] // 16)
            g.drop.mask = torch.from_numpy(
                nprandom.dropout_mask(trainer_key(SEED, step, STREAM_DROPOUT), drop, shape, 0.5))
            opt.zero_grad()
            ce = loss(nn.functional.interpolate(g(src), scale_factor=2, mode="nearest"), real)
            ce.backward()
            opt.step()
            got = [float(x) for x in meta["run.loss.%d" % step].split()]
            print("  step %d cross-entropy ours %s torch %s" % (step, got[3], ce.item()))
            self.assertLess(abs(got[3] - ce.item()), TOL * max(1.0, ce.item()))
        self.compare_state(ours, "G", g, opt, "chroma-bins colouriser")

    def test_dream_three_steps(self):
        """The generator built for noise: z of 1×1 to a picture, an
        unconditional discriminator (the picture alone), the non-saturating
        GAN loss with no reconstruction term (its L1 reported, weighted 0),
        and the moving average of G's weights, whose decay ramps up as
        min(0.9, (1 + s)/(10 + s)); then the same with DiffAugment on every
        picture D sees (D's fake and real, G's fake: three draws a step). The
        same bits on 1 and 2 threads, and 2 steps then 1 from the checkpoint
        equal 3 in one go."""
        # The global generator left as it was: the tests after this one draw
        # their data from it (module construction draws from it too).
        for augment, sn in ((False, False), (True, False), (True, True)):
            with torch.random.fork_rng():
                self.dream_steps(augment, sn)

    def dream_steps(self, augment, sn):
        g = ex.randomize(ex.Dream(8, 3, in_channels=16), 11)
        d = ex.randomize(ex.DreamD(8, 3), 12)
        ckpt = os.path.join(self.dir, "dream.ckpt")
        u = None
        if sn:
            rng = np.random.default_rng(3)
            u = np.concatenate([(lambda a: a / np.linalg.norm(a))(rng.standard_normal(p.shape[0]))
                                for _, p in sn_weights(d)]).astype(np.float32)
        checkpoint(ckpt, g, d, "l1", 0.0, 1.0, ema=0.9, augment=augment, sn_u=u)
        seen = diffaugment if augment else lambda x, key: x
        label = ("DiffAugment " if augment else "") + ("spectral norm " if sn else "")
        # Batches of their own generator, not the suite's: with these small
        # nets a draw may put a leaky ReLU's input within rounding of 0, where
        # the two programs' slopes may differ by 0.8 at one pixel (a draw after
        # the colourfulness test did, at 6e-7), which Adam then spreads.
        gen = torch.Generator().manual_seed(5)
        batches = [(torch.randn(2, 16, 1, 1, generator=gen), torch.rand(2, 3, 40, 32, generator=gen) * 2 - 1)
                   for _ in range(3)]
        first = self.run_ours(ckpt, batches, 1)
        again = self.run_ours(ckpt, batches, 2)
        for name, value in first[0].items():
            np.testing.assert_array_equal(value, again[0][name], err_msg="2 threads: " + name)
        self.assertEqual({k: v for k, v in again[1].items() if k.startswith("run.")},
                         {k: v for k, v in first[1].items() if k.startswith("run.")})
        two = os.path.join(self.dir, "dream-2.ckpt")
        self.run_ours(ckpt, batches[:2], 1)
        os.replace(os.path.join(self.dir, "after.ckpt"), two)
        resumed = self.run_ours(two, batches[2:], 1)
        for name, value in first[0].items():
            np.testing.assert_array_equal(value, resumed[0][name], err_msg="resumed: " + name)
        ours, meta = first

        g.train(), d.train()
        opt_g, opt_d = adam(g), adam(d)
        norm = SpectralNorm(d, u) if sn else None
        judge = norm if sn else d
        streams = {"fake": STREAM_AUGMENT_FAKE, "real": STREAM_AUGMENT_REAL, "g": STREAM_AUGMENT_G}
        avg = torch.from_numpy(flat_state(g))
        n_trainable = ex.n_parameters(g)
        for step, (z, real) in enumerate(batches):
            # The adversarial term alone; the L1 is recorded, weighted 0.
            want = gan_step(g, d, opt_g, opt_d, z, real, nn.functional.l1_loss, 0.0, 1.0, conditional=False,
                            judge=lambda cond, picture: judge(picture),
                            seen=lambda picture, which: seen(picture, trainer_key(SEED, step, streams[which])),
                            before_d=norm.iterate if sn else lambda: None)
            beta = min(0.9, (1 + step) / (10 + step))
            now = torch.from_numpy(flat_state(g))
            avg = torch.cat([beta * avg[:n_trainable] + (1 - beta) * now[:n_trainable], now[n_trainable:]])

            got = [float(x) for x in meta["run.loss.%d" % step].split()]
            print("  %sstep %d losses ours %s torch %s" % (label, step, got, want))
            for a, b, what in zip(got, want, ("D real", "D fake", "G GAN", "G L1")):
                self.assertLess(abs(a - b), TOL * max(1.0, abs(b)), "step %d %s" % (step, what))
        self.compare_state(ours, "G", g, opt_g, label + "G")
        self.compare_state(ours, "D", d, opt_d, label + "D")
        if sn:
            self.close(ours["sn.D.u"], np.concatenate([norm.u[n].numpy() for n, _ in sn_weights(d)]), "u")
            self.close(ours["sn.D.v"], np.concatenate([norm.v[n].numpy() for n, _ in sn_weights(d)]), "v")
            sigmas = [float(norm.u[n] @ (p.reshape(p.shape[0], -1) @ norm.v[n])) for n, p in sn_weights(d)]
            print("  σ after 3 steps: %s" % ", ".join("%.3g" % x for x in sigmas))
            # Random weights of about 1/sqrt(fan-in) have σ above 1: the norm
            # changed what D computes.
            self.assertGreater(max(sigmas), 1.1)
        err = self.close(ours["ema.G"], avg.numpy(), "G's moving average")
        print("  G's moving average within %.2g of scale" % err)
        # The average is not the weights themselves (they moved by about lr a step).
        self.assertGreater(float(np.abs(ours["ema.G"] - flat_state(g)).max()), 1e-5)

    def test_super_resolution_three_steps(self):
        """The seed's SR net's MSE steps, with a learning rate falling from
        step 1 to 0 at step 3, as pix2pix's linear schedule: 1, 2/3, 1/3 of lr."""
        self.super_resolution_steps(ex.randomize(ex.SRNet(16), 3), "SR")

    def test_edsr_three_steps(self):
        """The same steps for the EDSR-like net (residual blocks, pixel shuffle)."""
        self.super_resolution_steps(ex.randomize(ex.EDSR(8, 2), 9), "EDSR")

    def test_super_resolution_gan_three_steps(self):
        """EDSR with an adversarial term: D judges the picture alone (the
        low-resolution source does not stack with it, SRGAN's D), fake then
        real, then G by MSE plus the weighted GAN term through the frozen D."""
        g = ex.randomize(ex.EDSR(8, 2), 11)
        d = ex.randomize(ex.PatchGAN(8, 2, in_channels=0, logits=True), 12)
        ckpt = os.path.join(self.dir, "srgan.ckpt")
        checkpoint(ckpt, g, d, "mse", 1.0, 0.01)
        batches = [(torch.rand(2, 3, 24, 20) * 2 - 1, torch.rand(2, 3, 48, 40) * 2 - 1) for _ in range(3)]
        ours, meta = self.run_ours(ckpt, batches, 2)
        self.assertNotIn("concat", meta["D.graph"])

        g.train(), d.train()
        opt_g, opt_d = adam(g), adam(d)
        for step, (src, real) in enumerate(batches):
            want = gan_step(g, d, opt_g, opt_d, src, real, nn.functional.mse_loss, 1.0, 0.01, conditional=False)
            got = [float(x) for x in meta["run.loss.%d" % step].split()]
            print("  step %d losses ours %s torch %s" % (step, got, want))
            for a, b, what in zip(got, want, ("D real", "D fake", "G GAN", "G MSE")):
                self.assertLess(abs(a - b), TOL * max(1.0, abs(b)), "step %d %s" % (step, what))
        self.compare_state(ours, "G", g, opt_g, "G")
        self.compare_state(ours, "D", d, opt_d, "D")

    def super_resolution_steps(self, g, what):
        ckpt = os.path.join(self.dir, "sr.ckpt")
        checkpoint(ckpt, g, None, "mse", 1.0, 0.0, decay=(1, 3))
        batches = [(torch.rand(2, 3, 24, 20) * 2 - 1, torch.rand(2, 3, 48, 40) * 2 - 1) for _ in range(3)]
        ours, meta = self.run_ours(ckpt, batches, 2)

        g.train()
        opt = adam(g)
        for step, (src, real) in enumerate(batches):
            for group in opt.param_groups:
                group["lr"] = HYPER["lr"] * (1, 2 / 3, 1 / 3)[step]
            opt.zero_grad()
            loss = nn.functional.mse_loss(g(src), real)
            loss.backward()
            opt.step()
            got = float(meta["run.loss.%d" % step].split()[3])
            print("  step %d MSE ours %.9g torch %.9g" % (step, got, loss.item()))
            self.assertLess(abs(got - loss.item()), TOL * max(1.0, loss.item()))
        self.compare_state(ours, "G", g, opt, what)
        self.assertNotIn("D.graph", meta)


if __name__ == "__main__":
    nptest.main()
