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

from model.lazy import lazy_exports

# Lazy (PEP 562): `run.py validate` must not pay for importing every subsystem.
_EXPORTS = {
    "DEFAULT_SCENARIO": "model.dashboard.levers",
    "DashboardModel": "model.dashboard.levers",
    "model_params": "model.dashboard.levers",
    "make_page": "model.dashboard.app",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
