"""``tf.distribute.MultiWorkerMirroredStrategy`` that Keras 3's ``Model.fit`` can use.

Keras 3 (keras-team/keras#20585) calls ``strategy.reduce`` on a whole ``(x, y)`` batch to
find its shapes, and with ``axis=0`` on scalar metrics; the collective strategy reduces one
value at a time along an axis the value has.  :func:`multiworker_strategy` reduces each
value of a structure on its own and a scalar along no axis (the mean over replicas either
way), so ``fit``/``predict`` run across workers.
"""

from __future__ import annotations

from typing import Any


def multiworker_strategy() -> Any:
    """A ``MultiWorkerMirroredStrategy`` (cluster from ``TF_CONFIG``) whose ``reduce``
    accepts what Keras 3 passes it."""
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    reduce_one = strategy.reduce

    def reduce_value(op: Any, value: Any, axis: int | None) -> Any:
        local = (strategy.experimental_local_results(value)[0]
                 if isinstance(value, tf.distribute.DistributedValues) else value)
        if axis is not None and len(local.shape) <= axis:
            axis = None  # a scalar per replica: its mean over replicas
        return reduce_one(op, value, axis)

    def reduce(op: Any, value: Any, axis: int | None = None) -> Any:
        return tf.nest.map_structure(lambda v: reduce_value(op, v, axis), value)

    strategy.reduce = reduce
    return strategy
