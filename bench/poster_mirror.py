#!/usr/bin/env python3
"""grefel's own PyTorch mirror of the POSTER++ (POSTER_V2) eval-mode network, for the import tests.

What it is
----------
POSTER++ ("POSTER V2: A simpler and stronger facial expression recognition network",
Talented-Q/POSTER_V2, MIT licence) is the reference that grefel's `poster` / `poster-8` presets and
its checkpoint importer are checked against. This file is an independent re-implementation of
that network's *eval-mode* forward pass, written for this project (no source text of the authors
is copied). It has only torch (and the standard library; numpy is optional) as dependencies, so it
runs on the CI interpreter ~/.cache/grefel-torch/bin/python, which has no timm, thop or PIL.

The module and parameter NAMES are chosen so that `state_dict()` has exactly the keys, shapes and
dtypes of the authors' `pyramid_trans_expr2` (models/PosterV2_7cls.py, or PosterV2_8cls.py for 8
classes): 747 entries, including the modules that POSTER++ registers but never runs
(`ir_back.output_layer`, `face_landback.output_layer` (GDC), `VIT.patch_embed`, `VIT.eca_block`,
`VIT.CON1`, `VIT.IRLinear1/2`, `VIT.blocks.N.conv`), the three `relative_position_index` int64
buffers and every BatchNorm `num_batches_tracked`. A state dict of this mirror therefore loads into
the authors' model with strict=True and vice versa, and the two give the same logits.

Network (eval mode; all sizes for the fixed 224x224 input)
  x (B,3,224,224) -> nearest resize to 112 (`F.interpolate(x, size=112)`, i.e. source index 2i;
  POSTER++ does this twice, once for each trunk, on the same x: here once, shared).
  face_landback  MobileFaceNet trunk -> (64x28x28, 128x14x14, 512x7x7); GDC output_layer unused.
  ir_back        IR-50 first three stages -> (64x56x56, 128x28x28, 256x14x14).
  conv1-3        stride-2 3x3 convs on the IR maps -> 64x28x28, 128x14x14, 256x7x7.
  windowN        LayerNorm (eps 1e-5) on BHWC; the normalised map is also the residual shortcut.
  attnN          window attention with k, v from the image map (`qkv` = Linear(d, 2d)) and q taken
                 from the landmark map (per-head contiguous channel groups, one window per image at
                 224 px), q pre-scaled by head_dim^-0.5, plus relative-position bias.
  ffnN           x = shortcut + gamma1 * attn ; x = x + gamma2 * Mlp(LayerNorm(x))  (exact GELU).
  embed_q/k/v    convs to 768-d tokens: 49 + 49 + 49 = 147 tokens, then [cls] + pos_embed.
  VIT            2 pre-norm blocks (LN eps 1e-6, 8 heads of 96, fused qkv, scale after q.k^T),
                 final LN, token 0, SE gate (sigmoid(W2 relu(W1 x)) * x), Linear(768, C) head.
Drop path / dropout are identity (eval). The authors' `x[:, :148]` token slice in the ViT
attention is a no-op at 148 tokens and is not reproduced.

Weights
-------
Synthetic: `torch.manual_seed(seed)`, PyTorch default module init, then the eval-relevant state is
randomised so that every branch influences the logits: BatchNorm weight/bias/running stats
(U(.5,1.5), N(0,.1), N(0,.1), U(.5,1.5)), LayerNorm affine, PReLU slopes, the layer-scale gammas
(U(0.5, 1.5) instead of 1e-5), the relative-position bias tables (N(0, 1)) and the cls/pos tokens
(N(0, 0.1)); the key projections of the cross-attention (x6), last_face_conv (x4), the q/k
projections of the ViT (x4) and the head (x3) are scaled up so that attention is peaked rather
than uniform and the logits depend clearly on the image. Same seed (and torch version) -> same
weights.

Command line (all in one process; any subset of the outputs)
------------------------------------------------------------
  ~/.cache/grefel-torch/bin/python bench/poster_mirror.py [--classes 7|8] [--seed N]
      [--load-state-dict FILE [--fill-missing-buffers]]
      [--save-checkpoint FILE] [--save-ir50 FILE] [--save-mobilefacenet FILE]
      [--input FILE --logits-out FILE]

  --save-checkpoint     a checkpoint as POSTER's main.py writes one while training under
                        nn.DataParallel (zip format): {'epoch', 'state_dict' ('module.' keys),
                        'best_acc' (tensor), 'optimizer' (a real Adam state_dict whose param group
                        carries SAM's rho/adaptive), 'recorder1', 'recorder'}, the recorders being
                        pickled as `__main__.RecorderMeter1` / `__main__.RecorderMeter`.
  --save-ir50           the MS-Celeb-1M IR-50 trunk in face.evoLVe's flat naming
                        (input_layer, body.0-23, output_layer), legacy (non-zip) format; body.0-20
                        and input_layer/output_layer are exactly this model's ir_back tensors
                        (body.k = body1.k, body2.(k-3), body3.(k-7)); body.21-23 (512-ch stage) are
                        extra random tensors.
  --save-mobilefacenet  {'state_dict': face_landback state dict, 'epoch': 5}, legacy format
                        (the `mobilefacenet_model_best.pth.tar` layout).
  --input               raw little-endian float32 (B,3,224,224), already normalised.
  --logits-out          JSON {"logits": [[...], ...]} of model.eval() on --input (float32).
  --load-state-dict     replace the random weights by a safetensors / torch file, strict=True
                        (a 'state_dict' entry and a 'module.' prefix are unwrapped). Safetensors is
                        read with the `safetensors` package when installed, else by a small
                        built-in reader. --fill-missing-buffers tolerates absent
                        `num_batches_tracked` / `relative_position_index` entries only (files
                        written by burn do not persist them); they are taken from the mirror.
                        A torch file is tried with weights_only=True first, then (trusted local
                        files only, e.g. a --save-checkpoint output) with weights_only=False.

Differences from files in the wild: tensors are saved from the CPU (released checkpoints were
saved from cuda:0, so they need map_location on a CPU machine), the optimizer state only covers
the head, and with numpy >= 2 the recorders' arrays pickle as `numpy._core.multiarray._reconstruct`
where numpy-1 era files say `numpy.core.multiarray._reconstruct`.
"""

