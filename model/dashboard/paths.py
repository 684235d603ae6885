"""Where the dashboard finds its scenario: light enough for the CLI to import at start-up."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = str(REPO / "scenarios" / "demo.yaml")
SCENARIO_ENV = "GOV_DASHBOARD_SCENARIO"
"""The CLI passes the scenario path to the served page through this variable."""
