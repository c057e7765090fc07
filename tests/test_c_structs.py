"""The config struct descriptions (firmware/core/config_structs.json) against the C headers.

The cdef derived from them is also checked by cffi when ``kws._core`` is built (a field
whose offset or size differs from the compiled struct fails the build)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from kws.features.c_structs import (
    CONFIG_STRUCTS,
    DESCRIPTION_FILE,
    MFCC_CONFIG,
    MICRO_FRONTEND_CONFIG,
    ConfigStruct,
    load_config_structs,
)
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


def drift(spec: ConfigStruct) -> list[str]:
    """Where ``spec`` and the C headers disagree (empty when they agree)."""
    problems = []
    members = [(stage.ctype, member) for member, stage in spec.members]
    if header_struct(spec.header, spec.ctype) != members:
        problems.append(spec.ctype)
    for _, stage in spec.members:
        if header_struct(stage.header, stage.ctype) != [(f.ctype, f.name) for f in stage.fields]:
            problems.append(stage.ctype)
    return problems


@pytest.mark.parametrize("spec", CONFIG_STRUCTS, ids=lambda s: s.ctype)
def test_descriptions_match_the_headers(spec):
    assert drift(spec) == [], "firmware/core/config_structs.json drifted from the headers"


def test_a_drifted_description_is_caught(tmp_path):
    described = json.loads(DESCRIPTION_FILE.read_text())
    fields = described["KwsMfccConfig"]["members"]["dct"]["fields"]
    fields[0][1] = "num_input"  # a renamed field
    described["KwsMicroFrontendConfig"]["members"]["window"]["fields"][0][0] = "int16_t"
    path = tmp_path / "config_structs.json"
    path.write_text(json.dumps(described))
    specs = load_config_structs(path)
    assert drift(specs["KwsMfccConfig"]) == ["KwsDctConfig"]
    assert drift(specs["KwsMicroFrontendConfig"]) == ["KwsWindowConfig"]


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