import argparse
import collections
import json
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import numpy as np
except ImportError:  # the recorders then hold lists
    np = None

IMAGE_SIZE = 224
TRUNK_SIZE = 112
DIMS = (64, 128, 256)
HEADS = (2, 4, 8)
WINDOWS = (28, 14, 7)
EMBED = 768
TOKENS = 147


# --------------------------------------------------------------------------------------------
# MobileFaceNet trunk (names: conv1, conv2_dw, conv_23, conv_3.model.i, ..., output_layer)
# --------------------------------------------------------------------------------------------

class ConvUnit(nn.Module):
    """Bias-free conv -> BatchNorm2d -> optional per-channel PReLU (`conv`, `bn`, `prelu`)."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0, groups=1, prelu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.use_prelu = prelu
        if prelu:
            self.prelu = nn.PReLU(cout)

    def forward(self, x):
        y = self.bn(self.conv(x))
        return self.prelu(y) if self.use_prelu else y


class InvertedUnit(nn.Module):
    """1x1 expand (PReLU) -> 3x3 depthwise (PReLU) -> 1x1 linear projection, optional identity add."""

    def __init__(self, cin, cout, expand, stride, residual):
        super().__init__()
        self.conv = ConvUnit(cin, expand, 1)
        self.conv_dw = ConvUnit(expand, expand, 3, stride, 1, groups=expand)
        self.project = ConvUnit(expand, cout, 1, prelu=False)
        self.residual = residual

    def forward(self, x):
        y = self.project(self.conv_dw(self.conv(x)))
        return x + y if self.residual else y


class InvertedStack(nn.Module):
    def __init__(self, channels, count, expand):
        super().__init__()
        self.model = nn.Sequential(*[InvertedUnit(channels, channels, expand, 1, True) for _ in range(count)])

    def forward(self, x):
        return self.model(x)


class GlobalDepthwiseHead(nn.Module):
    """The 136-d landmark regression head (GDC). Registered for the state dict; POSTER discards it."""

    def __init__(self, out_dim=136):
        super().__init__()
        self.conv_6_dw = ConvUnit(512, 512, 7, 1, 0, groups=512, prelu=False)
        self.linear = nn.Linear(512, out_dim, bias=False)
        self.bn = nn.BatchNorm1d(out_dim)

    def forward(self, x):
        return self.bn(self.linear(self.conv_6_dw(x).flatten(1)))


class LandmarkTrunk(nn.Module):
    """MobileFaceNet on a 112 px face; returns the 28x28, 14x14 and 7x7 feature maps."""

    def __init__(self):
        super().__init__()
        self.conv1 = ConvUnit(3, 64, 3, 2, 1)
        self.conv2_dw = ConvUnit(64, 64, 3, 1, 1, groups=64)
        self.conv_23 = InvertedUnit(64, 64, 128, 2, False)
        self.conv_3 = InvertedStack(64, 4, 128)
        self.conv_34 = InvertedUnit(64, 128, 256, 2, False)
        self.conv_4 = InvertedStack(128, 6, 256)
        self.conv_45 = InvertedUnit(128, 128, 512, 2, False)
        self.conv_5 = InvertedStack(128, 2, 256)
        self.conv_6_sep = ConvUnit(128, 512, 1)
        self.output_layer = GlobalDepthwiseHead(136)

    def forward(self, x):
        y = self.conv_23(self.conv2_dw(self.conv1(x)))
        s1 = self.conv_3(y)
        s2 = self.conv_4(self.conv_34(s1))
        s3 = self.conv_6_sep(self.conv_5(self.conv_45(s2)))
        # output_layer (GDC) is evaluated and thrown away by POSTER; it cannot affect the logits.
        return s1, s2, s3


# --------------------------------------------------------------------------------------------
# IR-50 trunk (names: input_layer, output_layer, body1/2/3.i.{shortcut_layer,res_layer})
# --------------------------------------------------------------------------------------------

class IRUnit(nn.Module):
    """Pre-BN residual unit: BN -> conv3x3 -> PReLU -> conv3x3(stride) -> BN, plus a shortcut that
    is a 1x1 strided conv + BN when the width changes and a stride-s subsampling otherwise."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        if cin == cout:
            self.shortcut_layer = nn.MaxPool2d(1, stride)  # kernel 1: plain subsampling
        else:
            self.shortcut_layer = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                nn.BatchNorm2d(cout))
        self.res_layer = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
            nn.PReLU(cout),
            nn.Conv2d(cout, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
        )

    def forward(self, x):
        return self.res_layer(x) + self.shortcut_layer(x)


