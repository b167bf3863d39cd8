#!/usr/bin/env python3
"""PyTorch eager reference of the GReFEL network and its training step, for `cargo xtask bench train`.

What it is
----------
A line-for-line PyTorch (eager, no torch.compile) re-implementation of the network built by
`crates/grefel-model` and of one optimisation step of `crates/grefel-train/src/step.rs`, used as
the baseline of "grefel img/s vs PyTorch eager img/s: same network, same shapes, same parameter
count, same losses". The network is built from the `config` object printed by the Rust command
`model-summary --preset P --json` (the serde form of `grefel_model::ModelConfig`), and its
parameter counts are checked block by block against the `per_block`/`total`/`trainable` figures
of the same JSON line.

How it maps to the Rust modules (crates/grefel-model/src)
---------------------------------------------------------
  config.rs, backbone_config.rs,  -> `Cfg` (reads the serde JSON; enums are snake_case strings or
  head_config.rs                     one-key objects such as {"linear": {"dim": 128}})
  layers.rs                       -> `conv`, `ConvBn`, `drop_path`
  ir50.rs                         -> `Bottleneck`, `Ir50`
  mobilefacenet.rs                -> `DepthWise`, `MobileFaceNet`
  geometry.rs                     -> `render_heatmaps`, `GeometryScale`, `GeometryBranch`
  cross_attention.rs              -> `relative_position_index`, `partition`, `merge`,
                                     `CrossAttentionBlock`
  vit.rs                          -> `TokenEmbedding`, `VitBlock`, `Vit`
  head.rs                         -> `MlpHead`
  reliability.rs                  -> `confidence`, `anchor_distances`, `anchor_distribution`,
                                     `AttentionPath`, `reliability_mix`
  model.rs                        -> `Grefel` (block attribute names = the Rust field names, so
                                     that params.rs's per-block grouping is the first component
                                     of each parameter name)
  losses.rs                       -> `grefel_loss` (weighted NLL with label smoothing, anchor
                                     loss, center loss, trust-scaled auxiliaries)
  params.rs                       -> `parameter_counts`
  grefel-train step.rs            -> `train_step` (forward with trust t, losses, read-back of the
                                     loss terms and of argmax p, backward, Adam step)

Frozen trunks (config `ir50.frozen`, `landmark.mobilefacenet.frozen`) get requires_grad=False and
are excluded from the optimiser; `frozen_batch_norm: "train"` keeps their batch norms in training
mode (burn's `no_grad`), `"eval"` puts the whole trunk in eval mode (burn's `freeze`).

Command line
------------
  ~/.cache/grefel-torch/bin/python bench/torch_grefel.py --summary-json FILE
      [--batch 144] [--device cpu|cuda:0] [--precision fp32|tf32|bf16] [--steps 20]
      [--warmup 5] [--threads N] [--seed 0] [--trust 0.5] [--lr 3e-4] [--check-params]
      [--profile] [--cudnn-benchmark | --no-cudnn-benchmark]

FILE holds the JSON line of `model-summary --preset P --json` (a bare ModelConfig JSON object is
accepted too, but then `--check-params` has nothing to compare against). `--check-params` prints
the per-block, total and trainable counts of both sides and exits 1 on any mismatch (0 when all
match) without training. Otherwise the script times `--warmup` + `--steps` training steps on one
fixed random batch (images N(0, 1), landmarks U[0, 1) when the geometry branch is used, labels
uniform in 0..C) and prints, as the LAST line on stdout, one JSON object:
  {"impl": "pytorch-eager", "torch": ..., "device": ..., "precision": ..., "batch": B,
   "image_size": S, "steps": N, "warmup": W, "threads": ..., "step_ms_median": ...,
   "step_ms_mean": ..., "img_per_s": B / median seconds, "params_total": ...,
   "params_trainable": ..., "final_loss": ...}
with a "phases_ms" field (forward, loss, backward, optimizer medians) under `--profile`, which also
prints torch.profiler's top-15 operators by self time before the JSON line.

Precision: fp32 disables TF32 everywhere (PyTorch enables it for cuDNN convolutions by default);
tf32 enables it for matmuls and convolutions; bf16 runs forward + loss under
torch.autocast(bfloat16) with fp32 master weights. On CPU, tf32 is the same as fp32.
"""

import argparse
import contextlib
import json
import math
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Rust constants (reliability.rs, losses.rs).
DISTANCE_EPS = 1e-12  # under the sqrt of the anchor distances
WEIGHT_EPS = 1e-9  # added to both confidences of the correction weights
LOG_FLOOR = 1e-9  # clamp before the log of the classification loss

# Top-level blocks in the declaration order of `Grefel` (model.rs); params.rs groups parameters by
# the first path component, so these are also the `per_block` names.
BLOCK_ORDER = [
    "ir50", "image_convs", "mobilefacenet", "landmark_proj", "geometry", "cross_attention",
    "tokens", "vit", "reduction", "head", "anchors", "attention",
]


# ---------------------------------------------------------------------------------------------
# Configuration (config.rs, backbone_config.rs, head_config.rs)
# ---------------------------------------------------------------------------------------------

