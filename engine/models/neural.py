"""The two PyTorch families (training side; imports torch lazily): fused into one network class.

multimodal  one small MLP branch per input (metadata `num`, caption embedding `caption`, pooled frame
            embedding `frames` [N, D], audio features `audio`), concatenated, a regression head.
video       the same, but the frames branch is a factorised video transformer (ViViT style, the temporal
            half): per-frame backbone embeddings `frames` [N, T, D] -> linear projection -> a CLS token
            and a learned positional embedding -> pre-norm transformer encoder layers over time -> the
            CLS output. The spatial half is the frame backbone itself (EfficientNet-Lite0, run per frame
            at extraction).

Every input is standardised inside the network (training means and standard deviations are buffers),
and the label is standardised for training and turned back inside the network, so the ONNX graph
takes the raw inputs and returns the predicted label. The attention is written out with plain ops
(no fused kernels) so that torch.onnx's TorchScript exporter gives the same numbers in ONNX Runtime.
Training: AdamW, mini-batches, MSE on the standardised label, early stopping on a validation set
(the weights of the best validation epoch are kept). Deterministic for a given seed on a CPU.
"""
from __future__ import annotations

import io
import math
import warnings
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Optional

import numpy as np

from ..errors import InputError
from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress

INPUT_ORDER = ("num", "caption", "frames", "audio")
OUTPUT = "prediction"
OPSET = 17
FAMILIES = ("multimodal", "video")


@dataclass
class NeuralConfig:
    folds: int = 5
    seed: int = 0
    hidden: int = 64  # each branch's width
    head_hidden: int = 64
    dropout: float = 0.1
    lr: float = 2e-3
    weight_decay: float = 1e-4
    batch_size: int = 128
    max_epochs: int = 150
    patience: int = 15
    val_fraction: float = 0.15  # of the training rows (by author, or the latest by time), for early stopping
    time_split: float = 0.8
    # Account stats a creator may leave out, as for the ensemble (engine.models.ensemble.MASKS): besides every
    # training post as it is, this share of them is also trained on under each masked regime, so the network
    # learns what an unknown stat means (the ensemble weighs its copies 0.5 and 0.25 the same way)
    account_regimes: tuple = ("followers_only", "no_account")
    regime_shares: tuple = (0.5, 0.25)
    # video transformer
    d_model: int = 64
    heads: int = 4
    layers: int = 2
    ff_mult: int = 2

    def as_dict(self) -> dict:
        return asdict(self)


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError("training the multimodal and video models needs torch "
                         "(pip install 'virality-studio[train]')") from exc
    return torch


