"""A local HTTP server (127.0.0.1 only) for the videos: /video/<id>.mp4 (what yt-dlp is pointed at) and
/cdn/<id>.mp4 (the items' download address, TikTokApi's fallback). Per-id behaviour:
"ok", "broken" (always the first half of the file: a truncated mp4), "broken:N" (truncated for the first
N requests, then whole), "404" (yt-dlp's address answers 404; the CDN one works), "gone" (404 on both)."""
from __future__ import annotations

import http.server
import re
import threading
from pathlib import Path


class VideoServer:
    def __init__(self, video: Path):
        self.data = Path(video).read_bytes()
        self.behaviour: dict[str, str] = {}
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                m = re.fullmatch(r"/(video|cdn)/(\w+)\.mp4", self.path.split("?")[0])
                if not m:
                    return self.send_error(404)
                kind, pid = m.groups()
                with server.lock:
                    server.hits[pid] = server.hits.get(pid, 0) + 1
                    n = server.hits[pid]
                mode = server.behaviour.get(pid, "ok")
                if mode == "gone" or (mode == "404" and kind == "video"):
                    return self.send_error(404)
                body = server.data
                if mode == "broken" or (mode.startswith("broken:") and n <= int(mode.split(":")[1])):
                    body = body[: len(body) // 2]
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
