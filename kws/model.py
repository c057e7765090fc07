"""DS-CNN keyword-spotting models (Hello Edge, Zhang et al. 2017).

A DS-CNN is one ordinary convolution followed by depthwise-separable blocks, an average pool
over the whole remaining feature map and one dense layer::

    Conv2D(C, 10x4, stride s0) + BN + ReLU + Dropout
    [DepthwiseConv2D(3x3, stride s_i) + BN + ReLU + Conv2D(C, 1x1) + BN + ReLU] x N
    Dropout -> AveragePooling2D(whole map) -> Flatten -> Dense(num_classes) -> Softmax

Batch normalisation folds into the int8 convolution biases, so a full-int8 export with a
fixed batch of 1 contains only CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, RESHAPE,
FULLY_CONNECTED and SOFTMAX: the kernels the firmware implements.

Sizes follow ARM's ML-KWS-for-MCU configurations of the paper's models; ``xs`` is a tiny
variant for tests and quick experiments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class DsCnnSpec:
    """Shape of a DS-CNN: channel count, first-conv kernel/stride and per-block strides."""

    channels: int
    first_kernel: tuple[int, int]
    first_stride: tuple[int, int]
    block_strides: tuple[tuple[int, int], ...]


DS_CNN_SIZES: dict[str, DsCnnSpec] = {
    "xs": DsCnnSpec(16, (10, 4), (2, 2), ((1, 1), (1, 1))),
    "s": DsCnnSpec(64, (10, 4), (2, 2), ((1, 1),) * 4),
    "m": DsCnnSpec(172, (10, 4), (2, 1), ((2, 2),) + ((1, 1),) * 3),
    "l": DsCnnSpec(276, (10, 4), (2, 1), ((2, 2),) + ((1, 1),) * 4),
}

MODEL_NAMES = tuple(f"ds-cnn-{size}" for size in DS_CNN_SIZES)


def parse_model_name(name: str) -> str:
    """Size key (``"s"``) of a model name such as ``"ds-cnn-s"``; raises ``ValueError``."""
    key = name.lower().strip()
    for prefix in ("ds-cnn-", "ds_cnn_", "dscnn-", "dscnn"):
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    if key not in DS_CNN_SIZES:
        raise ValueError(f"unknown model {name!r} (expected one of {', '.join(MODEL_NAMES)})")
    return key


def ds_cnn(
    input_shape: tuple[int, int, int] | tuple[int, int],
    num_classes: int,
    size: str = "s",
    dropout: float = 0.2,
    final_dropout: float | None = None,
    bn_momentum: float = 0.9,
    name: str | None = None,
) -> keras.Model:
    """Build a DS-CNN classifier.

    Parameters
    ----------
    input_shape
        ``(frames, channels, 1)`` (or ``(frames, channels)``; a channel axis is added).
    num_classes
        Number of output labels.
    size
        ``"xs"``, ``"s"``, ``"m"`` or ``"l"`` (see :data:`DS_CNN_SIZES`).
    dropout
        Dropout rate after the first convolution.
    final_dropout
        Dropout before pooling; defaults to ``2 * dropout`` capped at 0.5 (MLPerf Tiny uses
        0.2 / 0.4).
    bn_momentum
        Momentum of the batch-norm moving statistics.  0.9 rather than Keras' 0.99: small
        keyword datasets give only a few steps per epoch, and with 0.99 the inference-time
        statistics (what validation and the int8 export see) lag far behind the weights.
    name
        Keras model name; defaults to ``ds_cnn_<size>``.

    Returns
    -------
    keras.Model
        Functional model, float32 input ``[batch, frames, channels, 1]``, softmax output.
    """
    import keras
    from keras import layers

    if size not in DS_CNN_SIZES:
        raise ValueError(f"unknown DS-CNN size {size!r} (expected one of {list(DS_CNN_SIZES)})")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if len(input_shape) == 2:
        input_shape = (int(input_shape[0]), int(input_shape[1]), 1)
    if len(input_shape) != 3 or input_shape[2] != 1:
        raise ValueError(f"input_shape must be (frames, channels, 1), got {input_shape}")
    spec = DS_CNN_SIZES[size]
    if final_dropout is None:
        final_dropout = min(0.5, 2.0 * dropout)

    inputs = keras.Input(shape=tuple(int(d) for d in input_shape), name="features")
    x = layers.Conv2D(
        spec.channels, spec.first_kernel, strides=spec.first_stride, padding="same",
        use_bias=False, name="conv0",
    )(inputs)
    x = layers.BatchNormalization(momentum=bn_momentum, name="conv0_bn")(x)
    x = layers.ReLU(name="conv0_relu")(x)
    x = layers.Dropout(dropout, name="conv0_dropout")(x)
    for i, stride in enumerate(spec.block_strides, start=1):
        x = layers.DepthwiseConv2D(
            (3, 3), strides=stride, padding="same", use_bias=False, name=f"block{i}_dw"
        )(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"block{i}_dw_bn")(x)
        x = layers.ReLU(name=f"block{i}_dw_relu")(x)
        x = layers.Conv2D(spec.channels, (1, 1), use_bias=False, name=f"block{i}_pw")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"block{i}_pw_bn")(x)
        x = layers.ReLU(name=f"block{i}_pw_relu")(x)
    x = layers.Dropout(final_dropout, name="final_dropout")(x)
    # Pool over the whole remaining map: becomes AVERAGE_POOL_2D (GlobalAveragePooling2D
    # would become MEAN, a kernel the firmware does not carry).
    x = layers.AveragePooling2D(pool_size=(int(x.shape[1]), int(x.shape[2])), name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Softmax(name="softmax")(x)
    return keras.Model(inputs, outputs, name=name or f"ds_cnn_{size}")


def count_params(model: keras.Model) -> int:
    """Total parameters of ``model`` (trainable and batch-norm statistics)."""
    return int(model.count_params())


def count_macs(model: keras.Model) -> int:
    """Multiply-accumulates of one inference through the conv, depthwise and dense layers.

    Conv2D: ``out_h * out_w * filters * kh * kw * in_ch``; DepthwiseConv2D:
    ``out_h * out_w * in_ch * multiplier * kh * kw``; Dense: ``in * units``.  Batch norm
    (folded at export), activations and pooling are not counted.
    """
    from keras import layers

    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.DepthwiseConv2D):
            _, oh, ow, oc = layer.output.shape
            kh, kw = layer.kernel_size
            total += int(oh) * int(ow) * int(oc) * kh * kw
        elif isinstance(layer, layers.Conv2D):
            _, oh, ow, oc = layer.output.shape
            kh, kw = layer.kernel_size
            in_ch = int(layer.input.shape[-1])
            total += int(oh) * int(ow) * int(oc) * kh * kw * in_ch // layer.groups
        elif isinstance(layer, layers.Dense):
            total += int(layer.input.shape[-1]) * int(layer.units)
    return total
