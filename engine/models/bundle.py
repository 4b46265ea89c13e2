"""Model bundles (DESIGN.md contract 4): the only way a trained model reaches scoring.

A bundle is a folder (or a .zip of one) holding `manifest.json` and `.onnx` files. The manifest names the
format version, the model, its family, the feature spec (name, version and the spec itself with the
learned fill values), the label, the training data, the held-out metrics, the score quantiles and the
calibration table, and a sha256 per file. Loading reads JSON and ONNX only: it never unpickles, so it
never runs code from the bundle.

Scoring side: imports numpy and onnxruntime (through engine.runtime) only, never scikit-learn or torch.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np

from ..errors import BundleError, InputError
from ..features.spec import OutOfRange, PostMeta, check_spec, model_inputs

BUNDLE_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FAMILIES = ("ensemble", "multimodal", "video", "personal")  # personal: engine.personal, one creator
#: families whose ONNX graph also reads backbone embeddings / audio features (see engine.features.inputs.bundle_inputs)
NEURAL_FAMILIES = ("multimodal", "video", "personal")  # personal: its caption embedding, when it reads one
_ALLOWED_SUFFIXES = (".onnx", ".json")
#: files kept beside the model for people (training report, plots): listed with their sha256, never loaded
_ATTACHMENT_SUFFIXES = (".json", ".png", ".md")
#: a bundle file larger than this is refused before it is read (the largest real model, a video transformer with
#: its backbone outside the bundle, is tens of MB); the manifest has its own, smaller limit
MAX_FILE_BYTES = 1 << 30
MAX_MANIFEST_BYTES = 16 << 20


def default_bundle_path() -> Path:
    """The embedded default model: <repo>/resources/models/default (one definition, in engine.models.active)."""
    from .active import default_bundle_path as path

    return path()


#: how a bundle records the posts it was trained on (manifest["training_data"]["posts_fingerprint"])
FINGERPRINT_METHOD = "sha256(post_id) hex, first 12 characters, sorted, joined by spaces"


def _post_hash(post_id) -> str:
    return hashlib.sha256(str(post_id).encode("utf-8")).hexdigest()[:12]


def posts_fingerprint(post_ids: Iterable) -> dict:
    """What a bundle records of its training posts: a short hash of each post id (not the ids themselves), so
    `evaluate` can tell when it measures a model on posts it learned from."""
    hashes = sorted({_post_hash(i) for i in post_ids if i is not None and str(i) != ""})
    return {"method": FINGERPRINT_METHOD, "n": len(hashes), "hashes": " ".join(hashes)}


def training_overlap(manifest: dict, post_ids: Iterable) -> Optional[int]:
    """How many of `post_ids` the bundle was trained on; None when the bundle records no fingerprint (older
    bundles)."""
    fp = (manifest.get("training_data") or {}).get("posts_fingerprint")
    if not isinstance(fp, dict) or fp.get("method") != FINGERPRINT_METHOD:
        return None
    seen = _hash_set(str(fp.get("hashes") or ""))
    return sum(_post_hash(i) in seen for i in post_ids if i is not None)


@functools.lru_cache(maxsize=4)
def _hash_set(hashes: str) -> frozenset:
    """The fingerprint's hashes as a set, made once per fingerprint (evaluate asks row by row)."""
    return frozenset(hashes.split())


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_file_name(name: str) -> None:
    p = PurePosixPath(name)
    if (
        not name
        or name != p.name
        or "\\" in name
        or name in (".", "..")
        or not name.endswith(_ALLOWED_SUFFIXES)
        or name == MANIFEST
    ):
        raise BundleError(f"the bundle's manifest lists an unacceptable file name '{name}'")