def _ir_stage(cin, cout, units):
    return nn.Sequential(*[IRUnit(cin if i == 0 else cout, cout, 2 if i == 0 else 1) for i in range(units)])


def _ir_output_layer():
    # BN2d(512), Dropout, Flatten, Linear(512*7*7 -> 512), BN1d(512): state keys 0, 3, 4.
    return nn.Sequential(nn.BatchNorm2d(512), nn.Dropout(0.0), nn.Flatten(),
                         nn.Linear(512 * 7 * 7, 512), nn.BatchNorm1d(512))


IR_STAGES = ((64, 64, 3), (64, 128, 4), (128, 256, 14))


class ImageTrunk(nn.Module):
    """The first three IR-50 stages on a 112 px image (the resize is done by the caller)."""

    def __init__(self):
        super().__init__()
        self.input_layer = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64))
        self.output_layer = _ir_output_layer()  # needs the 512-ch stage POSTER does not build: unused
        self.body1 = _ir_stage(*IR_STAGES[0])
        self.body2 = _ir_stage(*IR_STAGES[1])
        self.body3 = _ir_stage(*IR_STAGES[2])

    def forward(self, x):
        f1 = self.body1(self.input_layer(x))
        f2 = self.body2(f1)
        return f1, f2, self.body3(f2)


class EvolveIR50(nn.Module):
    """Full 4-stage IR-50 in face.evoLVe's flat naming, only used to write `--save-ir50` files."""

    def __init__(self):
        super().__init__()
        self.input_layer = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64))
        self.output_layer = _ir_output_layer()
        units = []
        for cin, cout, n in IR_STAGES + ((256, 512, 3),):
            units.extend(_ir_stage(cin, cout, n))
        self.body = nn.Sequential(*units)


