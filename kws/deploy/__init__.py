"""Deploy: compile int8 ``.tflite`` models ahead of time into C over kws's kernels.

- :func:`compile_model` -> generated C module + :class:`CompiledModel` (memory plan, MACs);
- :func:`memory_plan_report` -> the plan as text;
- :func:`kws.deploy.native.load_native` -> the generated C built for the host and callable.

Where things live: :mod:`kws.deploy.graph` reads and validates the flatbuffer,
:mod:`kws.deploy.ops` holds one module per supported op (options, validation, lowering to a
kernel call, in-place rule), :mod:`kws.deploy.planner` places tensors in the arena and
:mod:`kws.deploy.compiler` writes the C.
"""

from kws.deploy.compiler import CompiledModel, compile_model, memory_plan_report
from kws.deploy.graph import Graph, load_graph

__all__ = ["CompiledModel", "Graph", "compile_model", "load_graph", "memory_plan_report"]