class _Source:
    """Reads a bundle's files from a folder or a zip, by plain file name."""

    def __init__(self, path: Path):
        self.path = path
        self._zip: Optional[zipfile.ZipFile] = None
        self._prefix = ""
        if path.is_dir():
            return
        if not path.exists():
            raise BundleError(f"{path}: no model bundle here (no such file or folder)")
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise BundleError(f"{path}: not a model bundle (a folder or a .zip with manifest.json): {exc}") from None
        names = self._zip.namelist()
        if MANIFEST in names:
            return
        tops = [n for n in names if n.endswith("/" + MANIFEST) and n.count("/") == 1]
        if len(tops) != 1:
            raise BundleError(f"{path}: the zip holds no manifest.json (at its top or in one folder)")
        self._prefix = tops[0][: -len(MANIFEST)]

    def read(self, name: str, limit: Optional[int] = None) -> bytes:
        limit = MAX_FILE_BYTES if limit is None else limit
        try:
            if self._zip is not None:
                info = self._zip.getinfo(self._prefix + name)
                kind, size = stat.S_IFMT(info.external_attr >> 16), info.file_size
            else:
                st = os.lstat(self.path / name)
                kind, size = stat.S_IFMT(st.st_mode), st.st_size
            if kind == stat.S_IFLNK:
                raise BundleError(f"{self.path}: '{name}' is a symbolic link; a bundle holds its own files only")
            if kind not in (0, stat.S_IFREG):  # 0: a zip made without Unix modes
                raise BundleError(f"{self.path}: '{name}' is not a regular file")
            if size > limit:
                raise BundleError(f"{self.path}: '{name}' is {size:,} bytes, more than the {limit:,} a bundle file may be")
            if self._zip is not None:
                return self._zip.read(self._prefix + name)
            return (self.path / name).read_bytes()
        except (KeyError, FileNotFoundError):
            raise BundleError(f"{self.path}: the bundle is incomplete: '{name}' is missing") from None
        except (OSError, zipfile.BadZipFile) as exc:
            raise BundleError(f"{self.path}: '{name}' cannot be read ({exc})") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _interp_sorted(x, xp: Sequence[float], fp: Sequence[float]):
    """np.interp over a non-decreasing xp that may repeat values (a repeated x maps to the mean of its fp).
    A float for a float x, an array for an array."""
    xp = np.asarray(xp, np.float64)
    fp = np.asarray(fp, np.float64)
    ux, inv = np.unique(xp, return_inverse=True)
    uf = np.bincount(inv.ravel(), weights=fp) / np.bincount(inv.ravel())
    out = np.interp(x, ux, uf)
    return float(out) if np.ndim(out) == 0 else out


def _numbers(values, what: str, min_len: int) -> list[float]:
    """`values` as finite floats, at least `min_len` of them, in order; BundleError naming `what` otherwise."""
    if not isinstance(values, list) or len(values) < min_len:
        raise BundleError(f"the manifest's {what} must be a list of at least {min_len} numbers (it is "
                          f"{str(values)[:60]}); the bundle cannot give a meaningful score")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise BundleError(f"the manifest's {what} holds values that are not finite numbers; the bundle is damaged")
    if any(b < a for a, b in zip(values, values[1:])):
        raise BundleError(f"the manifest's {what} are not in increasing order; the bundle is damaged")
    return [float(v) for v in values]


def _check_score_tables(m: dict) -> None:
    """Refuse the score quantiles, calibration table and view range a bundle cannot score with (empty, one
    value, not numbers, NaN, reversed, negative for a label that is a log of views): they would give
    silent scores of 0, 50 or 100."""
    score = m.get("score")
    q = _numbers(score.get("quantiles") if isinstance(score, dict) else None, "score quantiles", 2)
    if q[-1] <= q[0]:
        raise BundleError("the manifest's score quantiles are all the same value: every post would get the same score")
    label = m.get("label") if isinstance(m.get("label"), dict) else {}
    if label.get("transform") == "log1p" and q[0] < 0:
        raise BundleError("the manifest's score quantiles are negative, but its label is ln(1 + views), never "
                          "below 0; the bundle is damaged")
    cal = m.get("calibration")
    if cal and cal.get("bin_mean_prediction"):
        xs = _numbers(cal.get("bin_mean_prediction"), "calibration predictions", 1)
        shares = cal.get("share_top25")
        if (not isinstance(shares, list) or len(shares) != len(xs) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0 for v in shares)):
            raise BundleError("the manifest's calibration shares must be one number from 0 to 1 per calibration bin")
    vr = m.get("view_range") or {}
    if vr.get("available"):
        _numbers([vr.get("residual_q25"), vr.get("residual_q75")], "view range residuals", 2)


