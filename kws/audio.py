"""Audio file I/O: load any WAV/FLAC/OGG as 16 kHz int16 mono, save WAV atomically.

Every problem with a file raises :class:`kws.errors.KwsError` with one line that names the
file and the problem, so the CLI can report it as is.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from kws.errors import KwsError

DEFAULT_SAMPLE_RATE = 16000
# Longer files are refused: a wrong file (an hour-long recording) would otherwise eat memory.
DEFAULT_MAX_SECONDS = 600.0

_INT16_SCALE = 32768.0


def _riff_truncation(path: Path, file_size: int) -> str | None:
    """Why a RIFF/WAVE file is truncated, or None.

    libsndfile silently shortens a WAV whose ``data`` chunk claims more bytes than the file
    holds, so the header is checked here.
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        offset = 12
        while True:
            f.seek(offset)
            chunk = f.read(8)
            if len(chunk) < 8:
                return None  # no data chunk found; libsndfile reports that itself
            chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            body = offset + 8
            if chunk_id == b"data":
                # 0 and 0xFFFFFFFF mark a header written before the length was known (streams).
                if size in (0, 0xFFFFFFFF):
                    return None
                available = file_size - body
                if size > available:
                    return (
                        f"truncated: header declares {size} bytes of audio, file holds {available}"
                    )
                return None
            offset = body + size + (size & 1)


def load_audio(
    path: str | os.PathLike[str],
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    *,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
) -> np.ndarray:
    """Load an audio file as int16 mono at ``sample_rate``.

    Parameters
    ----------
    path
        WAV, FLAC or OGG/Vorbis file (anything libsndfile reads).
    sample_rate
        Output rate; other rates are resampled with soxr (high quality).
    max_seconds
        Refuse files longer than this (None: no limit).

    Returns
    -------
    np.ndarray
        int16 ``[samples]``.  Multi-channel audio is averaged to mono; float audio is
        scaled by 32768 and clipped to the int16 range.  A 16-bit file already at
        ``sample_rate`` with one channel is returned sample for sample.

    Raises
    ------
    KwsError
        Missing, empty, unreadable, truncated, oversized files and NaN/inf samples.
    """
    p = Path(path)
    if not p.exists():
        raise KwsError(f"{p}: file not found")
    if p.is_dir():
        raise KwsError(f"{p}: is a directory, not an audio file")
    file_size = p.stat().st_size
    if file_size == 0:
        raise KwsError(f"{p}: empty file (0 bytes)")
    if sample_rate <= 0:
        raise KwsError(f"{p}: invalid target sample rate {sample_rate}")
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError) as exc:
        reason = _reason(exc)
        if "malformed" in reason or "decoder" in reason:
            # libsndfile knows the format but cannot parse it: a cut or damaged file.
            raise KwsError(f"{p}: truncated or corrupt audio data ({reason})") from None
        raise KwsError(f"{p}: unreadable or unsupported audio format ({reason})") from None
    if info.samplerate <= 0 or info.channels <= 0:
        raise KwsError(f"{p}: corrupt header ({info.samplerate} Hz, {info.channels} channels)")
    if info.format == "WAV" or info.format == "WAVEX":
        truncated = _riff_truncation(p, file_size)
        if truncated:
            raise KwsError(f"{p}: {truncated}")
    if info.frames <= 0:
        raise KwsError(f"{p}: no audio samples (empty or truncated)")
    seconds = info.frames / info.samplerate
    if max_seconds is not None and seconds > max_seconds:
        raise KwsError(
            f"{p}: too long ({seconds:.1f} s; the limit is {max_seconds:g} s, see max_seconds)"
        )

    exact = info.samplerate == sample_rate and info.subtype == "PCM_16"
    try:
        with sf.SoundFile(str(p)) as f:
            data = f.read(dtype="int16" if exact else "float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise KwsError(f"{p}: truncated or corrupt audio data ({_reason(exc)})") from None
    if len(data) == 0:
        raise KwsError(f"{p}: no audio samples (empty or truncated)")
    if len(data) < info.frames:
        raise KwsError(
            f"{p}: truncated: header declares {info.frames} samples, file holds {len(data)}"
        )

    if exact:
        if data.shape[1] == 1:
            return np.ascontiguousarray(data[:, 0])
        mono = np.round(data.astype(np.float64).mean(axis=1))
        return mono.astype(np.int16)  # a mean of int16 values stays in range

    if not np.all(np.isfinite(data)):
        raise KwsError(f"{p}: contains NaN or infinite samples")
    mono = data.mean(axis=1)
    if info.samplerate != sample_rate:
        mono = resample(mono, info.samplerate, sample_rate)
    return float_to_int16(mono)


def resample(audio: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample float audio with soxr's high-quality filter (float64 in, float64 out)."""
    if orig_rate == target_rate:
        return np.asarray(audio, dtype=np.float64)
    import soxr

    return np.asarray(
        soxr.resample(np.asarray(audio, dtype=np.float64), orig_rate, target_rate, quality="HQ"),
        dtype=np.float64,
    )


def float_to_int16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1) to int16: scale by 32768, round, clip."""
    scaled = np.round(np.asarray(audio, dtype=np.float64) * _INT16_SCALE)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def save_wav(
    path: str | os.PathLike[str], audio: np.ndarray, sample_rate: int = DEFAULT_SAMPLE_RATE
) -> Path:
    """Write ``audio`` as a 16-bit PCM WAV, atomically (temp file in the same folder, then rename).

    Parameters
    ----------
    path
        Destination; its folder must exist.
    audio
        int16 ``[samples]`` or ``[samples, channels]``; float input is taken as [-1, 1)
        and converted with :func:`float_to_int16`.
    sample_rate
        Rate written into the header.

    Returns
    -------
    Path
        ``path``.
    """
    p = Path(path)
    a = np.asarray(audio)
    if a.ndim not in (1, 2) or a.size == 0:
        raise KwsError(f"{p}: cannot save audio of shape {a.shape} (need non-empty 1-D or 2-D)")
    if sample_rate <= 0:
        raise KwsError(f"{p}: cannot save audio at sample rate {sample_rate}")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise KwsError(f"{p}: cannot save audio containing NaN or infinite samples")
        a = float_to_int16(a)
    elif a.dtype != np.int16:
        if a.dtype.kind not in "iu" or a.min() < -32768 or a.max() > 32767:
            raise KwsError(f"{p}: cannot save {a.dtype} samples as 16-bit audio")
        a = a.astype(np.int16)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise KwsError(f"{p}: folder {parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    try:
        sf.write(tmp, a, sample_rate, format="WAV", subtype="PCM_16")
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def _reason(exc: BaseException) -> str:
    """libsndfile's message without the repeated file name, on one line."""
    text = str(exc).replace("\n", " ").strip()
    if ":" in text and text.startswith("Error opening"):
        text = text.split(":", 1)[1].strip()
    if text.startswith("Error :"):
        text = text[len("Error :") :].strip()
    return text or type(exc).__name__


__all__ = ["DEFAULT_MAX_SECONDS", "float_to_int16", "load_audio", "resample", "save_wav"]
