"""The Score page's video player (issue 11 §4).

With Qt Multimedia (in PySide6-Addons, the optional `player` extra: `pip install virality-studio[player]`) it
plays the file with sound. Without it, the fallback steps through frames from our own decoder (engine.media),
decoded once in a worker at up to FALLBACK_FPS frames a second, silent. Both answer seek(seconds), so a click on
the cue timeline or on a frame of the strip jumps there, and both report the position for the timeline's marker.
play_span(start, end) plays one part (a clip on the Clips page) and pauses at its end; Play plays it again.
"""
from __future__ import annotations

import bisect
from typing import Optional

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget

from .widgets import to_pixmap

FALLBACK_FPS = 10.0
FALLBACK_MAX_FRAMES = 240
FALLBACK_SIDE = 360
SPAN_SLACK = 0.05  # s: a seek this close outside a span still keeps to it


def multimedia_available() -> bool:
    try:
        from PySide6 import QtMultimedia, QtMultimediaWidgets  # noqa: F401
    except ImportError:
        return False
    return True


def fallback_times(duration: float, fps: float = FALLBACK_FPS, most: int = FALLBACK_MAX_FRAMES) -> list[float]:
    """The times the fallback decodes: every 1/fps s, fewer for long videos (at most `most`)."""
    if duration <= 0:
        return [0.0]
    n = max(1, min(most, int(duration * fps)))
    step = duration / n
    return [round(i * step, 4) for i in range(n)]


def decode_for_player(path: str, duration: float, progress=None, cancel=None) -> list:
    """A job function: [(time, RGB array)] for the fallback player."""
    from engine import media

    times = fallback_times(duration)
    frames = media.sample_frames(path, [(t, FALLBACK_SIDE) for t in times])
    if cancel is not None:
        cancel.raise_if_cancelled()
    return [(f.time_s, f.image) for f in frames]


def _fmt(t: float) -> str:
    t = max(0.0, t)
    return f"{int(t // 60)}:{t % 60:04.1f}"


