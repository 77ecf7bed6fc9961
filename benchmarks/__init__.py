"""symgraph's benchmark suite: the workloads W0..W7 of BENCHMARKS.md, measured side by
side with numpy, PyTorch, JAX, PyTensor, TensorFlow and Keras in one run.

``python -m benchmarks --help``; the older single-purpose scripts (c_backend.py,
transcendentals.py, parallel_threshold.py) still run on their own.
"""
