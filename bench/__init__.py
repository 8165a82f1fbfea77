"""Benchmarks: jupyter-webpty against Jupyter's built-in terminals and a raw PTY loop."""
