"""The config struct descriptions (kws/features/c_structs.py) against the C headers.

The cdef derived from them is also checked by cffi when ``kws._core`` is built (a field
whose offset or size differs from the compiled struct fails the build)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from kws.features.c_structs import CONFIG_STRUCTS, MFCC_CONFIG, MICRO_FRONTEND_CONFIG
from kws.features.mfcc import MfccConfig, mfcc_tables
from kws.features.micro import MicroFrontendConfig, tables_for

CORE = Path(__file__).resolve().parent.parent / "firmware" / "core"


def header_struct(header: str, ctype: str) -> list[tuple[str, str]]:
    """``(type, name)`` of each field of ``typedef struct {...} ctype;`` in ``header``."""
    text = (CORE / header).read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    match = re.search(r"typedef struct \{([^{}]*)\}\s*" + ctype + r"\s*;", text)
    assert match, f"{header} defines no struct {ctype}"
    fields = []
    for declaration in match.group(1).split(";"):
        words = declaration.split()
        if words:
            ctype_words, name = words[:-1], words[-1]
            while name.startswith("*"):  # "const int16_t *x" style
                ctype_words[-1] += "*"
                name = name[1:]
            fields.append((" ".join(ctype_words), name))
    return fields


@pytest.mark.parametrize("spec", CONFIG_STRUCTS, ids=lambda s: s.ctype)
def test_descriptions_match_the_headers(spec):
    assert header_struct(spec.header, spec.ctype) == [
        (stage.ctype, member) for member, stage in spec.members
    ]
    for _, stage in spec.members:
        assert header_struct(stage.header, stage.ctype) == [
            (f.ctype, f.name) for f in stage.fields
        ], f"{stage.ctype} in {stage.header} drifted from kws/features/c_structs.py"


def test_header_parser_sees_a_drift():
    """The check above is not vacuous: a renamed or retyped field differs."""
    fields = header_struct("micro_frontend/window.h", "KwsWindowConfig")
    assert fields == [("int", "size"), ("int", "step"), ("const int16_t*", "coefficients")]
    window = MICRO_FRONTEND_CONFIG.members[0][1]
    assert [(f.ctype, f.name) for f in window.fields] == fields
    assert ("int", "step_size") not in fields


def test_every_field_source_exists_in_the_tables():
    for spec, tables in ((MICRO_FRONTEND_CONFIG, tables_for(MicroFrontendConfig())),
                         (MFCC_CONFIG, mfcc_tables(MfccConfig()))):
        for _, f in spec.fields():
            assert hasattr(tables, f.source), f"{spec.ctype}: tables have no {f.source}"


def test_arrays_are_what_the_c_core_reads():
    tables = mfcc_tables(MfccConfig())
    arrays = MFCC_CONFIG.arrays(tables)
    assert list(arrays) == ["window", "twiddles", "mel_bin_starts", "mel_bin_counts",
                            "mel_weights", "dct"]
    assert arrays["twiddles"].dtype == np.float32 and arrays["twiddles"].ndim == 1
    assert np.array_equal(arrays["dct"], tables.dct_matrix.reshape(-1))
    micro = MICRO_FRONTEND_CONFIG.arrays(tables_for(MicroFrontendConfig()))
    assert micro["twiddles"].shape == (256, 2) and micro["twiddles"].dtype == np.int16
