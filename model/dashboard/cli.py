"""``run.py dashboard [SCENARIO] [--port N] [--host H]``: serve the trainers' page.

The page is a Solara app (``model/dashboard/app.py``); this command checks the scenario,
passes its path in ``GOV_DASHBOARD_SCENARIO`` and runs ``python -m solara run`` until
interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from model.dashboard.paths import DEFAULT_SCENARIO, SCENARIO_ENV

APP = Path(__file__).with_name("app.py")
DEFAULT_PORT = 8765
DEFAULT_HOST = "127.0.0.1"


def solara_command(port: int = DEFAULT_PORT, host: str = DEFAULT_HOST, open_browser: bool = False) -> list[str]:
    """The ``solara run`` command line that serves the page."""
    cmd = [sys.executable, "-m", "solara", "run", str(APP), "--port", str(port), "--host", host, "--production"]
    if not open_browser:
        cmd.append("--no-open")
    return cmd


def dashboard_env(scenario: str | Path) -> dict[str, str]:
    env = dict(os.environ)
    env[SCENARIO_ENV] = str(Path(scenario).resolve())
    env.setdefault("MPLBACKEND", "Agg")
    return env


def serve(
    scenario: str | Path = DEFAULT_SCENARIO,
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    open_browser: bool = False,
) -> subprocess.Popen:
    """Start the server in the background and return its process (the caller stops it)."""
    return subprocess.Popen(solara_command(port, host, open_browser), env=dashboard_env(scenario))


def listenable(host: str, port: int) -> None:
    """Refuse a host that does not resolve or a port already taken, before the server starts:
    Solara would print the address as served and then fail with exit status 3."""
    from model.cli import BadInput

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except OSError as err:
        raise BadInput(f"--host {host}: {err.strerror or err}; allowed: a name or address of this machine") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: TIME_WAIT is no obstacle
        try:
            probe.bind(address)
        except OSError as err:
            raise BadInput(f"--port {port} on {host}: {err.strerror or err}; allowed: a free port (--port N)") from None


def cmd_dashboard(args: argparse.Namespace) -> int:
    from model.cli import BadInput
    from model.dashboard.assets import ensure_offline_assets
    from model.dashboard.levers import build_scenario, model_params
    from model.scenario import load_scenario

    # Refuse a bad file here, with the CLI's one-line message, not in a browser traceback.
    load_scenario(args.scenario)
    start = {k: v["value"] for k, v in model_params(args.scenario).items() if isinstance(v, dict)}
    start.pop("seed")
    build_scenario(args.scenario, **start)
    if not 0 < args.port < 65536:
        raise BadInput(f"--port {args.port}: expected 1-65535")
    listenable(args.host, args.port)
    if args.fetch_assets:
        try:
            added = ensure_offline_assets()
        except RuntimeError as err:
            raise BadInput(f"--fetch-assets: {err}") from None
        print(f"cached Solara's front-end bundles: {', '.join(added) or 'all were there'}")
    print(f"Serving the dashboard for {args.scenario} at http://{args.host}:{args.port} (Ctrl-C to stop)")
    proc = serve(args.scenario, args.port, args.host, open_browser=args.open)
    # SIGTERM (a service manager, `timeout`) stops the server too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def add_dashboard_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dashboard",
        help="serve the interactive dashboard (Mesa SolaraViz) for trainers",
        description="Serve the trainers' dashboard: levers for the assessment regime, staffing and "
        "fiscal rules; a village map; true and reported outputs as the days go by.",
    )
    p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO, help="scenario YAML (default: scenarios/demo.yaml)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument(
        "--host", default=DEFAULT_HOST, help=f"interface to listen on (default {DEFAULT_HOST}; 0.0.0.0 for a LAN)"
    )
    p.add_argument("--open", action="store_true", help="open a browser tab")
    p.add_argument(
        "--fetch-assets",
        action="store_true",
        help="first cache Solara's JavaScript bundles with npm, for rooms without internet",
    )
    p.set_defaults(func=cmd_dashboard)
