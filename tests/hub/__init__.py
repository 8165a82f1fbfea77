"""A real JupyterHub on loopback for tests/test_jupyterhub.py (configurable-http-proxy from npm)."""