@lru_cache(maxsize=1)
def _modules():
    """The nn.Module classes, built on first use so that importing this file does not import torch."""
    torch = _torch()
    nn = torch.nn

    class Branch(nn.Module):
        def __init__(self, d_in, hidden, dropout, mean, std):
            super().__init__()
            self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
            self.net = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(dropout),
                                     nn.Linear(hidden, hidden), nn.ReLU())

        def forward(self, x):
            return self.net((x - self.mean) / self.std)

    class SelfAttention(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.heads, self.dh = heads, d // heads
            self.qkv = nn.Linear(d, 3 * d)
            self.out = nn.Linear(d, d)

        def forward(self, x):
            n, t, d = x.shape
            qkv = self.qkv(x).reshape(n, t, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            att = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.dh), dim=-1)
            y = torch.matmul(att, v).permute(0, 2, 1, 3).reshape(n, t, d)
            return self.out(y)

    class EncoderLayer(nn.Module):
        def __init__(self, d, heads, ff, dropout):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = SelfAttention(d, heads)
            self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, d))
            self.drop = nn.Dropout(dropout)

        def forward(self, x):
            x = x + self.drop(self.attn(self.norm1(x)))
            return x + self.drop(self.ff(self.norm2(x)))

    class TemporalTransformer(nn.Module):
        """[N, T, D] per-frame embeddings -> [N, d_model] (the CLS token after the encoder)."""

        def __init__(self, d_in, frames, cfg: NeuralConfig, mean, std):
            super().__init__()
            d = cfg.d_model
            self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
            self.proj = nn.Linear(d_in, d)
            self.cls = nn.Parameter(torch.zeros(1, 1, d))
            self.pos = nn.Parameter(torch.randn(1, frames + 1, d) * 0.02)
            self.layers = nn.ModuleList(EncoderLayer(d, cfg.heads, cfg.ff_mult * d, cfg.dropout)
                                        for _ in range(cfg.layers))
            self.norm = nn.LayerNorm(d)

        def forward(self, x):
            z = self.proj((x - self.mean) / self.std)
            cls = self.cls.expand(z.shape[0], 1, z.shape[2])
            z = torch.cat([cls, z], dim=1) + self.pos
            for layer in self.layers:
                z = layer(z)
            return self.norm(z[:, 0])

    class FusionNet(nn.Module):
        """One branch per input (in INPUT_ORDER), concatenated, then the head. forward(*inputs) in that order."""

        def __init__(self, dims: dict, stats: dict, cfg: NeuralConfig, temporal: bool, y_mean: float, y_std: float):
            super().__init__()
            self.names = [n for n in INPUT_ORDER if n in dims]
            self.branches = nn.ModuleDict()
            width = 0
            for n in self.names:
                mean, std = stats[n]
                if n == "frames" and temporal:
                    frames, d_in = dims[n]
                    self.branches[n] = TemporalTransformer(d_in, frames, cfg, mean, std)
                    width += cfg.d_model
                else:
                    self.branches[n] = Branch(dims[n], cfg.hidden, cfg.dropout, mean, std)
                    width += cfg.hidden
            self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(width, cfg.head_hidden), nn.ReLU(),
                                      nn.Linear(cfg.head_hidden, 1))
            self.register_buffer("y_mean", torch.tensor(float(y_mean)))
            self.register_buffer("y_std", torch.tensor(float(y_std)))

        def standardised(self, *xs):
            h = torch.cat([self.branches[n](x) for n, x in zip(self.names, xs)], dim=1)
            return self.head(h)

        def forward(self, *xs):
            return self.standardised(*xs) * self.y_std + self.y_mean

    return FusionNet