# --------------------------------------------------------------------------------------------
# Landmark-queried window cross-attention (attnN, windowN, ffnN)
# --------------------------------------------------------------------------------------------

def relative_position_index(w):
    """[w*w, w*w] int64: (dr + w-1) * (2w-1) + (dc + w-1) for token pairs (i, j) of a w x w window."""
    rows = torch.arange(w).repeat_interleave(w)
    cols = torch.arange(w).repeat(w)
    dr = rows[:, None] - rows[None, :] + (w - 1)
    dc = cols[:, None] - cols[None, :] + (w - 1)
    return dr * (2 * w - 1) + dc


def to_windows(x, w):
    """(B, H, W, C) -> (B * H/w * W/w, w*w, C), windows in row-major order per image."""
    b, h, wd, c = x.shape
    return x.reshape(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)


def from_windows(t, w, b, h, wd):
    c = t.shape[-1]
    return t.reshape(b, h // w, wd // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, wd, c)


class WindowNorm(nn.Module):
    """LayerNorm over channels of a BCHW map; returns (windows, normalised BHWC map = shortcut)."""

    def __init__(self, window_size, dim):
        super().__init__()
        self.window_size = window_size
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        y = self.norm(x.permute(0, 2, 3, 1))
        return to_windows(y, self.window_size), y


class QueryWindowAttention(nn.Module):
    """Window attention whose queries come from outside (the landmark map), with k, v projected
    from the window tokens and a learned relative-position bias per head."""

    def __init__(self, dim, heads, window_size):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.window_size = window_size
        # The reference computes head_dim as a float32 tensor, so its scale is float32(d^-0.5)
        # in every precision; round the same way so float64 runs agree too.
        self.scale = float(torch.tensor(dim / heads, dtype=torch.float32) ** -0.5)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size))
        self.qkv = nn.Linear(dim, 2 * dim)  # k and v only; name kept from the reference
        self.proj = nn.Linear(dim, dim)

    def forward(self, tokens, query):
        # tokens: (B*nW, N, C); query: (B, heads, N, head_dim), shared by all windows of an image
        bw, n, c = tokens.shape
        kv = self.qkv(tokens).reshape(bw, n, 2, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        b = query.shape[0]
        q = query.unsqueeze(1).expand(b, bw // b, self.heads, n, self.head_dim)
        q = q.reshape(bw, self.heads, n, self.head_dim) * self.scale
        scores = q @ kv[0].transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        scores = scores + bias.reshape(n, n, self.heads).permute(2, 0, 1).unsqueeze(0)
        out = scores.softmax(dim=-1) @ kv[1]
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class ScaledResidualMlp(nn.Module):
    """Merges attention windows back, adds them to the (normalised) shortcut with layer scale
    gamma1, then a pre-norm MLP residual with layer scale gamma2. Drop path is identity in eval."""

    def __init__(self, dim, window_size, layer_scale=1e-5):
        super().__init__()
        self.gamma1 = nn.Parameter(torch.full((dim,), layer_scale))
        self.gamma2 = nn.Parameter(torch.full((dim,), layer_scale))
        self.window_size = window_size
        self.mlp = Mlp(dim, 4 * dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, windows, shortcut):
        b, h, w, _ = shortcut.shape
        x = shortcut + self.gamma1 * from_windows(windows, self.window_size, b, h, w)
        return x + self.gamma2 * self.mlp(self.norm(x))


# --------------------------------------------------------------------------------------------
# Token transformer (VIT.*)
# --------------------------------------------------------------------------------------------

class TokenProjection(nn.Module):
    """1x1 conv 256 -> 768 then BCHW -> B(HW)C (`proj`)."""

    def __init__(self, cin=256, dim=EMBED):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, 1)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class SelfAttention(nn.Module):
    def __init__(self, dim, heads=8):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        scores = (qkv[0] @ qkv[1].transpose(-2, -1)) * self.scale  # scale after the product
        out = scores.softmax(dim=-1) @ qkv[2]
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class EncoderBlock(nn.Module):
    def __init__(self, dim, tokens):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.conv = nn.Conv1d(tokens, tokens, 1)  # registered by the reference, never applied
        self.attn = SelfAttention(dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SqueezeExcite(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.linear1 = nn.Linear(dim, dim)
        self.linear2 = nn.Linear(dim, dim)

    def forward(self, x):
        return x * torch.sigmoid(self.linear2(torch.relu(self.linear1(x))))


class LinearHead(nn.Module):
    def __init__(self, dim, classes):
        super().__init__()
        self.linear = nn.Linear(dim, classes)

    def forward(self, x):
        return self.linear(x.reshape(x.shape[0], -1))


class ChannelConvGate(nn.Module):
    """ECA gate (Conv1d(1, 1, 5) on pooled channels). Registered by the reference, never applied."""

    def __init__(self, kernel=5):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel, padding=kernel // 2, bias=False)


class TokenTransformer(nn.Module):
    def __init__(self, classes, dim=EMBED, tokens=TOKENS, depth=2):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens + 1, dim))
        self.se_block = SqueezeExcite(dim)
        self.patch_embed = TokenProjection(256, dim)        # unused
        self.head = LinearHead(dim, classes)
        self.eca_block = ChannelConvGate(5)                 # unused
        self.CON1 = nn.Conv2d(256, dim, 1, bias=False)      # unused
        self.IRLinear1 = nn.Linear(1024, dim)               # unused
        self.IRLinear2 = nn.Linear(dim, 512)                # unused
        self.blocks = nn.Sequential(*[EncoderBlock(dim, tokens + 1) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, tokens):
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        x = torch.cat((cls, tokens), dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))[:, 0]
        return self.head(self.se_block(x))


# --------------------------------------------------------------------------------------------
# The whole network
# --------------------------------------------------------------------------------------------

class PosterMirror(nn.Module):
    """POSTER++ (`pyramid_trans_expr2`) in eval mode; state_dict keys equal the reference's."""

    def __init__(self, classes=7):
        super().__init__()
        self.face_landback = LandmarkTrunk()
        self.VIT = TokenTransformer(classes)
        self.ir_back = ImageTrunk()
        for i in range(3):
            setattr(self, f"attn{i + 1}", QueryWindowAttention(DIMS[i], HEADS[i], WINDOWS[i]))
        for i in range(3):
            setattr(self, f"window{i + 1}", WindowNorm(WINDOWS[i], DIMS[i]))
        for i in range(3):
            setattr(self, f"conv{i + 1}", nn.Conv2d(DIMS[i], DIMS[i], 3, 2, 1))
        for i in range(3):
            setattr(self, f"ffn{i + 1}", ScaledResidualMlp(DIMS[i], WINDOWS[i]))
        self.last_face_conv = nn.Conv2d(512, 256, 3, 1, 1)
        self.embed_q = nn.Sequential(nn.Conv2d(64, EMBED, 3, 2, 1), nn.Conv2d(EMBED, EMBED, 3, 2, 1))
        self.embed_k = nn.Sequential(nn.Conv2d(128, EMBED, 3, 2, 1))
        self.embed_v = TokenProjection(256, EMBED)

    def forward(self, x):
        # Nearest resize to a fixed 112 (for 224 inputs exactly x[:, :, ::2, ::2]); both trunks.
        small = F.interpolate(x, size=TRUNK_SIZE)
        marks = list(self.face_landback(small))
        marks[2] = self.last_face_conv(marks[2])
        feats = self.ir_back(small)
        fused = []
        for i in range(3):
            attn = getattr(self, f"attn{i + 1}")
            windows, shortcut = getattr(self, f"window{i + 1}")(getattr(self, f"conv{i + 1}")(feats[i]))
            m = marks[i]
            query = m.permute(0, 2, 3, 1).reshape(m.shape[0], -1, attn.heads, attn.head_dim).transpose(1, 2)
            out = getattr(self, f"ffn{i + 1}")(attn(windows, query), shortcut)
            fused.append(out.permute(0, 3, 1, 2))
        tokens = torch.cat((self.embed_q(fused[0]).flatten(2).transpose(1, 2),
                            self.embed_k(fused[1]).flatten(2).transpose(1, 2),
                            self.embed_v(fused[2])), dim=1)
        return self.VIT(tokens)


@torch.no_grad()
def randomise_norms_(module):
    """Spread the eval state that default init leaves constant (BN, LN, PReLU)."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0.0, 0.1)
            m.running_mean.normal_(0.0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.num_batches_tracked.fill_(1000)
        elif isinstance(m, nn.LayerNorm):
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0.0, 0.1)
        elif isinstance(m, nn.PReLU):
            m.weight.uniform_(0.05, 0.45)


@torch.no_grad()
def randomise_poster_(model):
    """Default init leaves POSTER's attention nearly uniform, the layer scales at 1e-5 and the
    output dominated by the cls/pos tokens; spread it so that every branch shapes the logits
    (and random-noise images give clearly different logits)."""
    randomise_norms_(model)
    for i in range(1, 4):
        attn = getattr(model, f"attn{i}")
        attn.relative_position_bias_table.normal_(0.0, 1.0)
        attn.qkv.weight[: attn.qkv.out_features // 2].mul_(6.0)  # keys: peaked landmark attention
        ffn = getattr(model, f"ffn{i}")
        ffn.gamma1.uniform_(0.5, 1.5)
        ffn.gamma2.uniform_(0.5, 1.5)
    for block in model.VIT.blocks:
        block.attn.qkv.weight[: 2 * EMBED].mul_(4.0)  # q and k: peaked token attention
    model.last_face_conv.weight.mul_(4.0)  # the 7x7 landmark query is otherwise ~4x weaker
    model.VIT.cls_token.normal_(0.0, 0.1)
    model.VIT.pos_embed.normal_(0.0, 0.1)
    model.VIT.head.linear.weight.mul_(3.0)


def build_model(classes, seed):
    torch.manual_seed(seed)
    model = PosterMirror(classes)
    randomise_poster_(model)
    return model.eval()


# --------------------------------------------------------------------------------------------
# Training bookkeeping pickled into POSTER checkpoints (main.py keeps these in __main__)
# --------------------------------------------------------------------------------------------

def _zeros(rows, cols):
    if np is not None:
        return np.zeros((rows, cols), dtype=np.float32)
    return [[0.0] * cols for _ in range(rows)]


class RecorderMeter(object):
    """Per-epoch train/val loss and accuracy curves (stand-in for POSTER main.py's class)."""

    def __init__(self, total_epoch):
        self.reset(total_epoch)

    def reset(self, total_epoch):
        self.total_epoch = total_epoch
        self.current_epoch = 0
        self.epoch_losses = _zeros(total_epoch, 2)
        self.epoch_accuracy = _zeros(total_epoch, 2)

    def update(self, idx, train_loss, train_acc, val_loss, val_acc):
        self.epoch_losses[idx][0] = train_loss * 30
        self.epoch_losses[idx][1] = val_loss * 30
        self.epoch_accuracy[idx][0] = train_acc
        self.epoch_accuracy[idx][1] = val_acc
        self.current_epoch = idx + 1


class RecorderMeter1(RecorderMeter):
    """Last validation predictions / targets (stand-in for POSTER main.py's class)."""

    def update(self, output, target):
        self.y_pred = output
        self.y_true = target


def _recorders_in_main():
    """Make sure the recorders pickle as `__main__.RecorderMeter[1]`, as POSTER's do, also when
    this file is imported rather than run."""
    main = sys.modules["__main__"]
    for cls in (RecorderMeter, RecorderMeter1):
        if getattr(main, cls.__name__, None) is not cls:
            setattr(main, cls.__name__, cls)
        cls.__module__ = "__main__"


class _DataParallelKeys(nn.Module):
    """Same state_dict (keys 'module.*' and metadata) as nn.DataParallel(model), without moving
    the model to a GPU as DataParallel would on a CUDA machine."""

    def __init__(self, module):
        super().__init__()
        self.module = module


def save_checkpoint(model, classes, path, seed):
    _recorders_in_main()
    epochs, done = 200, 12
    gen = torch.Generator().manual_seed(seed + 7)
    recorder, recorder1 = RecorderMeter(epochs), RecorderMeter1(epochs)
    for e in range(done):
        u = torch.rand(4, generator=gen).tolist()
        recorder.update(e, 0.9 / (e + 1) + 0.05 * u[0], 60.0 + 2.5 * e + u[1],
                        1.0 / (e + 1) + 0.05 * u[2], 58.0 + 2.7 * e + u[3])
    pred = torch.randint(0, classes, (32,), generator=gen)
    true = torch.randint(0, classes, (32,), generator=gen)
    if np is not None:
        recorder1.update(pred.numpy(), true.numpy())
    else:
        recorder1.update(pred.tolist(), true.tolist())

    # POSTER: SAM(model.parameters(), Adam, lr=3.5e-5, rho=0.05, adaptive=False) + ExponentialLR(0.98).
    # Its state_dict is the base Adam's param group (with SAM's rho/adaptive) and Adam state.
    params = list(model.parameters())
    opt = torch.optim.Adam([{"params": params, "rho": 0.05, "adaptive": False}], lr=3.5e-5)
    head = [model.VIT.head.linear.weight, model.VIT.head.linear.bias]
    saved = [p.detach().clone() for p in head]
    for p in head:
        p.grad = torch.randn(p.shape, generator=gen) * 1e-3
    opt.step()  # gives real Adam state (step, exp_avg, exp_avg_sq) for the head only
    with torch.no_grad():
        for p, s in zip(head, saved):
            p.copy_(s)
            p.grad = None
    for g in opt.param_groups:
        g["initial_lr"] = 3.5e-5
        g["lr"] = 3.5e-5 * 0.98 ** done
    state = {
        "epoch": done,
        "state_dict": _DataParallelKeys(model).state_dict(),
        "best_acc": torch.tensor(91.5),
        "optimizer": opt.state_dict(),
        "recorder1": recorder1,
        "recorder": recorder,
    }
    torch.save(state, path)


def save_ir50(model, path, seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        full = EvolveIR50()
        randomise_norms_(full)  # gives body.21-23 the same kind of eval state
    sd = full.state_dict()
    offsets = {"body1": 0, "body2": 3, "body3": 7}
    copied = 0
    for key, t in model.ir_back.state_dict().items():
        head, rest = key.split(".", 1)
        if head in offsets:
            unit, tail = rest.split(".", 1)
            key = f"body.{offsets[head] + int(unit)}.{tail}"
        if key not in sd or sd[key].shape != t.shape or sd[key].dtype != t.dtype:
            raise SystemExit(f"internal error: {key} does not fit the face.evoLVe IR-50")
        sd[key] = t.detach().clone()
        copied += 1
    torch.save(sd, path, _use_new_zipfile_serialization=False)
    return copied, len(sd)


def save_mobilefacenet(model, path):
    torch.save({"state_dict": model.face_landback.state_dict(), "epoch": 5}, path,
               _use_new_zipfile_serialization=False)


# --------------------------------------------------------------------------------------------
# Loading (for export round trips)
# --------------------------------------------------------------------------------------------

_ST_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}


def read_safetensors(path):
    try:
        from safetensors.torch import load_file
    except ImportError:
        load_file = None
    if load_file is not None:
        return load_file(path)
    if sys.byteorder != "little":
        raise SystemExit("the built-in safetensors reader needs a little-endian host; install safetensors")
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    base = 8 + size
    out = collections.OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _ST_DTYPES:
            raise SystemExit(f"{path}: unsupported safetensors dtype {info['dtype']} ({name})")
        dtype = _ST_DTYPES[info["dtype"]]
        start, end = info["data_offsets"]
        chunk = bytearray(data[base + start:base + end])
        flat = torch.frombuffer(chunk, dtype=dtype) if chunk else torch.empty(0, dtype=dtype)
        out[name] = flat.reshape(info["shape"])
    return out


def _is_safetensors(path):
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{" and not head.startswith(b"PK")


def load_weights(model, path, fill_missing_buffers):
    if _is_safetensors(path):
        sd = read_safetensors(path)
    else:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # e.g. a POSTER checkpoint with pickled recorders (trusted local file)
            obj = torch.load(path, map_location="cpu", weights_only=False)
        sd = obj["state_dict"] if isinstance(obj, dict) and "state_dict" in obj else obj
    if sd and all(k.startswith("module.") for k in sd):
        sd = collections.OrderedDict((k[len("module."):], v) for k, v in sd.items())
    own = model.state_dict()
    if fill_missing_buffers:
        sd = collections.OrderedDict(sd)
        for k, v in own.items():
            if k not in sd and k.rsplit(".", 1)[-1] in ("num_batches_tracked", "relative_position_index"):
                sd[k] = v
    for k, v in sd.items():  # load_state_dict would copy int64 index buffers from floats silently
        if k in own and own[k].dtype == torch.int64 and v.dtype != torch.int64:
            raise SystemExit(f"{path}: {k} has dtype {v.dtype}, expected int64")
    model.load_state_dict(sd, strict=True)


def read_input(path):
    with open(path, "rb") as f:
        raw = f.read()
    per = 3 * IMAGE_SIZE * IMAGE_SIZE * 4
    if not raw or len(raw) % per:
        raise SystemExit(f"{path}: {len(raw)} bytes is not a whole number of 3x{IMAGE_SIZE}x{IMAGE_SIZE} float32 images")
    x = torch.frombuffer(bytearray(raw), dtype=torch.float32)
    if sys.byteorder != "little":
        x = torch.from_numpy(x.numpy().byteswap())
    return x.reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--classes", type=int, choices=(7, 8), default=7)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--load-state-dict", metavar="FILE")
    ap.add_argument("--fill-missing-buffers", action="store_true",
                    help="with --load-state-dict: take absent num_batches_tracked / "
                         "relative_position_index entries from the mirror")
    ap.add_argument("--save-checkpoint", metavar="FILE")
    ap.add_argument("--save-ir50", metavar="FILE")
    ap.add_argument("--save-mobilefacenet", metavar="FILE")
    ap.add_argument("--input", metavar="FILE")
    ap.add_argument("--logits-out", metavar="FILE")
    ap.add_argument("--device", default="cpu",
                    help="where --input runs (cpu, cuda); cuDNN/cuBLAS TF32 is off for an f32 reference")
    ap.add_argument("--time-batch", type=int, metavar="B",
                    help="with --input: also time eval forward passes of B images (the input "
                         "repeated), print images per second")
    args = ap.parse_args(argv)
    if (args.input is None) != (args.logits_out is None):
        ap.error("--input and --logits-out go together")

    t0 = time.perf_counter()
    model = build_model(args.classes, args.seed)
    if args.load_state_dict:
        load_weights(model, args.load_state_dict, args.fill_missing_buffers)
    log = lambda msg: print(f"poster_mirror: {msg} ({time.perf_counter() - t0:.2f} s)", file=sys.stderr)
    log(f"model ready, {args.classes} classes, {sum(p.numel() for p in model.parameters())} parameters")

    if args.save_checkpoint:
        save_checkpoint(model, args.classes, args.save_checkpoint, args.seed)
        log(f"wrote {args.save_checkpoint}")
    if args.save_ir50:
        copied, total = save_ir50(model, args.save_ir50, args.seed)
        log(f"wrote {args.save_ir50} ({total} entries, {copied} from ir_back)")
    if args.save_mobilefacenet:
        save_mobilefacenet(model, args.save_mobilefacenet)
        log(f"wrote {args.save_mobilefacenet}")
    if args.input:
        x = read_input(args.input)
        device = torch.device(args.device)
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        model = model.to(device)
        with torch.no_grad():
            logits = model.eval()(x.to(device)).cpu()
        if not torch.isfinite(logits).all():
            raise SystemExit("non-finite logits")
        with open(args.logits_out, "w") as f:
            json.dump({"logits": logits.tolist()}, f)
        log(f"wrote {args.logits_out} for {x.shape[0]} image(s) on {device}")
        if args.time_batch:
            reps = -(-args.time_batch // x.shape[0])
            xb = x.repeat(reps, 1, 1, 1)[: args.time_batch].to(device)
            sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
            with torch.no_grad():
                for _ in range(3):
                    model(xb)
                sync()
                t = time.perf_counter()
                n = 10
                for _ in range(n):
                    model(xb)
                sync()
                dt = time.perf_counter() - t
            print(json.dumps({"device": str(device), "batch": args.time_batch,
                              "images_per_second": n * args.time_batch / dt}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
