"""What the Score page's form remembers, split the way a creator thinks of it (issue 11 §3):

- the account (followers): one set of values, kept between sessions and used for every video, in Batch too;
- the post (caption, planned time, sound): belongs to one video file, empty for a file never seen, and
  remembered per file under a key made of its path, size and modification time (an edited re-export of the
  same name is a new post).

Plain Python and JSON in the user data folder (no Qt), so it is testable and the CLI could read it.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional

KEEP = 500  # posts remembered; the oldest are forgotten first


@dataclass
class PostDetails:
    caption: str = ""
    post_time: Optional[str] = None  # ISO 8601, or None for "not planned"
    sound: str = ""

    @property
    def when(self) -> Optional[datetime]:
        try:
            return datetime.fromisoformat(self.post_time) if self.post_time else None
        except ValueError:
            return None

    def is_empty(self) -> bool:
        return not (self.caption.strip() or self.post_time or self.sound.strip())


@dataclass
class Account:
    followers: str = ""  # as typed ("12k"); parsed by engine.fields.read_count

    def is_empty(self) -> bool:
        return not self.followers.strip()


def file_key(path: str | os.PathLike) -> str:
    """path + size + mtime: the same file keeps its details; a changed or replaced file starts empty."""
    p = Path(path).resolve()
    try:
        st = p.stat()
        return f"{p}|{st.st_size}|{st.st_mtime_ns}"
    except OSError:
        return f"{p}|?|?"


def _store_path() -> Path:
    from engine.models.active import data_dir

    return data_dir() / "post_details.json"


def _read() -> dict:
    try:
        data = json.loads(_store_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(data: dict) -> None:
    path = _store_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # remembering is a convenience; scoring goes on without it


def load_account() -> Account:
    a = _read().get("account") or {}
    return Account(followers=str(a.get("followers", "")))


def save_account(account: Account) -> None:
    data = _read()
    data["account"] = asdict(account)
    _write(data)


def load_post(path: str | os.PathLike) -> PostDetails:
    d = (_read().get("posts") or {}).get(file_key(path))
    if not isinstance(d, dict):
        return PostDetails()
    return PostDetails(caption=str(d.get("caption") or ""), post_time=d.get("post_time") or None,
                       sound=str(d.get("sound") or ""))


def save_post(path: str | os.PathLike, details: PostDetails) -> None:
    data = _read()
    posts = data.get("posts") if isinstance(data.get("posts"), dict) else {}
    key = file_key(path)
    posts.pop(key, None)
    if not details.is_empty():
        posts[key] = asdict(details)  # re-inserted last: dicts keep order, the oldest go first
    while len(posts) > KEEP:
        posts.pop(next(iter(posts)))
    data["posts"] = posts
    _write(data)


def account_meta(account: Optional[Account] = None):
    """The account part alone, as PostMeta (what Batch scores every video with). Raises InputError for a
    follower count that is not a number."""
    from .scoring import make_meta

    account = account or load_account()
    return make_meta(followers=account.followers)


def describe_account(account: Optional[Account] = None) -> str:
    account = account or load_account()
    if account.is_empty():
        return "no account details (enter your follower count on the Score page under Your account)"
    return f"your account: {account.followers.strip()} followers"
