"""The trainers' dashboard (issue 5): levers, measures, figures, the CLI and, in a real
headless Chromium, the page itself."""

from __future__ import annotations

import inspect
import io
import os
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from model.cli import build_parser, main  # noqa: E402
from model.dashboard import DashboardModel, figures, model_params  # noqa: E402
from model.dashboard.levers import build_scenario  # noqa: E402
from model.dashboard.measures import VILLAGE_MEASURES, headline, run_frame, village_values  # noqa: E402
from model.incidents import OPEN  # noqa: E402
from model.regimes import HIGHER_IS_BETTER, REGIMES, make_regime  # noqa: E402
from model.scenario import INDICATORS  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEMO = str(REPO / "scenarios" / "demo.yaml")
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def veto_model() -> DashboardModel:
    model = DashboardModel(regime="veto", fill_rate=0.68, scenario_path=DEMO)
    model.run(120)
    return model


def test_levers_become_scenario_overrides():
    s = build_scenario(
        DEMO,
        regime="veto",
        vetoed_indicator="skip_level_rate",
        fill_rate=0.68,
        funds_follow_tasks=True,
        transfer_per_resident=60,
        devolve_authority=True,
    )
    assert s.regime.name == "veto" and s.regime.model_extra["indicator"] == "skip_level_rate"
    assert s.staffing.fill_rate == 0.68 and s.fiscal.funds_follow_tasks and s.fiscal.transfer_per_resident == 60
    assert set(s.staffing.devolved_kinds) == {"illegal_construction", "environment"}


def test_switching_away_from_a_veto_file_drops_the_veto_parameters():
    s = build_scenario(
        str(REPO / "scenarios" / "veto.yaml"),
        regime="comprehensive",
        vetoed_indicator="petition_rate",
        fill_rate=0.9,
        funds_follow_tasks=False,
    )
    assert s.regime.name == "comprehensive" and "threshold" not in (s.regime.model_extra or {})


def test_every_menu_choice_builds_the_scenario_it_names():
    """The menus show plain names; each must reach the model as the key it stands for."""
    params = model_params(DEMO)
    for regime_choice in params["regime"]["values"]:
        for indicator_choice in params["vetoed_indicator"]["values"]:
            s = build_scenario(
                DEMO, regime=regime_choice, vetoed_indicator=indicator_choice, fill_rate=0.9, funds_follow_tasks=False
            )
            assert s.regime.name in REGIMES
            if "indicator" in (s.regime.model_extra or {}):
                assert s.regime.model_extra["indicator"] in INDICATORS


def test_a_unit_with_a_clean_record_passes_the_veto_on_every_indicator_the_menu_offers():
    """A trainer's choice of vetoed indicator must leave passing possible: a rate put under the
    veto's count threshold (3) would fail every unit whatever its cadres did."""
    veto = next(v for v in model_params(DEMO)["regime"]["values"] if "veto" in v)
    clean = {name: np.array([1.0 if name in HIGHER_IS_BETTER else 0.0]) for name in INDICATORS}
    for choice in model_params(DEMO)["vetoed_indicator"]["values"]:
        s = build_scenario(DEMO, regime=veto, vetoed_indicator=choice, fill_rate=0.9, funds_follow_tasks=False)
        assert make_regime(s.regime).evaluate(clean).passed.all(), choice


def test_every_control_is_a_keyword_of_the_dashboard_model():
    accepted = set(inspect.signature(DashboardModel.__init__).parameters) - {"self"}
    assert set(model_params(DEMO)) <= accepted


def test_dashboard_run_equals_a_plain_run_with_the_same_overrides():
    from model.runner import run_scenario
    from model.scenario import load_scenario

    model = DashboardModel(regime="veto", fill_rate=0.68, seed=3, scenario_path=DEMO)
    model.run(60)
    plain = run_scenario(
        load_scenario(DEMO, {"regime.name": "veto", "regime.indicator": "petition_rate", "staffing.fill_rate": 0.68}),
        seed=3,
        years=60 / 365,
    )
    # The whole summary: arrivals alone would match even if a lever never reached the model.
    dashboard = {k: v for k, v in model.collector.summary().items() if k in plain.summary}
    assert set(plain.summary) - set(dashboard) <= {"code_version", "scenario", "seed", "years"}
    assert dashboard == {k: v for k, v in plain.summary.items() if k in dashboard}


def test_play_stops_at_the_scenario_horizon():
    model = DashboardModel(scenario_path=DEMO)
    model.horizon = 5
    for _ in range(5):
        model.step()
    assert not model.running and model.day == 5


def test_village_backlog_counts_the_open_known_cases(veto_model):
    b = veto_model.book
    per_village = village_values(veto_model, "backlog") * veto_model.residents.sizes() / 1000
    assert np.isclose(per_village.sum(), ((b.state == OPEN) & b.known).sum())
    for measure in VILLAGE_MEASURES:
        values = village_values(veto_model, measure)
        assert values.shape == (veto_model.n_villages,) and np.isfinite(values).all()


