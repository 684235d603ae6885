"""Performance benchmarks for issue 4 (not part of the default test run).

``python -m benchmarks`` measures every figure of the issue and writes
``benchmarks/results/latest.json``; ``--quick`` is a smaller variant. See docs/performance.md.
"""
