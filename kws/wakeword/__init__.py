"""Your own wake word: synthetic voices, real negatives, calibration on streams.

``kws wakeword WORD --out DIR`` generates positives with the local TTS engines
(:mod:`kws.wakeword.tts`), augments them towards real speech, gathers negatives, trains a
small model, calibrates the detector on long streams through the host build of the firmware
application (false accepts per hour), and exports an int8 model whose ``model.json`` carries
the calibrated detector settings.
"""