_ORT_TYPES = {"float32": "tensor(float)", "string": "tensor(string)", "int64": "tensor(int64)"}


def _check_io(path: Path, manifest: dict, session) -> None:
    """Each ONNX input's type and shape against what the feature spec (and the manifest's `inputs`) says
    scoring will feed it, so a mismatched model is refused at load, not with an ONNX Runtime error at scoring."""
    spec = manifest["feature_spec"]
    declared = manifest.get("inputs") if isinstance(manifest.get("inputs"), dict) else {}
    want: dict[str, tuple[str, list]] = {}
    for name, d in declared.items():
        if isinstance(d, dict) and d.get("dtype") in _ORT_TYPES and isinstance(d.get("shape"), list):
            want[name] = (_ORT_TYPES[d["dtype"]], list(d["shape"]))
    want["num"] = ("tensor(float)", ["N", len(spec["columns"])])
    if spec.get("text"):
        want[spec["text"]["input"]] = ("tensor(string)", ["N", 1])
    for i in session.get_inputs():
        if i.name not in want:
            continue
        dtype, shape = want[i.name]
        got = list(i.shape or [])
        fixed_mismatch = any(isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(got, shape))
        if i.type != dtype or len(got) != len(shape) or fixed_mismatch:
            raise BundleError(
                f"{path}: the ONNX model's input '{i.name}' is {i.type} of shape {got}, but scoring gives it "
                f"{dtype} of shape {shape} (from the feature spec); the bundle is inconsistent")
    outs = session.get_outputs()
    if not outs or outs[0].type not in ("tensor(float)", "tensor(double)"):
        raise BundleError(f"{path}: the ONNX model's output is {outs[0].type if outs else 'missing'}, not a number")