class _FrameView(QLabel):
    """Shows a pixmap scaled to fit, keeping its aspect; a video widget's stand-in."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignCenter)
        self.setObjectName("player")
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
        self._pm = None

    def set_image(self, pm) -> None:
        self._pm = pm
        if pm is None:
            self.clear()
        self._fit()

    def resizeEvent(self, e) -> None:  # noqa: N802
        super().resizeEvent(e)
        self._fit()

    def _fit(self) -> None:
        if self._pm is None or self._pm.isNull():
            return  # a message (setText) or nothing: keep it
        super().setPixmap(self._pm.scaled(self.size(), Qt.KeepAspectRatio, Qt.SmoothTransformation))

    def sizeHint(self) -> QSize:
        return QSize(360, 240)


class VideoPlayer(QWidget):
    """Play / pause, a position slider and the time; seek(seconds) from anywhere."""

    position_changed = Signal(float)  # seconds

    def __init__(self, runner=None, parent=None, use_multimedia: Optional[bool] = None):
        super().__init__(parent)
        self.runner = runner
        self.multimedia = multimedia_available() if use_multimedia is None else use_multimedia
        self.path: Optional[str] = None
        self.duration = 0.0
        self._pos = 0.0
        self.span: Optional[tuple[float, float]] = None  # (start, end) play_span keeps to, or None: the whole video
        self._pausing = False
        self._pending_ms: Optional[int] = None  # a seek asked for while Qt Multimedia was still loading the file
        self._frames: list = []  # fallback: [(time, RGB array)]
        self._times: list[float] = []
        self.job = None
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(6)
        if self.multimedia:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
            from PySide6.QtMultimediaWidgets import QVideoWidget

            self.view = QVideoWidget()
            self.view.setMinimumSize(160, 120)
            # the layout sizes the view, not the video's own size (a 1080x1920 clip would ask for 1920 px)
            self.view.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
            self.media = QMediaPlayer(self)
            self.audio = QAudioOutput(self)
            self.media.setAudioOutput(self.audio)
            self.media.setVideoOutput(self.view)
            self.media.positionChanged.connect(lambda ms: self._media_moved(ms / 1000.0))
            self.media.durationChanged.connect(lambda ms: ms > 0 and self._set_duration(ms / 1000.0))
            self.media.playbackStateChanged.connect(lambda _s: self._sync_button())
            self.media.mediaStatusChanged.connect(self._media_status)
        else:
            self.view = _FrameView()
            self.view.setText("The video plays here.")
            self.media = None
            self._timer = QTimer(self, interval=int(1000 / FALLBACK_FPS))
            self._timer.timeout.connect(self._tick)
        col.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.play_button = QPushButton("Play")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.toggle)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setEnabled(False)
        self.slider.setAccessibleName("Position in the video")
        self.slider.sliderMoved.connect(lambda v: self.seek(v / 1000.0))
        self.slider.valueChanged.connect(lambda v: self.slider.isSliderDown() or abs(v / 1000.0 - self._pos) > 0.05
                                         and self.seek(v / 1000.0))
        self.time_label = QLabel("0:00.0")
        self.time_label.setObjectName("muted")
        self.time_label.setMinimumWidth(90)
        row.addWidget(self.play_button)
        row.addWidget(self.slider, 1)
        row.addWidget(self.time_label)
        col.addLayout(row)
        self.note = QLabel("" if self.multimedia else "Silent preview (install the 'player' extra for sound)")
        self.note.setObjectName("muted")
        self.note.setVisible(not self.multimedia)
        col.addWidget(self.note)

    # ------------------------------------------------------------------ API
    def load(self, path: str, duration: float = 0.0) -> None:
        self.stop()
        self.path, self._pos, self.span = str(path), 0.0, None
        self._frames, self._times = [], []
        self._set_duration(duration)
        if self.multimedia:
            self.media.setSource(QUrl.fromLocalFile(self.path))
            self.media.pause()  # paused, not stopped: the first frame shows instead of an empty area
            self.play_button.setEnabled(True)
        else:
            self.view.set_image(None)
            self.view.setText("Decoding a preview…")
            if self.job is not None and self.job.running:
                self.job.cancel()
            if self.runner is not None and duration > 0:
                job = self.runner.submit(decode_for_player, self.path, duration, name="preview")
                self.job = job
                job.on_result(lambda frames, j=job: j is self.job and self._got_frames(frames))
                job.on_error(lambda msg, j=job: j is self.job and self.view.setText("No preview: " + msg))

    def clear(self) -> None:
        self.stop()
        if self.job is not None and self.job.running:
            self.job.cancel()
        self.job = None
        self.path, self._frames, self._times, self.span = None, [], [], None
        self._set_duration(0.0)
        self.play_button.setEnabled(False)
        if self.multimedia:
            self.media.setSource(QUrl())
        else:
            self.view.set_image(None)
            self.view.setText("The video plays here.")

    def position(self) -> float:
        return self._pos

    @property
    def playing(self) -> bool:
        if self.multimedia:
            from PySide6.QtMultimedia import QMediaPlayer

            return self.media.playbackState() == QMediaPlayer.PlayingState
        return self._timer.isActive()

    def seek(self, seconds: float) -> None:
        """Move to `seconds`; a move outside the span (the slider, say) lets the whole video play on."""
        t = max(0.0, min(float(seconds), self.duration or float(seconds)))
        if self.span is not None and not self.span[0] - SPAN_SLACK <= t <= self.span[1] + SPAN_SLACK:
            self.span = None
        if self.multimedia:
            from PySide6.QtMultimedia import QMediaPlayer

            # while the file loads Qt drops a seek (and would play from 0): it is made once the file is loaded
            loading = self.media.mediaStatus() == QMediaPlayer.LoadingMedia
            self._pending_ms = int(t * 1000) if loading else None
            self.media.setPosition(int(t * 1000))
        self._moved(t)

    def toggle(self) -> None:
        if self.playing:
            self.stop()
        else:
            self.play()

    def play_span(self, start: float, end: float, at: Optional[float] = None) -> None:
        """Play from `at` (the start by default) and pause at `end`; Play then plays the span again."""
        self.set_span(start, end)
        self.seek(start if at is None else min(max(at, self.span[0]), self.span[1]))
        self.play()

    def set_span(self, start: float, end: float) -> None:
        """Keep playback between start and end (seconds) from now on, without moving."""
        start = max(0.0, float(start))
        self.span = (start, max(start, float(end)))

    def play(self) -> None:
        start, end = self._bounds()
        if self._pos >= end - 1e-3 or self._pos < start - SPAN_SLACK:  # at the end (or before a span): again
            self.seek(start)
        if self.multimedia:
            self.media.play()
        elif self._frames:
            self._timer.start()
        self._sync_button()

    def stop(self) -> None:
        if self.multimedia:
            self.media.pause()
        else:
            self._timer.stop()
        self._sync_button()

    # ------------------------------------------------------------------ inside
    def _bounds(self) -> tuple[float, float]:
        """Where playback starts again and where it pauses: the span, or the whole video."""
        if self.span is not None:
            return self.span[0], min(self.span[1], self.duration) if self.duration > 0 else self.span[1]
        return 0.0, self.duration

    def _set_duration(self, d: float) -> None:
        self.duration = max(0.0, float(d))
        self.slider.blockSignals(True)
        self.slider.setRange(0, int(self.duration * 1000))
        self.slider.blockSignals(False)
        self.slider.setEnabled(self.duration > 0)

    def _got_frames(self, frames: list) -> None:
        self._frames = frames
        self._times = [t for t, _ in frames]
        self.play_button.setEnabled(bool(frames))
        self._moved(self._pos)

    def _tick(self) -> None:
        end = self._bounds()[1]
        nxt = self._pos + 1.0 / FALLBACK_FPS
        if nxt >= end:
            self._timer.stop()
            self._sync_button()
            nxt = end
        self._moved(nxt)

    def _media_status(self, status) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        if self._pending_ms is not None and status != QMediaPlayer.LoadingMedia:
            ms, self._pending_ms = self._pending_ms, None
            if status in (QMediaPlayer.LoadedMedia, QMediaPlayer.BufferingMedia, QMediaPlayer.BufferedMedia):
                self.media.setPosition(ms)

    def _media_moved(self, t: float) -> None:
        """Qt Multimedia's position while it plays: past the span's end, pause there. Until a seek asked for while
        the file loaded has been made, the position reported stays the one asked for."""
        if self._pending_ms is not None:
            return
        end = self._bounds()[1]
        if self.span is not None and t >= end - 1e-3 and self.playing and not self._pausing:
            self._pausing = True  # setPosition reports the position again, maybe before the state has changed
            try:
                self.media.pause()
                self.media.setPosition(int(round(end * 1000)))
            finally:
                self._pausing = False
            t = end
        self._moved(t)

    def _moved(self, t: float) -> None:
        self._pos = t
        self.slider.blockSignals(True)
        self.slider.setValue(int(t * 1000))
        self.slider.blockSignals(False)
        self.time_label.setText(f"{_fmt(t)} / {_fmt(self.duration)}")
        if not self.multimedia and self._frames:
            i = max(0, bisect.bisect_right(self._times, t + 1e-6) - 1)
            self.view.set_image(to_pixmap(self._frames[i][1]))
            self.shown_time = self._times[i]
        self.position_changed.emit(t)

    def _sync_button(self) -> None:
        self.play_button.setText("Pause" if self.playing else "Play")
