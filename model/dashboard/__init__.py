"""The trainers' dashboard: a Mesa SolaraViz page over one scenario (issue 5).

``python run.py dashboard scenarios/demo.yaml`` serves it; in a notebook::

    from model.dashboard import make_page
    make_page("scenarios/demo.yaml")      # the same page, inline

Modules: ``levers.py`` (the model the controls rebuild: a scenario plus the trainers'
levers), ``measures.py`` (per-village and true-versus-reported numbers, plain numpy),
``figures.py`` (matplotlib figures, testable without a browser), ``components.py`` (the
Solara components that show them), ``app.py`` (the page ``solara run`` serves) and
``cli.py`` (the ``dashboard`` subcommand).
"""

from model.dashboard.levers import DEFAULT_SCENARIO, DashboardModel, model_params

__all__ = ["DEFAULT_SCENARIO", "DashboardModel", "make_page", "model_params"]


def make_page(scenario_path: str | None = None, **levers: object):
    """The SolaraViz page for ``scenario_path`` (display it in Jupyter, or serve it)."""
    from model.dashboard.app import make_page as _make_page

    return _make_page(scenario_path, **levers)