class ModelBundle:
    """A loaded, verified bundle with its ONNX Runtime session."""

    def __init__(self, path: Path, manifest: dict, session, provider: str):
        self.path = path
        self.manifest = manifest
        self._session = session
        self.provider = provider
        self.name: str = manifest.get("name", path.name)
        spec = manifest["feature_spec"]
        self.uses_cues: bool = bool(spec.get("uses_cues"))
        self._input_names = [i.name for i in session.get_inputs()]
        self.family: str = manifest.get("family", "ensemble")
        #: inputs beyond the feature spec's (caption / frames / audio) that predict() needs in `extra`
        self.extra_inputs: list[str] = [n for n in self._input_names if n not in ("num", "text")]

    # ---- loading

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto", threads: int = 0) -> "ModelBundle":
        """Open a bundle folder or .zip; verify its format version, feature spec version and the sha256 of
        every file, then start an ONNX Runtime session on the best provider for `device`.
        Raises BundleError (with what to do) on anything missing, damaged or mismatched."""
        from ..runtime import make_session

        path = Path(path)
        src = _Source(path)
        try:
            raw = src.read(MANIFEST, MAX_MANIFEST_BYTES)
            try:
                manifest = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise BundleError(f"{path}: manifest.json is damaged (not JSON: {exc})") from None
            if not isinstance(manifest, dict):
                raise BundleError(f"{path}: manifest.json is damaged (not a JSON object)")
            cls._check_manifest(path, manifest)
            blobs = {}
            for name, info in manifest["files"].items():
                _check_file_name(name)
                data = src.read(name)
                want = (info or {}).get("sha256") if isinstance(info, dict) else None
                if not want:
                    raise BundleError(f"{path}: the manifest gives no sha256 for '{name}'")
                if sha256_bytes(data) != want:
                    raise BundleError(
                        f"{path}: '{name}' does not match its sha256 in the manifest; the bundle is damaged or "
                        "was changed after it was made. Re-download or retrain it"
                    )
                blobs[name] = data
        finally:
            src.close()
        model_file = manifest.get("model_file")
        if model_file not in blobs or not model_file.endswith(".onnx"):
            raise BundleError(f"{path}: the manifest's model_file '{model_file}' is not one of its .onnx files")
        try:
            session, provider = make_session(blobs[model_file], device=device, threads=threads)
        except InputError:
            raise
        except Exception as exc:  # onnxruntime raises its own exception types
            raise BundleError(f"{path}: ONNX Runtime cannot load '{model_file}': {exc}") from None
        _check_io(path, manifest, session)
        bundle = cls(path, manifest, session, provider)
        spec_inputs = {"num"} | ({spec_text["input"]} if (spec_text := manifest["feature_spec"].get("text")) else set())
        if manifest["family"] in NEURAL_FAMILIES:
            spec_inputs = set(manifest.get("inputs") or {})
        if set(bundle._input_names) != spec_inputs:
            raise BundleError(
                f"{path}: the ONNX model reads {sorted(bundle._input_names)} but its feature spec gives "
                f"{sorted(spec_inputs)}; the bundle is inconsistent"
            )
        return bundle

    @staticmethod
    def _check_manifest(path: Path, m: dict) -> None:
        version = m.get("format_version")
        if version != BUNDLE_FORMAT_VERSION:
            raise BundleError(
                f"{path}: bundle format version {version}, this program reads version {BUNDLE_FORMAT_VERSION}; "
                "retrain the model or use the program version it was made with"
            )
        if m.get("family") not in FAMILIES:
            raise BundleError(f"{path}: model family '{m.get('family')}' is not one this program can run")
        for key in ("feature_spec", "files", "model_file", "label", "score"):
            if key not in m:
                raise BundleError(f"{path}: manifest.json lacks '{key}'; the bundle is damaged or incomplete")
        if not isinstance(m["files"], dict) or not m["files"]:
            raise BundleError(f"{path}: manifest.json lists no files")
        try:
            check_spec(m["feature_spec"])
            _check_score_tables(m)
        except BundleError as exc:
            raise BundleError(f"{path}: {exc}") from None

    # ---- scoring

    def model_inputs(
        self, metas: list[PostMeta], cues: Optional[list[Optional[dict]]] = None,
        extra: Optional[Mapping[str, np.ndarray]] = None,
    ) -> tuple[dict[str, np.ndarray], list[list[OutOfRange]]]:
        """The exact arrays predict() feeds the ONNX graph (values clipped to the ranges the model was trained
        on), and per post the inputs that were outside those ranges. For anything that reruns the model on
        variants of a post (explanations): start from these, not from the raw metadata.
        Raises InputError for impossible metadata or missing extra inputs."""
        inputs, found = model_inputs(list(metas), self.manifest["feature_spec"], cues if self.uses_cues else None)
        if self.family in NEURAL_FAMILIES:
            inputs = {k: v for k, v in inputs.items() if k in self._input_names}
            missing = [n for n in self.extra_inputs if extra is None or n not in extra]
            if missing:
                raise InputError(f"the model '{self.name}' also reads {', '.join(missing)} (computed from the video "
                                 "file and caption); pass them in `extra`")
            inputs.update({n: np.ascontiguousarray(extra[n], np.float32) for n in self.extra_inputs})
        return inputs, found

    def run(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """The model's output for model_inputs()' arrays, float64 [N]. Raises BundleError when the model gives
        a value that is not a finite number (NaN, inf): a broken bundle must not turn into a score."""
        out = np.asarray(self._session.run(None, dict(inputs))[0], np.float64).reshape(-1)
        if not np.all(np.isfinite(out)):
            bad = out[~np.isfinite(out)][0]
            raise BundleError(f"the model '{self.name}' gave {bad} instead of a prediction; the bundle is broken "
                              "(retrain it, or use another model)")
        return out

    def inputs(
        self, metas: list[PostMeta], cues: Optional[list[Optional[dict]]] = None,
        extra: Optional[Mapping[str, np.ndarray]] = None,
    ) -> dict[str, np.ndarray]:
        """The ONNX feeds predict() gives the model for these posts (model_inputs() without the out-of-range list)."""
        return self.model_inputs(metas, cues, extra)[0]

    def predict(
        self, metas: list[PostMeta], cues: Optional[list[Optional[dict]]] = None,
        extra: Optional[Mapping[str, np.ndarray]] = None,
    ) -> np.ndarray:
        """The predicted label (manifest['label']) for each post, float64 [N]. Cues are used only when the
        model was trained with them. `extra`: the caption / frames / audio arrays a multimodal or video
        bundle reads (engine.features.inputs computes them). Inputs outside the model's training
        ranges are clipped (model_inputs). Raises InputError for impossible metadata or missing extra
        inputs, BundleError when the model outputs NaN or infinity."""
        if not metas:
            return np.zeros(0, np.float64)
        return self.run(self.model_inputs(metas, cues, extra)[0])

    @property
    def label(self) -> dict:
        return self.manifest["label"]

    def percentile(self, pred: float) -> float:
        """Where a prediction falls among the training posts' out-of-fold predictions, 0-100."""
        return float(self.percentiles(np.array([float(pred)]))[0])

    def percentiles(self, preds: np.ndarray) -> np.ndarray:
        """percentile() of each prediction, in one call (float64 [N])."""
        q = self.manifest["score"]["quantiles"]
        levels = np.linspace(0.0, 100.0, len(q))
        return np.round(np.clip(_interp_sorted(np.asarray(preds, np.float64), q, levels), 0.0, 100.0), 2)

    def viral_probability(self, pred: float) -> Optional[float]:
        """The share of training posts with a similar out-of-fold prediction that were in the top quarter
        (0-1), or None when the bundle has no calibration table."""
        cal = self.manifest.get("calibration")
        if not cal or not cal.get("bin_mean_prediction"):
            return None
        return round(_interp_sorted(float(pred), cal["bin_mean_prediction"], cal["share_top25"]), 4)

    def view_range(self, pred: float) -> Optional[tuple[float, float]]:
        """A likely view count range (25th-75th percentile of held-out errors around the prediction),
        or None when the label cannot be turned back into views (e.g. SMP-Video's popularity)."""
        vr = self.manifest.get("view_range") or {}
        if not vr.get("available") or self.label.get("transform") != "log1p":
            return None
        lo, hi = float(pred) + vr["residual_q25"], float(pred) + vr["residual_q75"]
        return (max(0.0, math.expm1(lo)), max(0.0, math.expm1(hi)))

    def __repr__(self) -> str:
        return f"ModelBundle({self.name!r}, {self.provider}, {self.path})"


def write_bundle(out_dir: str | os.PathLike, onnx_files: Mapping[str, bytes], manifest: dict,
                 attachments: Optional[Mapping[str, bytes]] = None) -> Path:
    """Write a bundle folder: the files, then manifest.json with their sha256s filled in. `attachments`
    (report.json, plots as .png) are written beside them and listed under manifest['attachments'];
    loading never reads them.

    Everything is written into a temporary folder beside out_dir and renamed into place, so a killed
    training never leaves half a bundle; an existing bundle at out_dir is replaced whole."""
    out_dir = Path(out_dir)
    if not onnx_files:
        raise BundleError("a bundle needs at least one .onnx file")
    for name in onnx_files:
        _check_file_name(name)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    manifest = dict(manifest)
    manifest.setdefault("format_version", BUNDLE_FORMAT_VERSION)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        files = {}
        for name, data in sorted(onnx_files.items()):
            (tmp / name).write_bytes(data)
            files[name] = {"sha256": sha256_bytes(data), "bytes": len(data)}
        manifest["files"] = files
        if attachments:
            listed = {}
            for name, data in sorted(attachments.items()):
                if name != PurePosixPath(name).name or not name.endswith(_ATTACHMENT_SUFFIXES) or name in files \
                        or name == MANIFEST:
                    raise BundleError(f"unacceptable attachment name '{name}'")
                (tmp / name).write_bytes(data)
                listed[name] = {"sha256": sha256_bytes(data), "bytes": len(data)}
            manifest["attachments"] = listed
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        for p in tmp.iterdir():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o755)
        old = None
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
            old.rmdir()
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
