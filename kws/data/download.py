"""Optional download of the official Speech Commands archive (never run on import)."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from kws.errors import KwsError

SPEECH_COMMANDS_URLS = {
    1: "http://download.tensorflow.org/data/speech_commands_v0.01.tar.gz",
    2: "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
}
_CHUNK = 1 << 20


def download_speech_commands(
    dest: str | os.PathLike[str],
    version: int = 2,
    *,
    url: str | None = None,
    progress: bool = True,
) -> Path:
    """Download and extract Speech Commands into ``dest`` (which must not exist yet).

    The archive is streamed to a temporary file beside ``dest``, checked to be a gzip'd tar,
    extracted into a temporary folder and renamed to ``dest`` only when complete.

    Parameters
    ----------
    dest
        Folder to create.
    version
        1 or 2 (v0.01 / v0.02).
    url
        Override the archive address (e.g. a local mirror or ``file://`` path).
    progress
        Show a rich progress bar.
    """
    target = Path(dest)
    if target.exists():
        raise KwsError(f"{target}: already exists; remove it or choose another folder")
    if url is None:
        if version not in SPEECH_COMMANDS_URLS:
            raise KwsError(f"unknown Speech Commands version {version} (expected 1 or 2)")
        url = SPEECH_COMMANDS_URLS[version]
    parent = target.parent if str(target.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    fd, archive = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tar.gz", dir=parent)
    workdir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        with os.fdopen(fd, "wb") as out:
            _fetch(url, out, progress)
        with open(archive, "rb") as f:
            if f.read(2) != b"\x1f\x8b":
                raise KwsError(f"{url}: not a gzip archive")
        try:
            if not tarfile.is_tarfile(archive):
                raise KwsError(f"{url}: not a tar archive")
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(workdir, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise KwsError(f"{url}: corrupt or truncated archive ({exc})") from None
        os.replace(workdir, target)
    finally:
        Path(archive).unlink(missing_ok=True)
        if workdir.exists():
            shutil.rmtree(workdir, ignore_errors=True)
    return target


def _fetch(url: str, out, progress: bool) -> None:
    try:
        response = urllib.request.urlopen(url, timeout=60)
    except (OSError, ValueError) as exc:
        raise KwsError(f"{url}: download failed ({exc})") from None
    with response:
        total = int(response.headers.get("Content-Length") or 0) or None
        if not progress:
            shutil.copyfileobj(response, out, _CHUNK)
            return
        from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

        with Progress(
            *Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task(f"downloading {url.rsplit('/', 1)[-1]}", total=total)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                bar.advance(task, len(chunk))