def test_headline_shows_reported_petitions_no_higher_than_true(veto_model):
    rows = {r["measure"]: r for r in headline(veto_model)}
    pet = rows["Petitions 信访"]
    true, reported = (int(pet[k].replace(",", "")) for k in ("true", "reported"))
    assert true > 0, "the fixture's 120 days must have petitions, or the comparison is empty"
    assert reported <= true


def test_every_tile_draws_and_redraws_after_a_step(veto_model):
    frame, rates = run_frame(veto_model), veto_model.rates_frame()
    assert len(rates) == veto_model.day
    figs = [figures.village_map_figure(veto_model, m) for m in VILLAGE_MEASURES]
    figs.append(figures.rates_figure(rates, veto_model.horizon, rates))
    figs += [draw(frame, veto_model.horizon, frame) for draw in figures.TREND_FIGURES.values()]
    for fig in figs:
        fig.savefig(io.BytesIO(), format="png")
    # One Step redraws the map, the rates and the trend tiles. How long that takes is a
    # benchmark's question (README, "one demo day"), not a unit test's.
    veto_model.step()
    frame, rates = run_frame(veto_model), veto_model.rates_frame()
    tiles = [figures.village_map_figure(veto_model, "backlog"), figures.rates_figure(rates, veto_model.horizon)]
    tiles += [draw(frame, veto_model.horizon) for draw in figures.TREND_FIGURES.values()]
    for fig in tiles:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        assert buffer.tell() > 1000, "an image, not an empty file"


def test_dashboard_command_is_registered_with_port_and_host():
    args = build_parser().parse_args(["dashboard", "scenarios/veto.yaml", "--port", "9001", "--host", "0.0.0.0"])
    assert (args.scenario, args.port, args.host) == ("scenarios/veto.yaml", 9001, "0.0.0.0")
    assert build_parser().parse_args(["dashboard"]).scenario.endswith("demo.yaml")


def test_dashboard_command_refuses_a_missing_scenario_with_exit_2(capsys):
    assert main(["dashboard", "no/such.yaml"]) == 2
    assert "no/such.yaml" in capsys.readouterr().err


def test_dashboard_command_refuses_a_taken_port_or_unknown_host_before_serving(capsys):
    # Solara printed the address as served, then failed with exit status 3.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", "scenarios/demo.yaml", "--port", str(port)]) == 2
        err = capsys.readouterr().err
        assert f"--port {port}" in err and "a free port" in err
    assert main(["dashboard", "scenarios/demo.yaml", "--host", "no-such-host.invalid"]) == 2
    assert "--host no-such-host.invalid" in capsys.readouterr().err


# ---- the page in a real browser -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc, timeout: float = 180.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the dashboard server exited with code {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the dashboard did not answer at {url} within {timeout:.0f} s")


def _wait_text(page, text: str, timeout: float = 60_000) -> None:
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=text, timeout=timeout)


def _tile_images(page) -> list[str]:
    return page.eval_on_selector_all(".gov-tile img", "imgs => imgs.map(i => i.src)")


@pytest.mark.browser
def test_dashboard_in_headless_chromium_switches_regime_steps_and_redraws():
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    from model.dashboard.assets import ensure_offline_assets
    from model.dashboard.cli import serve

    try:
        ensure_offline_assets()  # no CDN in CI: Solara's bundles from the npm registry
    except RuntimeError as err:
        print(f"could not cache Solara's front-end bundles ({err}); relying on the CDN")
    ARTIFACTS.mkdir(exist_ok=True)
    port = _free_port()
    proc = serve(DEMO, port)
    try:
        _wait_for_server(f"http://127.0.0.1:{port}/", proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1150})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{port}/", timeout=180_000)
            page.get_by_role("button", name="Step").wait_for(timeout=180_000)
            page.wait_for_function("document.querySelectorAll('.gov-tile img').length >= 7", timeout=120_000)
            _wait_text(page, "comprehensive, fill 90%")

            # Switch the regime to the one-vote veto and rebuild the model.
            page.locator(".v-select", has_text="Assessment regime").click()
            page.locator(".v-list-item", has_text="veto").first.click()
            page.get_by_role("button", name="Reset").click()
            _wait_text(page, "veto on petition_rate")

            before = _tile_images(page)
            page.get_by_role("button", name="Step").click()
            _wait_text(page, "Day 7 ")
            page.get_by_role("button", name="Step").click()
            _wait_text(page, "Day 14 ")
            page.wait_for_function(
                "before => { const now = [...document.querySelectorAll('.gov-tile img')].map(i => i.src);"
                " return now.filter((s, k) => s !== before[k]).length >= 5; }",
                arg=before,
                timeout=60_000,
            )
            # Play a few weeks so the screenshot has something to show, then pause.
            play = page.get_by_role("button", name="▶")
            play.click()
            _wait_text(page, "Day 119 ", timeout=120_000)
            page.get_by_role("button", name="❚❚").click()
            time.sleep(2)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            readme_shot = REPO / "docs" / "img" / "dashboard.png"
            if not readme_shot.exists() or os.environ.get("GOV_UPDATE_SCREENSHOT") == "1":
                # The README's picture changes only on request, so CI leaves the tree clean.
                page.screenshot(path=str(readme_shot))
            browser.close()
        assert not errors, errors
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except Exception:
            proc.kill()