def enum_tag(value):
    """A serde enum value: `"tag"` for a unit variant, `{"tag": {...}}` for a struct variant."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict) and len(value) == 1:
        (tag, body), = value.items()
        return tag, body
    raise ValueError(f"not a serde enum value: {value!r}")


class Cfg:
    """The fields of `ModelConfig` this script needs, with derived sizes (`ModelConfig::geometry`)."""

    def __init__(self, c):
        self.raw = c
        self.num_classes = int(c["num_classes"])
        self.image_size = int(c["image_size"])
        self.downsample = enum_tag(c["downsample"])[0]  # nearest | bilinear | none
        ir = c["ir50"]
        self.ir_channels = list(ir["channels"])
        self.ir_units = list(ir["units"])
        self.ir_frozen = bool(ir["frozen"])
        lm = c["landmark"]
        self.branch = enum_tag(lm["branch"])[0]  # mobile_face_net | geometry
        mfn = lm["mobilefacenet"]
        self.mfn_channels = list(mfn["channels"])
        self.mfn_residual = list(mfn["residual_units"])
        self.mfn_frozen = bool(mfn["frozen"])
        self.num_landmarks = int(lm["geometry"]["num_landmarks"])
        self.sigma_px = float(lm["geometry"]["sigma_px"])
        self.frozen_bn = enum_tag(c["frozen_batch_norm"])[0]  # train | eval
        ca = c["cross_attention"]
        self.ca_heads = list(ca["heads"])
        self.ca_windows = None if ca.get("windows") is None else list(ca["windows"])
        self.ca_mlp_ratio = int(ca["mlp_ratio"])
        self.ca_drop_path = [float(p) for p in ca["drop_path"]]
        self.ca_layer_scale_init = float(ca["layer_scale_init"])
        self.query_layout = enum_tag(ca["query_layout"])[0]  # head_split | raw_reshape
        v = c["vit"]
        self.vit_dim, self.vit_depth = int(v["dim"]), int(v["depth"])
        self.vit_heads, self.vit_mlp_ratio = int(v["heads"]), int(v["mlp_ratio"])
        tag, body = enum_tag(c["reduction"])
        self.reduction_dim = int(body["dim"]) if tag == "linear" else None
        h = c["head"]
        self.head_hidden = [int(x) for x in h["hidden"]]
        self.head_bn = bool(h["batch_norm"])
        self.head_dropout = float(h["dropout"])
        self.temperature = float(h["temperature"])
        r = c["reliability"]
        self.anchors_per_class = int(r["anchors_per_class"])
        tag, body = enum_tag(r["anchor_init"])
        self.anchor_init_std = float(body["std"]) if tag == "normal" else None  # None: zeros
        self.delta = float(r["delta"])
        self.aggregation = enum_tag(r["aggregation"])[0]  # joint_softmax_sum | nearest_per_class
        self.attention_mode = enum_tag(r["attention"])[0]  # batch_mixing | per_sample
        self.paths = enum_tag(r["paths"])[0]  # both | anchor_only | attention_only
        self.entropy_floor = float(r["entropy_floor"])
        self.detach_confidence = bool(r["detach_confidence"])
        lo = c["loss"]
        self.lambda_cls = float(lo["lambda_cls"])
        self.lambda_anchor = float(lo["lambda_anchor"])
        self.lambda_center = float(lo["lambda_center"])
        self.label_smoothing = float(lo["label_smoothing"])
        self.aux_scaled_by_trust = bool(lo["aux_scaled_by_trust"])
        self.lambda_primary = float(lo.get("lambda_primary", 0.0))
        # head_config.rs AnchorLoss: "unbounded" (ARBEx) or {"margin": {"margin": m}}.
        form = lo.get("anchor_loss", "unbounded")
        self.anchor_margin = float(form["margin"]["margin"]) if isinstance(form, dict) else None
        self._derive()

    def _derive(self):
        # ModelConfig::geometry (config.rs): internal side, map sides, windows.
        internal = self.image_size if self.downsample == "none" else self.image_size // 2
        if internal <= 0 or internal % 16 != 0:
            raise ValueError(f"the backbones' input side ({internal} px) must be a multiple of 16")
        self.internal = internal
        self.scales = [internal // 4, internal // 8, internal // 16]
        self.windows = self.ca_windows or list(self.scales)
        for w, s in zip(self.windows, self.scales):
            if w == 0 or s % w != 0:
                raise ValueError(f"window {w} does not divide the {s}^2 map")
        self.num_tokens = 3 * self.scales[2] ** 2
        self.embedding_dim = self.reduction_dim if self.reduction_dim is not None else self.vit_dim


# ---------------------------------------------------------------------------------------------
# Shared layers (layers.rs)
# ---------------------------------------------------------------------------------------------

def conv(c_in, c_out, kernel, stride, groups, bias):
    """layers.rs `conv`: k x k convolution with symmetric padding k/2 (so 0 for 1x1)."""
    return nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=bias)


class ConvBn(nn.Module):
    """layers.rs `ConvBn`: Conv (no bias) -> BatchNorm -> optional per-channel PReLU."""

    def __init__(self, c_in, c_out, kernel, stride, groups, prelu):
        super().__init__()
        self.conv = conv(c_in, c_out, kernel, stride, groups, False)
        self.bn = nn.BatchNorm2d(c_out)  # burn BatchNorm defaults: eps 1e-5, momentum 0.1
        self.act = nn.PReLU(c_out) if prelu else None

    def forward(self, x):
        y = self.bn(self.conv(x))
        return self.act(y) if self.act is not None else y


def drop_path(x, prob, training):
    """layers.rs `DropPath`: per-sample Bernoulli(keep) mask over dim 0, kept samples scaled by
    1/keep; identity when prob is 0 or outside training."""
    if prob == 0.0 or not training:
        return x
    keep = 1.0 - prob
    shape = (x.shape[0],) + (1,) * (x.dim() - 1)
    mask = torch.empty(shape, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x * (mask / keep)


def linear_normal(d_in, d_out, std):
    """layers.rs `linear_normal`: weight N(0, std), zero bias (timm's ViT init)."""
    lin = nn.Linear(d_in, d_out)
    nn.init.normal_(lin.weight, 0.0, std)
    nn.init.zeros_(lin.bias)
    return lin


def linear_uniform(d_in, d_out, bound):
    """layers.rs `linear_uniform` / `linear_zero_bias`: weight U(+-bound), zero bias."""
    lin = nn.Linear(d_in, d_out)
    nn.init.uniform_(lin.weight, -bound, bound)
    nn.init.zeros_(lin.bias)
    return lin


# ---------------------------------------------------------------------------------------------
# Image branch (ir50.rs)
# ---------------------------------------------------------------------------------------------

class Bottleneck(nn.Module):
    """BN -> Conv3x3 -> PReLU -> Conv3x3(stride) -> BN, plus a shortcut; no activation after the
    sum. The shortcut is Conv1x1(stride) -> BN when the widths differ, else a strided subsample
    (`MaxPool(k=1, stride)`, i.e. x[:, :, ::s, ::s]) or the identity."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.bn_in = nn.BatchNorm2d(c_in)
        self.conv1 = conv(c_in, c_out, 3, 1, 1, False)
        self.act = nn.PReLU(c_out)
        self.conv2 = conv(c_out, c_out, 3, stride, 1, False)
        self.bn_out = nn.BatchNorm2d(c_out)
        self.shortcut = ConvBn(c_in, c_out, 1, stride, 1, False) if c_in != c_out else None
        self.stride = stride

    def forward(self, x):
        if self.shortcut is not None:
            sc = self.shortcut(x)
        elif self.stride > 1:
            sc = x[:, :, :: self.stride, :: self.stride]
        else:
            sc = x
        r = self.act(self.conv1(self.bn_in(x)))
        r = self.bn_out(self.conv2(r))
        return r + sc


def ir_stage(c_in, c_out, units):
    # ir50.rs `stage`: the first unit has stride 2 (also in stage 1, where c_in == c_out).
    return nn.ModuleList(
        [Bottleneck(c_in, c_out, 2) if i == 0 else Bottleneck(c_out, c_out, 1) for i in range(units)]
    )


class Ir50(nn.Module):
    """Stem Conv3x3(3 -> c1) -> BN -> PReLU, then three stages; returns the three stage outputs."""

    def __init__(self, cfg):
        super().__init__()
        c1, c2, c3 = cfg.ir_channels
        self.stem = ConvBn(3, c1, 3, 1, 1, True)
        self.stage1 = ir_stage(c1, c1, cfg.ir_units[0])
        self.stage2 = ir_stage(c1, c2, cfg.ir_units[1])
        self.stage3 = ir_stage(c2, c3, cfg.ir_units[2])

    def forward(self, x):
        x = self.stem(x)
        for u in self.stage1:
            x = u(x)
        f1 = x
        for u in self.stage2:
            x = u(x)
        f2 = x
        for u in self.stage3:
            x = u(x)
        return [f1, f2, x]


# ---------------------------------------------------------------------------------------------
# Landmark branches (mobilefacenet.rs, geometry.rs)
# ---------------------------------------------------------------------------------------------

class DepthWise(nn.Module):
    """1x1 expansion (PReLU) -> 3x3 depthwise (PReLU, stride) -> 1x1 projection (linear)."""

    def __init__(self, c_in, c_out, g, stride, residual):
        super().__init__()
        self.expand = ConvBn(c_in, g, 1, 1, 1, True)
        self.depthwise = ConvBn(g, g, 3, stride, g, True)
        self.project = ConvBn(g, c_out, 1, 1, 1, False)
        self.residual = residual

    def forward(self, x):
        y = self.project(self.depthwise(self.expand(x)))
        return y + x if self.residual else y


class MobileFaceNet(nn.Module):
    """The MobileFaceNet trunk without the GDC head: (out1, out2, out3) at S/4, S/8, S/16."""

    def __init__(self, cfg):
        super().__init__()
        c1, c2, c3 = cfg.mfn_channels
        n1, n2, n3 = cfg.mfn_residual

        def res(c, g, n):
            return nn.ModuleList([DepthWise(c, c, g, 1, True) for _ in range(n)])

        self.conv1 = ConvBn(3, c1, 3, 2, 1, True)
        self.conv2_dw = ConvBn(c1, c1, 3, 1, c1, True)
        self.down1 = DepthWise(c1, c1, 2 * c1, 2, False)
        self.res1 = res(c1, 2 * c1, n1)
        self.down2 = DepthWise(c1, c2, 2 * c2, 2, False)
        self.res2 = res(c2, 2 * c2, n2)
        self.down3 = DepthWise(c2, c2, 4 * c2, 2, False)
        self.res3 = res(c2, 2 * c2, n3)
        self.conv_sep = ConvBn(c2, c3, 1, 1, 1, True)

    def forward(self, x):
        x = self.down1(self.conv2_dw(self.conv1(x)))
        for u in self.res1:
            x = u(x)
        out1 = x
        x = self.down2(x)
        for u in self.res2:
            x = u(x)
        out2 = x
        x = self.down3(x)
        for u in self.res3:
            x = u(x)
        return [out1, out2, self.conv_sep(x)]


def render_heatmaps(landmarks, side, sigma_px):
    """geometry.rs `render_heatmaps`: (B, L, 2) landmarks in [0, 1] -> (B, L, side, side) separable
    Gaussians exp(-|c - p|^2 / 2 sigma^2), pixel centres c = i + 0.5, sigma in pixels of the grid."""
    b, l, _ = landmarks.shape
    inv = -1.0 / (2.0 * sigma_px * sigma_px)
    grid = torch.arange(side, device=landmarks.device, dtype=landmarks.dtype) + 0.5
    x = landmarks[:, :, 0:1] * side  # (B, L, 1)
    y = landmarks[:, :, 1:2] * side
    g = grid.reshape(1, 1, side)
    wx = ((g - x) ** 2 * inv).exp().reshape(b, l, 1, side)
    wy = ((g - y) ** 2 * inv).exp().reshape(b, l, side, 1)
    return wy * wx


class GeometryScale(nn.Module):
    """Conv3x3(L -> d, no bias) -> BN -> PReLU -> Conv1x1(d -> d, bias)."""

    def __init__(self, l, d, side):
        super().__init__()
        self.conv1 = conv(l, d, 3, 1, 1, False)
        self.bn = nn.BatchNorm2d(d)
        self.act = nn.PReLU(d)
        self.conv2 = conv(d, d, 1, 1, 1, True)
        self.side = side


class GeometryBranch(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.scales = nn.ModuleList(
            [GeometryScale(cfg.num_landmarks, d, s) for s, d in zip(cfg.scales, cfg.ir_channels)]
        )
        self.sigma_px = cfg.sigma_px

    def forward(self, landmarks):
        out = []
        for s in self.scales:
            # Rendered anew for every scale and every forward, as geometry.rs does.
            h = render_heatmaps(landmarks, s.side, self.sigma_px)
            out.append(s.conv2(s.act(s.bn(s.conv1(h)))))
        return out


# ---------------------------------------------------------------------------------------------
# Window cross-attention (cross_attention.rs)
# ---------------------------------------------------------------------------------------------

def relative_position_index(w):
    """Swin index (drow + w - 1)(2w - 1) + (dcol + w - 1), row-major over (query, key) pairs."""
    coords = np.stack(np.meshgrid(np.arange(w), np.arange(w), indexing="ij")).reshape(2, -1)  # (2, N)
    rel = coords[:, :, None] - coords[:, None, :] + (w - 1)  # (2, N, N)
    return torch.from_numpy((rel[0] * (2 * w - 1) + rel[1]).reshape(-1).astype(np.int64))


def partition(x, w):
    """(B, H, W, C) -> (B * nW, w^2, C), row-major over windows and pixels."""
    b, h, wd, c = x.shape
    return x.reshape(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)


def merge(x, b, h, wd, w):
    """Inverse of `partition`."""
    c = x.shape[2]
    return x.reshape(b, h // w, wd // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, wd, c)


class CrossAttentionBlock(nn.Module):
    """Keys/values from the LayerNormed image map, queries = the landmark map itself (no learned
    query projection), Swin relative-position bias, LayerScale on both residual branches."""

    def __init__(self, dim, heads, window, mlp_ratio, drop_path_p, layer_scale_init, query_layout):
        super().__init__()
        span = 2 * window - 1
        self.norm1 = nn.LayerNorm(dim)  # burn LayerNorm default eps 1e-5
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.randn(span * span, heads) * 0.02)
        # An Int tensor in Rust (not a float Param, so not counted): a buffer here.
        self.register_buffer("bias_index", relative_position_index(window), persistent=False)
        self.gamma1 = nn.Parameter(torch.full((dim,), layer_scale_init))
        self.gamma2 = nn.Parameter(torch.full((dim,), layer_scale_init))
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp_ratio * dim)
        self.fc2 = nn.Linear(mlp_ratio * dim, dim)
        self.gelu = nn.GELU()  # exact (erf), burn's Gelu
        self.drop_path_p = drop_path_p
        self.heads, self.window, self.query_layout = heads, window, query_layout

    def forward(self, x, q):
        b, d, h, wd = x.shape
        w, nh = self.window, self.heads
        n, hd = w * w, d // nh
        # Quirk mirrored from cross_attention.rs: the residual shortcut is the LayerNorm *output*
        # (norm1(x)), not x itself.
        shortcut = self.norm1(x.permute(0, 2, 3, 1))  # (B, H, W, d)
        tokens = partition(shortcut, w)  # (B', N, d)
        bw = tokens.shape[0]
        kv = self.kv(tokens).reshape(bw, n, 2, nh, hd).permute(2, 0, 3, 1, 4)  # (2, B', h, N, hd)
        k, v = kv[0], kv[1]
        q_tokens = partition(q.permute(0, 2, 3, 1), w)  # (B', N, d)
        if self.query_layout == "head_split":
            qh = q_tokens.reshape(bw, n, nh, hd).transpose(1, 2)
        else:  # raw_reshape: POSTER_V2's literal reshape, mixing tokens and channels across heads
            qh = q_tokens.reshape(bw, nh, n, hd)
        qh = qh * (hd ** -0.5)
        bias = self.bias_table[self.bias_index].reshape(n, n, nh).permute(2, 0, 1).unsqueeze(0)
        attn = torch.softmax(qh @ k.transpose(2, 3) + bias, dim=3)
        out = (attn @ v).transpose(1, 2).reshape(bw, n, d)
        out = merge(self.proj(out), b, h, wd, w)  # (B, H, W, d)
        y = shortcut + drop_path(out * self.gamma1, self.drop_path_p, self.training)
        mlp = self.fc2(self.gelu(self.fc1(self.norm2(y))))
        y = y + drop_path(mlp * self.gamma2, self.drop_path_p, self.training)
        return y.permute(0, 3, 1, 2)


# ---------------------------------------------------------------------------------------------
# Token embedding and ViT (vit.rs)
# ---------------------------------------------------------------------------------------------

class TokenEmbedding(nn.Module):
    """Scale 1: two stride-2 3x3 convs; scale 2: one; scale 3: a 1x1 conv; all biased."""

    def __init__(self, channels, dim):
        super().__init__()
        self.s1a = conv(channels[0], dim, 3, 2, 1, True)
        self.s1b = conv(dim, dim, 3, 2, 1, True)
        self.s2 = conv(channels[1], dim, 3, 2, 1, True)
        self.s3 = conv(channels[2], dim, 1, 1, 1, True)

    def forward(self, maps):
        m1, m2, m3 = maps
        t1 = self.s1b(self.s1a(m1)).flatten(2).transpose(1, 2)
        t2 = self.s2(m2).flatten(2).transpose(1, 2)
        t3 = self.s3(m3).flatten(2).transpose(1, 2)
        return torch.cat([t1, t2, t3], dim=1)


class VitBlock(nn.Module):
    """Pre-norm block: LN -> MHSA (packed qkv, explicit softmax(QK^T/sqrt(d))V) -> residual;
    LN -> MLP(GELU) -> residual. LayerNorm eps 1e-6."""

    def __init__(self, cfg):
        super().__init__()
        v, std = cfg.vit_dim, 0.01  # timm's _init_vit_weights (vit.rs)
        self.norm1 = nn.LayerNorm(v, eps=1e-6)
        self.qkv = linear_normal(v, 3 * v, std)
        self.proj = linear_normal(v, v, std)
        self.norm2 = nn.LayerNorm(v, eps=1e-6)
        self.fc1 = linear_normal(v, cfg.vit_mlp_ratio * v, std)
        self.fc2 = linear_normal(cfg.vit_mlp_ratio * v, v, std)
        self.gelu = nn.GELU()
        self.heads = cfg.vit_heads

    def forward(self, x):
        b, t, v = x.shape
        nh, hd = self.heads, v // self.heads
        qkv = self.qkv(self.norm1(x)).reshape(b, t, 3, nh, hd).permute(2, 0, 3, 1, 4)
        q, k, val = qkv[0], qkv[1], qkv[2]
        attn = torch.softmax((q * hd ** -0.5) @ k.transpose(2, 3), dim=3)
        out = (attn @ val).transpose(1, 2).reshape(b, t, v)
        x = x + self.proj(out)
        return x + self.fc2(self.gelu(self.fc1(self.norm2(x))))


class Vit(nn.Module):
    """CLS + positions -> blocks -> LN -> CLS -> SE gate (cls * sigmoid(se2(relu(se1(cls)))))."""

    def __init__(self, cfg):
        super().__init__()
        v = cfg.vit_dim
        self.cls = nn.Parameter(torch.randn(1, 1, v) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, cfg.num_tokens + 1, v) * 0.02)
        self.blocks = nn.ModuleList([VitBlock(cfg) for _ in range(cfg.vit_depth)])
        self.norm = nn.LayerNorm(v, eps=1e-6)
        self.se1 = linear_normal(v, v, 0.01)
        self.se2 = linear_normal(v, v, 0.01)

    def forward(self, tokens):
        b, _, v = tokens.shape
        x = torch.cat([self.cls.expand(b, 1, v), tokens], dim=1) + self.pos  # `embed`
        for blk in self.blocks:  # `encode`
            x = blk(x)
        cls = self.norm(x)[:, 0]
        return cls * torch.sigmoid(self.se2(torch.relu(self.se1(cls))))


# ---------------------------------------------------------------------------------------------
# MLP head (head.rs) and reliability balancing (reliability.rs)
# ---------------------------------------------------------------------------------------------

class HiddenLayer(nn.Module):
    """Linear -> ReLU -> BatchNorm1d (optional) -> Dropout."""

    def __init__(self, d_in, d_out, bn, dropout):
        super().__init__()
        self.linear = nn.Linear(d_in, d_out)
        self.bn = nn.BatchNorm1d(d_out) if bn else None
        # burn's Dropout returns its input unchanged at probability 0 (tiny/micro use 0.0).
        self.dropout = nn.Dropout(dropout) if dropout > 0.0 else nn.Identity()

    def forward(self, x):
        y = torch.relu(self.linear(x))
        if self.bn is not None:
            y = self.bn(y)
        return self.dropout(y)


class MlpHead(nn.Module):
    def __init__(self, cfg, d, num_classes):
        super().__init__()
        layers, width = [], d
        for h in cfg.head_hidden:
            layers.append(HiddenLayer(width, h, cfg.head_bn, cfg.head_dropout))
            width = h
        self.hidden = nn.ModuleList(layers)
        self.out = nn.Linear(width, num_classes)

    def forward(self, e):
        for layer in self.hidden:
            e = layer(e)
        return self.out(e)


def confidence(q, floor):
    """1 - H(q)/log C with H = -sum q log max(q, floor), clamped to [0, 1]; (B, C) -> (B)."""
    c = q.shape[1]
    entropy = -(q * q.clamp_min(floor).log()).sum(dim=1)
    return (1.0 - entropy / math.log(c)).clamp(0.0, 1.0)


def anchor_distances(e, anchors):
    """(B, D) x (C, K, D) -> (B, C, K) Euclidean distances; the (B, C, K, D) difference is
    materialised as in reliability.rs (DISTANCE_EPS under the sqrt)."""
    diff = e[:, None, None, :] - anchors[None]
    return (diff.pow(2).sum(dim=3) + DISTANCE_EPS).sqrt()


def anchor_distribution(d, delta, aggregation):
    b, c, k = d.shape
    logits = -(d / delta)
    if aggregation == "joint_softmax_sum":
        return torch.softmax(logits.reshape(b, c * k), dim=1).reshape(b, c, k).sum(dim=2)
    # nearest_per_class. burn's max_dim backward routes the gradient to one index, as
    # torch.max(dim) does (amax would split it between ties).
    return torch.softmax(logits.max(dim=2).values, dim=1)


class AttentionPath(nn.Module):
    """Linear(D -> C) Q, K, V, then a one-head nn.MultiheadAttention of width C written out (its
    in-projections, its output projection), then a softmax over classes."""

    def __init__(self, d, c, mode):
        super().__init__()
        bound = math.sqrt(6.0 / (4 * c))  # Xavier-uniform over PyTorch's packed (3C, C) in_proj
        self.to_q, self.to_k, self.to_v = nn.Linear(d, c), nn.Linear(d, c), nn.Linear(d, c)
        self.in_q = linear_uniform(c, c, bound)
        self.in_k = linear_uniform(c, c, bound)
        self.in_v = linear_uniform(c, c, bound)
        self.out = linear_uniform(c, c, 1.0 / math.sqrt(c))
        self.mode = mode

    def forward(self, e):
        v = self.in_v(self.to_v(e))
        if self.mode == "batch_mixing":
            # ARBEx quirk (reliability.rs): the (B, C) projections are ONE sequence of length B,
            # so every sample attends over the whole mini-batch: a (B, B) score matrix.
            q = self.in_q(self.to_q(e))
            k = self.in_k(self.to_k(e))
            c = q.shape[1]
            mixed = torch.softmax((q * c ** -0.5) @ k.t(), dim=1) @ v
        else:  # per_sample: a length-1 sequence, the attention weight is exactly 1
            mixed = v
        return torch.softmax(self.out(mixed), dim=1)


def reliability_mix(p, m, alpha, trust, cfg):
    def conf(x):
        k = confidence(x, cfg.entropy_floor)
        return k.detach() if cfg.detach_confidence else k

    kappa_p, kappa_m, kappa_alpha = conf(p), conf(m), conf(alpha)
    if cfg.paths == "both":
        wm = (kappa_m + WEIGHT_EPS)[:, None]
        wa = (kappa_alpha + WEIGHT_EPS)[:, None]
        r = (m * wm + alpha * wa) / (wm + wa)
    elif cfg.paths == "anchor_only":
        r = m
    else:
        r = alpha
    kp = kappa_p[:, None]
    q = p * kp + r * (1.0 - kp)
    y_hat = p * (1.0 - trust) + q * trust
    return {"kappa_p": kappa_p, "kappa_m": kappa_m, "kappa_alpha": kappa_alpha, "r": r, "q": q,
            "y_hat": y_hat}


# ---------------------------------------------------------------------------------------------
# The whole network (model.rs)
# ---------------------------------------------------------------------------------------------

class Grefel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        ch = cfg.ir_channels
        # Attribute names = the Rust field names = params.rs's block names (BLOCK_ORDER).
        self.ir50 = Ir50(cfg)
        self.image_convs = nn.ModuleList([conv(c, c, 3, 2, 1, True) for c in ch])
        self.mobilefacenet = self.landmark_proj = self.geometry = None
        if cfg.branch == "mobile_face_net":
            self.mobilefacenet = MobileFaceNet(cfg)
            self.landmark_proj = conv(cfg.mfn_channels[2], ch[2], 3, 1, 1, True)
        elif cfg.branch == "geometry":
            self.geometry = GeometryBranch(cfg)
        else:
            raise ValueError(f"unknown landmark branch {cfg.branch!r}")
        self.cross_attention = nn.ModuleList([
            CrossAttentionBlock(ch[i], cfg.ca_heads[i], cfg.windows[i], cfg.ca_mlp_ratio,
                                cfg.ca_drop_path[i], cfg.ca_layer_scale_init, cfg.query_layout)
            for i in range(3)
        ])
        self.tokens = TokenEmbedding(ch, cfg.vit_dim)
        self.vit = Vit(cfg)
        d, c, k = cfg.embedding_dim, cfg.num_classes, cfg.anchors_per_class
        self.reduction = nn.Linear(cfg.vit_dim, d) if cfg.reduction_dim is not None else None
        self.head = MlpHead(cfg, d, c)
        anchors = torch.zeros(c, k, d)
        if cfg.anchor_init_std is not None:
            anchors.normal_(0.0, cfg.anchor_init_std)
        self.anchors = nn.Parameter(anchors)
        self.attention = AttentionPath(d, c, cfg.attention_mode)
        # model.rs `freeze_if`: frozen trunks stop gradients (burn `no_grad`); with
        # frozen_batch_norm "eval" they are frozen entirely (burn `freeze`: BN uses running stats).
        for trunk in self.frozen_trunks():
            trunk.requires_grad_(False)

    def frozen_trunks(self):
        out = []
        if self.cfg.ir_frozen:
            out.append(self.ir50)
        if self.mobilefacenet is not None and self.cfg.mfn_frozen:
            out.append(self.mobilefacenet)
        return out

    def train(self, mode=True):
        super().train(mode)
        if self.cfg.frozen_bn == "eval":
            for trunk in self.frozen_trunks():
                trunk.eval()
        return self

    def downsample(self, images):
        cfg = self.cfg
        if cfg.downsample == "nearest":
            return images[:, :, ::2, ::2]  # source index 2i (model.rs: slice 0..;2)
        if cfg.downsample == "bilinear":
            # burn's Interpolate2dConfig default align_corners = true (burn-nn 0.22.1).
            half = cfg.image_size // 2
            return F.interpolate(images, size=(half, half), mode="bilinear", align_corners=True)
        return images

    def forward(self, images, landmarks, trust):
        cfg = self.cfg
        x = self.downsample(images)
        stages = self.ir50(x)
        img = [c(f) for c, f in zip(self.image_convs, stages)]
        if self.mobilefacenet is not None:
            o1, o2, o3 = self.mobilefacenet(x)
            lms = [o1, o2, self.landmark_proj(o3)]
        else:
            lms = self.geometry(landmarks)
        fused = [blk(a, q) for blk, a, q in zip(self.cross_attention, img, lms)]
        features = self.vit(self.tokens(fused))
        embedding = self.reduction(features) if self.reduction is not None else features
        logits = self.head(embedding)
        p = torch.softmax(logits / cfg.temperature, dim=1)
        anchors = self.anchors
        distances = anchor_distances(embedding, anchors)
        m = anchor_distribution(distances, cfg.delta, cfg.aggregation)
        alpha = self.attention(embedding)
        mix = reliability_mix(p, m, alpha, trust, cfg)
        out = {"logits": logits, "p": p, "m": m, "alpha": alpha, "embedding": embedding,
               "features": features, "distances": distances, "anchors": anchors, "trust": trust}
        out.update(mix)
        return out


# ---------------------------------------------------------------------------------------------
# Losses (losses.rs)
# ---------------------------------------------------------------------------------------------

def weighted_nll(probs, labels, epsilon):
    """NLL of the smoothed targets (1 - eps) one_hot + eps/C on log max(probs, LOG_FLOOR); without
    class weights (the benchmark passes none) the weighted mean is the plain mean."""
    c = probs.shape[1]
    targets = F.one_hot(labels, c).to(probs.dtype) * (1.0 - epsilon) + epsilon / c
    per_sample = -(targets * probs.clamp_min(LOG_FLOOR).log()).sum(dim=1)
    return per_sample.mean()


def anchor_loss(anchors):
    """-sum_{c,c'} |a_c - a_c'|^2 / (sqrt(D) K^2), each class's K anchors flattened into one vector."""
    c, k, d = anchors.shape
    flat = anchors.reshape(c, k * d)
    diff = flat[None, :, :] - flat[:, None, :]
    return -(diff.pow(2).sum() / (math.sqrt(d) * k * k))


def anchor_margin_loss(anchors, margin):
    """losses.rs `anchor_margin_loss`: mean over ordered pairs of different classes and anchor
    indices k of max(0, margin - |a_ck - a_c'k|^2 / D)."""
    c, k, d = anchors.shape
    diff = anchors[None, :, :, :] - anchors[:, None, :, :]
    hinge = (margin - diff.pow(2).sum(3) / d).clamp_min(0.0)
    same = c * k * margin  # the same-class pairs: distance 0, no gradient
    return (hinge.sum() - same) / max(c * (c - 1) * k, 1)


def center_loss(distances, labels, kappa_p, dim):
    """(1/B) sum_b kappa(p_b) min_k d_{b, y_b, k} / sqrt(D). burn's min_dim backward routes the
    gradient to one index like torch.min(dim) (with zero-initialised anchors all K tie)."""
    b, _, k = distances.shape
    idx = labels.reshape(b, 1, 1).expand(b, 1, k)
    nearest = distances.gather(1, idx).min(dim=2).values.reshape(b)
    return (nearest * kappa_p).mean() / math.sqrt(dim)


def grefel_loss(out, labels, cfg):
    """losses.rs `loss`: total = l_cls L_cls + s (l_a L_a + l_c L_c), s = t (ARBEx) or 1. Every term
    is computed even at a zero weight, as in Rust."""
    dim = out["embedding"].shape[1]
    cls = weighted_nll(out["y_hat"], labels, cfg.label_smoothing)
    if cfg.anchor_margin is None:
        anchor = anchor_loss(out["anchors"])
    else:
        anchor = anchor_margin_loss(out["anchors"], cfg.anchor_margin)
    center = center_loss(out["distances"], labels, out["kappa_p"], dim)
    scale = out["trust"] if cfg.aux_scaled_by_trust else 1.0
    total = cls * cfg.lambda_cls + (anchor * cfg.lambda_anchor + center * cfg.lambda_center) * scale
    if cfg.lambda_primary != 0.0:  # losses.rs: NLL of p as well (0 in ARBEx)
        total = total + weighted_nll(out["p"], labels, cfg.label_smoothing) * cfg.lambda_primary
    return {"total": total, "cls": cls, "anchor": anchor, "center": center}


# ---------------------------------------------------------------------------------------------
# Parameter counts (params.rs)
# ---------------------------------------------------------------------------------------------

def parameter_counts(model):
    """(total, trainable, [(block, n), ...]) with blocks in Rust declaration order. Only
    parameters count (BatchNorm running stats and the bias index are buffers); trainable leaves
    out the frozen trunks."""
    blocks = {}
    trainable = 0
    for name, p in model.named_parameters():
        block = name.split(".", 1)[0]
        blocks[block] = blocks.get(block, 0) + p.numel()
        if p.requires_grad:
            trainable += p.numel()
    per_block = [(b, blocks.pop(b)) for b in BLOCK_ORDER if b in blocks]
    per_block += sorted(blocks.items())  # nothing should be left; shown if it is
    return sum(n for _, n in per_block), trainable, per_block


def check_params(model, summary):
    total, trainable, per_block = parameter_counts(model)
    if summary is None or "per_block" not in summary:
        for b, n in per_block:
            print(f"{b:<18}{n:>14}")
        print(f"{'total':<18}{total:>14}\n{'trainable':<18}{trainable:>14}")
        print("no model-summary figures in the input file: nothing to compare against")
        return False
    ok = True
    expected = [(str(b), int(n)) for b, n in summary["per_block"]]
    exp_map, got_map = dict(expected), dict(per_block)
    names = [b for b, _ in expected] + [b for b, _ in per_block if b not in exp_map]
    print(f"{'block':<18}{'rust':>14}{'torch':>14}")
    for b in names:
        e, g = exp_map.get(b), got_map.get(b)
        flag = "" if e == g else "   MISMATCH"
        ok &= e == g
        print(f"{b:<18}{str(e):>14}{str(g):>14}{flag}")
    if [b for b, _ in expected] != [b for b, _ in per_block]:
        print(f"block order differs: rust {[b for b, _ in expected]} torch {[b for b, _ in per_block]}")
        ok = False
    for what, e, g in [("total", summary["total"], total), ("trainable", summary["trainable"], trainable)]:
        flag = "" if e == g else "   MISMATCH"
        ok &= e == g
        print(f"{what:<18}{str(e):>14}{str(g):>14}{flag}")
    print("parameter counts match" if ok else "parameter counts DIFFER")
    return ok


# ---------------------------------------------------------------------------------------------
# Training step (grefel-train step.rs) and benchmark driver
# ---------------------------------------------------------------------------------------------

def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_step(model, optim, batch, trust, amp, device, phases=None):
    """step.rs `train_step`: forward with trust t, losses, read the four loss terms and argmax p
    back to the host (Rust does this every step, so it is timed here too), skip the update on a
    non-finite loss, backward, Adam step. `phases`, when given, collects synchronised per-phase
    times in ms."""
    images, landmarks, labels, labels_host = batch
    t0 = time.perf_counter()
    with amp():
        out = model(images, landmarks, trust)
        if phases is not None:
            sync(device)
            t1 = time.perf_counter()
        parts = grefel_loss(out, labels, model.cfg)
    figures = torch.stack([parts["total"], parts["cls"], parts["anchor"], parts["center"]]).detach()
    figures = figures.float().cpu().tolist()
    predicted = out["p"].detach().argmax(dim=1).cpu()
    correct = int((predicted == labels_host).sum())
    if phases is not None:
        t2 = time.perf_counter()
    if not math.isfinite(figures[0]):
        return figures, correct
    parts["total"].backward()
    if phases is not None:
        sync(device)
        t3 = time.perf_counter()
    optim.step()
    optim.zero_grad(set_to_none=True)
    if phases is not None:
        sync(device)
        t4 = time.perf_counter()
        for key, a, b in [("forward", t0, t1), ("loss", t1, t2), ("backward", t2, t3), ("optimizer", t3, t4)]:
            phases.setdefault(key, []).append((b - a) * 1e3)
    return figures, correct


def set_precision(precision, device):
    """fp32: TF32 off everywhere (PyTorch's default leaves it on for cuDNN convolutions);
    tf32: on for matmuls and convolutions. Uses the fp32_precision API where present (PyTorch
    >= 2.9, where mixing it with the legacy allow_tf32 flags is an error), else the legacy flags."""
    if device.type != "cuda":
        if precision == "tf32":
            print("note: tf32 has no meaning on CPU; running fp32")
        return
    tf32 = precision == "tf32"
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):
        mode = "tf32" if tf32 else "ieee"
        torch.backends.cuda.matmul.fp32_precision = mode
        torch.backends.cudnn.conv.fp32_precision = mode
    else:
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32


def load_summary(path):
    with open(path) as f:
        text = f.read().strip()
    # The file may hold build noise before the JSON line: take the last line that parses.
    obj = None
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
                break
            except json.JSONDecodeError:
                continue
    if obj is None:
        obj = json.loads(text)  # a pretty-printed bare config
    if "config" in obj:
        return obj, obj["config"]
    return None, obj


def profile_ops(model, optim, batch, trust, amp, device, steps):
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        for _ in range(steps):
            train_step(model, optim, batch, trust, amp, device)
        sync(device)
    table = prof.key_averages()
    print(f"\ntorch.profiler over {steps} steps, top 15 by self CPU time:")
    print(table.table(sort_by="self_cpu_time_total", row_limit=15))
    if device.type == "cuda":
        for key in ("self_device_time_total", "self_cuda_time_total"):
            try:
                text = table.table(sort_by=key, row_limit=15)
            except Exception:  # older/newer naming of the device-time column
                continue
            print(f"top 15 by self CUDA time ({key}):")
            print(text)
            break


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--summary-json", required=True, help="model-summary --json output (or a bare ModelConfig)")
    ap.add_argument("--batch", type=int, default=144)
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    ap.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default="fp32")
    ap.add_argument("--steps", type=int, default=20, help="timed steps")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trust", type=float, default=0.5, help="trust t of the forward pass")
    ap.add_argument("--lr", type=float, default=3e-4, help="Adam learning rate (grefel-train default)")
    ap.add_argument("--check-params", action="store_true", help="compare parameter counts and exit")
    ap.add_argument("--profile", action="store_true", help="per-phase times and torch.profiler tables")
    ap.add_argument("--cudnn-benchmark", action=argparse.BooleanOptionalAction, default=None,
                    help="cudnn.benchmark (default: on for CUDA)")
    args = ap.parse_args(argv)

    summary, raw_cfg = load_summary(args.summary_json)
    cfg = Cfg(raw_cfg)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    if args.check_params:
        # Counting needs no device and no training; build on the meta device (no memory, no init).
        with torch.device("meta"):
            model = Grefel(cfg)
        sys.exit(0 if check_params(model, summary) else 1)

    device = torch.device(args.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True if args.cudnn_benchmark is None else args.cudnn_benchmark
    set_precision(args.precision, device)
    if args.precision == "bf16":
        def amp():
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    else:
        amp = contextlib.nullcontext

    model = Grefel(cfg).to(device)
    model.train()
    total, trainable, _ = parameter_counts(model)
    if summary is not None and (summary.get("total"), summary.get("trainable")) != (total, trainable):
        print(f"WARNING: parameter counts differ from the summary: torch {total}/{trainable}, "
              f"rust {summary.get('total')}/{summary.get('trainable')} (run --check-params)")
    # grefel-train: AdamConfig β1 0.9, β2 0.999, ε 1e-8, no weight decay (train.rs, config.rs).
    optim = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr,
                             betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)

    # One fixed random batch, drawn from a dedicated generator on the host.
    gen = torch.Generator().manual_seed(args.seed)
    b, s = args.batch, cfg.image_size
    images = torch.randn(b, 3, s, s, generator=gen).to(device)
    landmarks = None
    if cfg.branch == "geometry":
        landmarks = torch.rand(b, cfg.num_landmarks, 2, generator=gen).to(device)
    labels_host = torch.randint(0, cfg.num_classes, (b,), generator=gen)
    batch = (images, landmarks, labels_host.to(device), labels_host)

    print(f"pytorch-eager GReFEL: torch {torch.__version__}, device {device}, precision "
          f"{args.precision}, batch {b}, image {s}px, params {total} ({trainable} trainable), "
          f"threads {torch.get_num_threads()}")
    for i in range(args.warmup):
        figures, _ = train_step(model, optim, batch, args.trust, amp, device)
        print(f"warm-up {i + 1}/{args.warmup}: loss {figures[0]:.5f}")
    sync(device)
    times, figures, correct = [], [math.nan] * 4, 0
    for i in range(args.steps):
        sync(device)
        t0 = time.perf_counter()
        figures, correct = train_step(model, optim, batch, args.trust, amp, device)
        sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
        print(f"step {i + 1}/{args.steps}: {times[-1]:.2f} ms, loss {figures[0]:.5f} "
              f"(cls {figures[1]:.5f}, anchor {figures[2]:.5f}, center {figures[3]:.5f}), "
              f"correct {correct}/{b}")

    result = {
        "impl": "pytorch-eager",
        "torch": torch.__version__,
        "device": str(device) if device.type == "cpu" else f"{device} ({torch.cuda.get_device_name(device)})",
        "precision": "fp32" if (args.precision == "tf32" and device.type != "cuda") else args.precision,
        "batch": b,
        "image_size": s,
        "steps": args.steps,
        "warmup": args.warmup,
        "threads": torch.get_num_threads(),
        "step_ms_median": statistics.median(times) if times else None,
        "step_ms_mean": statistics.fmean(times) if times else None,
        "img_per_s": b / (statistics.median(times) / 1e3) if times else None,
        "params_total": total,
        "params_trainable": trainable,
        "final_loss": figures[0],
    }
    if args.profile:
        phases = {}
        for _ in range(max(args.steps, 1)):
            train_step(model, optim, batch, args.trust, amp, device, phases)
        result["phases_ms"] = {k: statistics.median(v) for k, v in phases.items()}
        print("per-phase medians (ms, synchronised): "
              + ", ".join(f"{k} {v:.2f}" for k, v in result["phases_ms"].items()))
        profile_ops(model, optim, batch, args.trust, amp, device, min(max(args.steps, 1), 5))
    if result["final_loss"] is not None and not math.isfinite(result["final_loss"]):
        result["final_loss"] = None  # JSON has no NaN
    print(json.dumps(result))


if __name__ == "__main__":
    main()
