"""Datasets for keyword spotting: loaders, splits, augmentation and the feature pipeline.

>>> from kws.data import load_dataset, extract_features
>>> ds = load_dataset("datasets/speech_commands_sample", ["yes", "no"])  # doctest: +SKIP
>>> X, y = extract_features(ds.train, ds.labels, MicroFrontendConfig())  # doctest: +SKIP
"""

from kws.data.augment import (
    AugmentConfig,
    apply_gain,
    augment_clip,
    mix_at_snr,
    power,
    random_noise_slice,
    time_shift,
)
from kws.data.dataset import (
    AUTO,
    BACKGROUND_NOISE_DIR,
    SILENCE_LABEL,
    UNKNOWN_AUTO_RATIO,
    UNKNOWN_LABEL,
    DatasetSplits,
    Example,
    is_speech_commands,
    load_dataset,
    load_folder_dataset,
    load_speech_commands,
    loudest_start,
)
from kws.data.download import download_speech_commands
from kws.data.features import (
    augmented_epoch,
    augmented_epochs,
    clear_audio_memory,
    default_cache_dir,
    extract_features,
    feature_cache_key,
    file_audio,
    frontend_calls,
    label_indices,
    load_clip,
)
from kws.data.splits import speaker_of, speaker_split, which_set

__all__ = [
    "AUTO",
    "BACKGROUND_NOISE_DIR",
    "SILENCE_LABEL",
    "UNKNOWN_AUTO_RATIO",
    "UNKNOWN_LABEL",
    "AugmentConfig",
    "DatasetSplits",
    "Example",
    "apply_gain",
    "augment_clip",
    "augmented_epoch",
    "augmented_epochs",
    "clear_audio_memory",
    "default_cache_dir",
    "download_speech_commands",
    "extract_features",
    "feature_cache_key",
    "file_audio",
    "frontend_calls",
    "is_speech_commands",
    "label_indices",
    "load_clip",
    "load_dataset",
    "load_folder_dataset",
    "load_speech_commands",
    "loudest_start",
    "mix_at_snr",
    "power",
    "random_noise_slice",
    "speaker_of",
    "speaker_split",
    "time_shift",
    "which_set",
]
