"""JupyterHub configuration for tests/test_jupyterhub.py: everything on 127.0.0.1, in one run dir.

The test passes the variable parts in the environment (``WEBPTY_HUB_*``), so this file stays
static and readable. Local processes, no real authentication: a test setup only.
"""

from __future__ import annotations

import os
from pathlib import Path

# get_config is injected by traitlets when JupyterHub loads this file.
c = get_config()  # noqa: F821

run_dir = Path(os.environ["WEBPTY_HUB_RUN_DIR"])
bin_dir = Path(os.environ["WEBPTY_HUB_BIN_DIR"])  # the test's Python environment

# A fresh run dir per test run: the sqlite database and the cookie secret persist otherwise.
c.JupyterHub.db_url = f"sqlite:///{run_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(run_dir / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(run_dir / "jupyterhub.pid")

# The public side is configurable-http-proxy from tests/hub/node_modules.
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ["WEBPTY_HUB_PUBLIC_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["WEBPTY_HUB_PORT"])
c.ConfigurableHTTPProxy.command = [os.environ["WEBPTY_HUB_PROXY_COMMAND"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['WEBPTY_HUB_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.pid_file = str(run_dir / "proxy.pid")

# The hub also reads route activity from the proxy every last_activity_interval. Pushed out of
# the test's time frame, so that only jupyterhub-singleuser's own reports (which include the
# extension's terminal activity) can move a server's last_activity.
c.JupyterHub.last_activity_interval = 3600

c.JupyterHub.authenticator_class = "dummy"

# Local processes with a home dir per user under the run dir. The machine runs tests as root, and
# Jupyter refuses to run as root without --allow-root (the spawn would hang, then fail with 500).
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(run_dir / "home" / "{username}")
c.Spawner.cmd = [str(bin_dir / "jupyterhub-singleuser")]
c.Spawner.args = ["--allow-root"]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 30
c.Spawner.start_timeout = 30
# POST .../server answers 202 at once instead of holding the request up to 10 s; the test polls.
c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}
# Activity reports to the hub every 2 s instead of 5 min, so that the test sees them quickly.
c.Spawner.environment = {"JUPYTERHUB_ACTIVITY_INTERVAL": "2"}

# The test drives the hub with this service's token.
c.JupyterHub.services = [
    {"name": "webpty-test", "api_token": os.environ["WEBPTY_HUB_SERVICE_TOKEN"]},
]
c.JupyterHub.load_roles = [
    {
        "name": "webpty-test",
        # shares + access:servers: to share a user's server with another (the sharing API).
        "scopes": ["admin:users", "admin:servers", "tokens", "shares", "access:servers"],
        "services": ["webpty-test"],
    },
]
