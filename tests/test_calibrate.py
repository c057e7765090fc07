"""Detector calibration on streams (``kws.wakeword``: streams, sweep, calibrate, report) and
``kws calibrate``.

The model is TFLM's micro_speech (a real yes/no recogniser) with a model.json, so the streams'
detections are real; the firmware's C application built for the host (``kws.host_app``) is
the reference the Python mirror of its detection rule must equal."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from support.detection import expected_detections
from support.micro_speech import FIXTURES, SAMPLE, micro_speech_model

from kws import protocol
from kws.cli import main
from kws.detector import DetectorSettings
from kws.errors import KwsError
from kws.wakeword.calibrate import sweep_input
from kws.wakeword.streams import SAMPLE_RATE, negative_stream, positive_stream
from kws.wakeword.sweep import (
    Candidate,
    RuleMirror,
    choose,
    keyword_mask,
    sweep,
)

NOISE = SAMPLE / "_background_noise_"
# yes clips micro_speech recognises in pink noise 20 dB below them (see test_simulate)
YES_CLIPS = [FIXTURES / "yes_1000ms.wav", SAMPLE / "yes" / "0fa1e7a9_nohash_0.wav"]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return micro_speech_model(tmp_path_factory.mktemp("micro_speech"))


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv("KWS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "kws-cache"))


def _score(app, blocks):
    from kws.wakeword.scoring import score_stream

    return score_stream(app, blocks)


def test_negative_stream_is_deterministic_long_enough_and_rendered_in_pieces() -> None:
    speech = [SAMPLE / "bed", SAMPLE / "bird"]
    stream = negative_stream(speech, [NOISE / "pink_noise.wav"], hours=0.05, seed=3)
    assert stream.seconds >= 0.05 * 3600
    summary = stream.summary()
    assert summary["music_seconds"] > 0 and summary["speech_seconds"] > 0
    assert summary["babble_seconds"] > 0
    assert summary["noise_seconds"] > 0 and summary["gap_seconds"] > 0
    # the sources hold less than the stream: they were reused, and the count says so
    assert summary["unique_seconds"] < summary["seconds"]
    blocks = list(stream.blocks())
    assert all(b.dtype == np.int16 and len(b) <= 30 * SAMPLE_RATE for b in blocks)
    audio = np.concatenate(blocks)
    assert len(audio) == stream.samples
    again = np.concatenate(list(negative_stream(speech, [NOISE / "pink_noise.wav"],
                                                hours=0.05, seed=3).blocks()))
    assert np.array_equal(audio, again)
    other = np.concatenate(list(negative_stream(speech, [NOISE / "pink_noise.wav"],
                                                hours=0.05, seed=4).blocks()))
    assert not np.array_equal(audio[:len(other)], other[:len(audio)])
    for start, end in ((0.0, 1.0), (37.25, 71.5), (stream.seconds - 2, stream.seconds)):
        a, b = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
        assert np.array_equal(stream.excerpt(start, end), audio[a:b])
    # parts (one per worker process) are the stream cut in order, of similar length
    parts = stream.parts(3)
    assert len(parts) == 3 and parts[0].offset_s == 0
    assert np.array_equal(np.concatenate([b for p in parts for b in p.blocks()]), audio)
    assert [p.offset_s for p in parts[1:]] == pytest.approx(
        np.cumsum([p.seconds for p in parts[:-1]]).tolist())
    assert max(p.seconds for p in parts) < 0.5 * stream.seconds


def test_negative_stream_noise_files_fill_at_most_their_share() -> None:
    # One speech folder (~40 clips) beside minutes of noise files: without the cap most of
    # the stream would be noise.
    stream = negative_stream([SAMPLE / "bed"], [NOISE], hours=0.1, seed=1)
    summary = stream.summary()
    assert summary["noise_seconds"] <= 0.3 * summary["seconds"] + 30.0
    assert summary["speech_seconds"] > 0.3 * summary["seconds"]
    free = negative_stream([SAMPLE / "bed"], [NOISE], hours=0.1, seed=1, noise_share=1.0)
    assert free.summary()["noise_seconds"] > 2 * summary["noise_seconds"]
    # Noise alone is still a stream.
    only = negative_stream([], [NOISE], hours=0.02, seed=1)
    assert only.summary()["noise_seconds"] > 0.7 * only.summary()["seconds"]  # not capped


def test_negative_stream_is_never_whole_in_memory() -> None:
    """Five times the stream, the same peak: blocks are rendered one segment at a time."""
    import tracemalloc

    peaks = []
    for hours in (0.05, 0.25):
        stream = negative_stream([SAMPLE / "bed"], [NOISE], hours=hours, seed=0)
        tracemalloc.start()
        total = sum(len(block) for block in stream.blocks())
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert total == stream.samples
    assert peaks[1] - peaks[0] < 4_000_000, peaks
    assert peaks[1] < 0.5 * 2 * 0.25 * 3600 * SAMPLE_RATE  # half the int16 stream


def test_rule_mirror_equals_the_documented_rule_on_random_scores() -> None:
    """Cheap and wide: every count/threshold/suppression corner against the step-by-step
    replay of score_average.c (tests/support/detection.py)."""
    rng = np.random.default_rng(0)
    labels = ["_silence_", "_unknown_", "yes", "no"]
    for case in range(60):
        n = int(rng.integers(0, 120))
        scores = rng.integers(-128, 128, (n, 4)).astype(np.int8)
        if case % 3 == 0:  # ties between keyword labels
            scores[:, 3] = scores[:, 2]
        frames = np.arange(1, n + 1, dtype=np.uint32) * 10
        mirror = RuleMirror(scores, keyword_mask(labels))
        for count, q, sup in ((1, 0, 0), (3, -20, 5), (8, 40, 2), (150, -128, 1), (2, 127, 0)):
            cfg = {"labels": labels, "average_count": count, "threshold_q": q,
                   "suppress_inferences": sup}
            want = expected_detections([protocol.Scores(int(f), s)
                                        for f, s in zip(frames, scores, strict=True)], cfg)
            got = mirror.detections(count, q, sup).as_list(frames)
            assert got == want, (case, count, q, sup)


def test_rule_mirror_equals_the_c_app_on_a_real_stream(model: Path) -> None:
    """The C application, built with several settings, on a stream of real words, noise
    and music: its detections (frame, label, average) are the mirror's on the scores of one
    run."""
    from kws.host_app import HostApp

    stream = negative_stream([SAMPLE / "yes", SAMPLE / "no", SAMPLE / "bed"], [NOISE],
                             hours=0.03, seed=1)
    app = HostApp.from_model(model)
    scored = _score(app, stream.blocks())
    assert len(scored.frames) > 500
    mirror = RuleMirror(scored.scores, keyword_mask(app.labels))
    counts = []
    for count, threshold, sup in ((1, 0.5, 0), (2, 0.55, 1), (3, 0.6, 5), (6, 0.8, 10)):
        settings = DetectorSettings(count, threshold, sup, app.settings.stride_frames)
        c_app = HostApp.from_model(model, settings)
        q = int(c_app.project["threshold_q"])
        assert q == settings.threshold_q(app.project["output_scale"],
                                         app.project["output_zero_point"])
        c_run = _score(c_app, stream.blocks())
        assert np.array_equal(c_run.scores, scored.scores)  # scores do not depend on them
        assert c_run.detections == mirror.detections(count, q, sup).as_list(scored.frames)
        counts.append(len(c_run.detections))
    assert counts[0] > counts[-1] > 0, counts  # real detections, fewer when stricter


@pytest.fixture(scope="module")
def planted(model: Path):
    """Six real yes words planted in pink noise at 20 dB SNR, scored by the app."""
    from kws.host_app import HostApp

    stream = positive_stream(YES_CLIPS * 3, "yes", [NOISE / "pink_noise.wav"],
                             snr_db=(20.0, 20.0), seed=2)
    app = HostApp.from_model(model)
    return stream, app, _score(app, stream.blocks())


def test_planted_words_are_counted(planted) -> None:
    """The positive stream as its own negatives: every planted word is found once, and
    counted as a false accept per word (FA/h = planted / hours)."""
    stream, app, scored = planted
    assert len(stream.words) == 6
    assert all(b.start_s < a.start_s for a, b in zip(stream.words[1:], stream.words,
                                                     strict=False))
    q = app.settings.threshold_q(app.project["output_scale"], app.project["output_zero_point"])
    data = sweep_input(app, scored, scored, stream.words, app.labels.index("yes"))
    s = app.settings
    (candidate,) = sweep(data, [s.average_count], [s.suppress_inferences], [q])
    assert scored.detections  # the app itself detected the words
    assert candidate.false_accepts == len(scored.detections) == 6
    assert candidate.fa_per_hour == pytest.approx(6 / (scored.seconds / 3600))
    assert candidate.misses == 0 and candidate.frr == 0.0 and candidate.positive_extra == 0
    # Detections of another label find no word: all missed, all extra.
    other = replace(data, wake=app.labels.index("no"))
    (wrong,) = sweep(other, [s.average_count], [s.suppress_inferences], [q])
    assert wrong.misses == 6 and wrong.frr == 1.0 and wrong.positive_extra == 6
    # Words that are not there (windows a minute later) are missed.
    later = replace(data, starts=data.starts + 60.0, ends=data.ends + 60.0)
    (moved,) = sweep(later, [s.average_count], [s.suppress_inferences], [q])
    assert moved.misses == 6 and moved.positive_extra == 6


def _candidate(fa: float, frr: float, average: int = 3, q: int = 50) -> Candidate:
    return Candidate(DetectorSettings(average, 0.7, 5), q, int(fa), fa, int(frr * 100), frr, 0)


def test_choice_meets_the_target_with_the_fewest_misses() -> None:
    pick = [_candidate(0.4, 0.10), _candidate(0.5, 0.05, 4), _candidate(0.2, 0.05, 5),
            _candidate(0.2, 0.05, 2), _candidate(3.0, 0.0)]
    chosen, met = choose(pick, 0.5)
    assert met and chosen.frr == 0.05 and chosen.fa_per_hour == 0.2
    assert chosen.settings.average_count == 2  # ties: lower FA/h, then smaller average
    # At equal misses and false accepts the longer refractory wins.
    short, long = (replace(_candidate(0.0, 0.1), settings=DetectorSettings(3, 0.7, sup))
                   for sup in (3, 15))
    assert choose([short, long], 0.5)[0] is long and choose([long, short], 0.5)[0] is long
    chosen, met = choose([_candidate(2.0, 0.0), _candidate(1.0, 0.5), _candidate(1.0, 0.3)],
                         0.5)
    assert not met and chosen.fa_per_hour == 1.0 and chosen.frr == 0.3
    with pytest.raises(KwsError):
        choose([], 0.5)


def test_kws_calibrate_writes_settings_report_and_model_json(tmp_path: Path, capsys) -> None:
    """End to end: streams (in parts on 2 processes), sweep, choice, confirmation by the C
    app (its detections must equal the mirror's, part by part), report files, and
    model.json's new settings picked up by the host app (what simulate/listen/deploy run)."""
    from kws.host_app import HostApp

    model = micro_speech_model(tmp_path / "model")
    out = tmp_path / "report"
    assert main(["calibrate", "--model", str(model), "--label", "yes",
                 "--positives", *map(str, YES_CLIPS * 4), "--negatives", str(SAMPLE / "bed"),
                 str(SAMPLE / "bird"), "--noise", str(NOISE / "pink_noise.wav"),
                 "--hours", "0.02", "--target-fa-per-hour", "60", "--out", str(out),
                 "--jobs", "2", "--strides", "10", "5", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["positives"] == 8 and summary["hours"] >= 0.02
    assert summary["met"] and summary["fa_per_hour"] <= 60 and summary["frr"] < 1.0
    meta = json.loads(model.with_name("model.json").read_text())
    settings = DetectorSettings.from_meta(meta)
    assert settings.to_dict() == summary["settings"]
    assert meta["calibration"]["target_fa_per_hour"] == 60
    assert HostApp.from_model(model).settings == settings
    from kws.firmware_project.deploy import deploy

    cfg = deploy(model, tmp_path / "fw", "qemu-mps2-an386")
    assert {k: cfg[k] for k in ("average_count", "threshold", "suppress_inferences")} == {
        k: summary["settings"][k] for k in ("average_count", "threshold", "suppress_inferences")}
    assert main(["simulate", "--model", str(model), str(YES_CLIPS[0]), "--json"]) == 0
    simulated = json.loads(capsys.readouterr().out)["settings"]
    assert {k: simulated[k] for k in summary["settings"]} == summary["settings"]
    assert (out / "det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and "<table>" in page
    document = json.loads((out / "calibration.json").read_text())
    assert len(document["curve"]) > 1000 and document["summary"]["frr"] == summary["frr"]
    assert document["details"]["timings"]["jobs"] == 2
    strides = {c["settings"]["stride_frames"] for c in document["curve"]}
    assert strides == {5, 10} and meta.get("stride_frames", 10) == settings.stride_frames
    # the chosen point is the curve's fewest misses within the target
    assert summary["frr"] == round(min(c["frr"] for c in document["curve"]
                                       if c["fa_per_hour"] <= 60), 4)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_calibrate_bad_input_is_one_line(model: Path, tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    base = ["calibrate", "--model", str(model), "--label", "yes", "--hours", "0.01",
            "--out", str(tmp_path / "out")]
    assert main([*base, "--positives", str(tmp_path / "none.wav"), "--negatives",
                 str(SAMPLE / "bed")]) == 2
    assert main([*base, "--positives", str(YES_CLIPS[0]), "--negatives", str(empty)]) == 2
    assert main([*base, "--label", "no_such", "--positives", str(YES_CLIPS[0]),
                 "--negatives", str(SAMPLE / "bed")]) == 2
    # Found only when a worker process reads it: still one line naming the file.
    broken = tmp_path / "broken"
    broken.mkdir()
    samples = np.full(16000, np.nan, np.float32)
    sf.write(broken / "nan.wav", samples, SAMPLE_RATE, subtype="FLOAT")
    assert main([*base, "--jobs", "2", "--positives", str(YES_CLIPS[0]), "--negatives",
                 str(broken), str(SAMPLE / "bed")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("kws: error: ") for line in err)
    assert "none.wav" in err[0] and "empty" in err[1] and "no_such" in err[2]
    assert "nan.wav" in err[3] and "NaN" in err[3]
    assert not (tmp_path / "out").exists()