def _stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std over every axis but the last (rows, and frames for [N, T, D])."""
    flat = x.reshape(-1, x.shape[-1]).astype(np.float64)
    mean = flat.mean(0)
    std = flat.std(0)
    std = np.where(std < 1e-6, 1.0, std)
    return mean.astype(np.float32), std.astype(np.float32)


@dataclass
class FitResult:
    net: object
    curve: dict  # {"train_loss": [...], "val_loss": [...]} per epoch (MSE in label units squared)
    best_epoch: int
    epochs: int
    inputs: list[str]
    dims: dict = field(default_factory=dict)


def fit(arrays: dict[str, np.ndarray], y: np.ndarray, train_idx: np.ndarray, val_idx: Optional[np.ndarray],
        cfg: NeuralConfig, temporal: bool, progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED, fixed_epochs: Optional[int] = None) -> FitResult:
    """Train one network on the rows train_idx; early stopping on val_idx (the best epoch's weights are
    kept). With val_idx None, trains `fixed_epochs` epochs. arrays: input name -> float32 [N, ...]."""
    torch = _torch()
    FusionNet = _modules()
    names = [n for n in INPUT_ORDER if n in arrays]
    if not names:
        raise InputError("the network has no input: choose at least one feature group")
    torch.manual_seed(cfg.seed)
    rng = np.random.RandomState(cfg.seed)
    dims, stats = {}, {}
    for n in names:
        a = arrays[n]
        dims[n] = (a.shape[1], a.shape[2]) if a.ndim == 3 else a.shape[1]
        stats[n] = _stats(a[train_idx])
    y_tr = y[train_idx]
    y_mean, y_std = float(y_tr.mean()), float(y_tr.std() or 1.0)
    net = FusionNet(dims, stats, cfg, temporal, y_mean, y_std)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    tensors = {n: torch.from_numpy(np.ascontiguousarray(arrays[n], np.float32)) for n in names}
    yt = torch.from_numpy(((y - y_mean) / y_std).astype(np.float32))
    curve = {"train_loss": [], "val_loss": []}
    best, best_epoch, best_state = math.inf, 0, None
    max_epochs = fixed_epochs if val_idx is None else cfg.max_epochs
    max_epochs = max(1, int(max_epochs))
    for epoch in range(max_epochs):
        cancel.raise_if_cancelled()
        net.train()
        order = train_idx[rng.permutation(train_idx.size)]
        total = 0.0
        for start in range(0, order.size, cfg.batch_size):
            cancel.raise_if_cancelled()  # an epoch takes seconds on busy cores: look each batch
            b = torch.from_numpy(order[start:start + cfg.batch_size])
            opt.zero_grad()
            loss = torch.mean((net.standardised(*[tensors[n][b] for n in names]).squeeze(1) - yt[b]) ** 2)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * b.numel()
        curve["train_loss"].append(round(total / order.size * y_std ** 2, 5))
        if val_idx is not None and val_idx.size:
            net.eval()
            with torch.no_grad():
                b = torch.from_numpy(val_idx)
                v = float(torch.mean((net.standardised(*[tensors[n][b] for n in names]).squeeze(1) - yt[b]) ** 2))
            curve["val_loss"].append(round(v * y_std ** 2, 5))
            if v < best - 1e-6:
                best, best_epoch = v, epoch + 1
                best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
            elif epoch + 1 - best_epoch >= cfg.patience:
                break
        losses = f" train_loss={curve['train_loss'][-1]:.4f}"
        if curve["val_loss"]:
            losses += f" val_loss={curve['val_loss'][-1]:.4f}"
        progress((epoch + 1) / max_epochs, f"epoch {epoch + 1}{losses}")  # the Train page plots these live
    if best_state is not None:
        net.load_state_dict(best_state)
    else:
        best_epoch = max_epochs
    net.eval()
    return FitResult(net, curve, best_epoch, len(curve["train_loss"]), names, dims)


def predict(result: FitResult, arrays: dict[str, np.ndarray], idx: Optional[np.ndarray] = None,
            batch: int = 1024) -> np.ndarray:
    """The native (torch) predictions, float64 [len(idx)]."""
    torch = _torch()
    net = result.net
    net.eval()
    n = next(iter(arrays.values())).shape[0]
    idx = np.arange(n) if idx is None else idx
    out = []
    with torch.no_grad():
        for start in range(0, idx.size, batch):
            b = idx[start:start + batch]
            xs = [torch.from_numpy(np.ascontiguousarray(arrays[k][b], np.float32)) for k in result.inputs]
            out.append(net(*xs).squeeze(1).numpy().astype(np.float64))
    return np.concatenate(out) if out else np.zeros(0)


def export_onnx(result: FitResult, example: dict[str, np.ndarray]) -> bytes:
    """The network as one ONNX graph: inputs named as in result.inputs (dynamic batch), output
    'prediction' float32 [N, 1]."""
    torch = _torch()
    import onnx

    xs = tuple(torch.from_numpy(np.ascontiguousarray(example[n][:2], np.float32)) for n in result.inputs)
    buf = io.BytesIO()
    dyn = {n: {0: "N"} for n in result.inputs}
    dyn[OUTPUT] = {0: "N"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(result.net, xs, buf, input_names=list(result.inputs), output_names=[OUTPUT],
                          dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True, dynamo=False)
    model = onnx.load_from_string(buf.getvalue())
    model.producer_name = "virality-studio"
    onnx.checker.check_model(model)
    return model.SerializeToString()


def software() -> dict:
    torch = _torch()
    import onnx

    return {"torch": torch.__version__, "onnx": onnx.__version__, "opset": OPSET}
