"""Audio file I/O: load or stream any WAV/FLAC/OGG as 16 kHz int16 mono, save WAV atomically.

Every problem with a file raises :class:`kws.errors.KwsError` with one line that names the
file and the problem, so the CLI can report it as is.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from kws.errors import KwsError
from kws.fileio import write_atomic

DEFAULT_SAMPLE_RATE = 16000
# Longer files are refused: a wrong file (an hour-long recording) would otherwise eat memory.
DEFAULT_MAX_SECONDS = 600.0
# Samples read per block when streaming: 4 s at 16 kHz, a few hundred kB in flight.
DEFAULT_BLOCK_SAMPLES = 65536

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


@dataclass(frozen=True)
class _Source:
    """A checked audio file: its header passed every test that needs no decoding."""

    path: Path
    rate: int
    channels: int
    frames: int
    # 16-bit PCM at the target rate: read as int16, returned sample for sample.
    exact: bool

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def _open_source(path: str | os.PathLike[str], sample_rate: int) -> _Source:
    """Check ``path`` (exists, non-empty, readable header, not truncated, has samples)."""
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
    exact = info.samplerate == sample_rate and info.subtype == "PCM_16"
    return _Source(p, info.samplerate, info.channels, info.frames, exact)


def _mono_block(src: _Source, data: np.ndarray) -> np.ndarray:
    """One block ``[frames, channels]`` as mono: int16 (exact files) or float64."""
    if src.exact:
        if data.shape[1] == 1:
            return np.ascontiguousarray(data[:, 0])
        # a mean of int16 values stays in range
        return np.round(data.astype(np.float64).mean(axis=1)).astype(np.int16)
    if not np.all(np.isfinite(data)):
        raise KwsError(f"{src.path}: contains NaN or infinite samples")
    return data.mean(axis=1)


def _decode_blocks(src: _Source, sample_rate: int, block_samples: int) -> Iterator[np.ndarray]:
    """int16 mono blocks of ``src`` at ``sample_rate``; soxr's stream resampler gives the
    same samples as one-shot :func:`resample` on the whole file, whatever the block size."""
    resampler = None
    if src.rate != sample_rate:
        import soxr

        resampler = soxr.ResampleStream(src.rate, sample_rate, 1, dtype="float64", quality="HQ")
    dtype = "int16" if src.exact else "float64"
    total = 0
    with _sound_file(src.path) as f:
        while True:
            try:
                data = f.read(block_samples, dtype=dtype, always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise KwsError(
                    f"{src.path}: truncated or corrupt audio data ({_reason(exc)})"
                ) from None
            if len(data) == 0:
                break
            total += len(data)
            mono = _mono_block(src, data)
            if resampler is not None:
                mono = resampler.resample_chunk(mono, last=False)
            if len(mono):
                yield mono if src.exact else float_to_int16(mono)
    if total == 0:
        raise KwsError(f"{src.path}: no audio samples (empty or truncated)")
    if total < src.frames:
        raise KwsError(
            f"{src.path}: truncated: header declares {src.frames} samples, file holds {total}"
        )
    if resampler is not None:
        tail = resampler.resample_chunk(np.zeros(0, dtype=np.float64), last=True)
        if len(tail):
            yield float_to_int16(tail)


def _sound_file(path: Path) -> sf.SoundFile:
    try:
        return sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise KwsError(f"{path}: truncated or corrupt audio data ({_reason(exc)})") from None


def iter_audio_blocks(
    path: str | os.PathLike[str],
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    block_samples: int = DEFAULT_BLOCK_SAMPLES,
) -> Iterator[np.ndarray]:
    """Stream an audio file of any length as int16 mono blocks, in constant memory.

    Parameters
    ----------
    path
        WAV, FLAC or OGG/Vorbis file (anything libsndfile reads).
    sample_rate
        Output rate; other rates go through soxr's streaming resampler (high quality).
    block_samples
        Samples read from the file per block (output blocks differ in length when
        resampling).

    Returns
    -------
    Iterator[np.ndarray]
        int16 ``[samples]`` blocks; concatenated they equal :func:`load_audio` of the same
        file sample for sample, whatever ``block_samples`` is.

    Raises
    ------
    KwsError
        The file's header problems at the call; problems found while decoding (corrupt
        data, NaN/inf samples, fewer samples than the header declares) while iterating.
    """
    if block_samples <= 0:
        raise KwsError(f"{path}: block size must be positive, got {block_samples}")
    return _decode_blocks(_open_source(path, sample_rate), sample_rate, block_samples)


def load_audio(
    path: str | os.PathLike[str],
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    *,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
) -> np.ndarray:
    """Load a whole audio file as int16 mono at ``sample_rate``.

    For clips that must be in memory at once (training); stream long recordings with
    :func:`iter_audio_blocks`.

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
    src = _open_source(path, sample_rate)
    if max_seconds is not None and src.seconds > max_seconds:
        raise KwsError(
            f"{src.path}: too long ({src.seconds:.1f} s; the limit is {max_seconds:g} s, "
            "see max_seconds)"
        )
    blocks = list(_decode_blocks(src, sample_rate, src.frames))
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


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
    write_atomic(p, lambda f: sf.write(f, a, sample_rate, format="WAV", subtype="PCM_16"))
    return p


def _reason(exc: BaseException) -> str:
    """libsndfile's message without the repeated file name, on one line."""
    text = str(exc).replace("\n", " ").strip()
    if ":" in text and text.startswith("Error opening"):
        text = text.split(":", 1)[1].strip()
    if text.startswith("Error :"):
        text = text[len("Error :") :].strip()
    return text or type(exc).__name__


__all__ = [
    "DEFAULT_BLOCK_SAMPLES",
    "DEFAULT_MAX_SECONDS",
    "float_to_int16",
    "iter_audio_blocks",
    "load_audio",
    "resample",
    "save_wav",
]
