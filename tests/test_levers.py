"""Every governance arrangement of the essays is a lever a scenario can set, and each one
moves the output it should (issue: "each with a test ... that shows it has an effect").

Each row compares an arm with its base over five paired seeds (one simulated year of the
demo township). Test: exact one-sided Wilcoxon signed-rank on the five paired differences;
its smallest possible p is 1/32 = 0.031, reached only when all five pairs move in the
predicted direction, so alpha = 0.05 demands a consistent effect, not a lucky seed.
"""

import pytest
from scipy.stats import wilcoxon

from tests.conftest import PairedRuns

ALPHA = 0.05
DEMO = "demo.yaml"

# (lever, source, base scenario, base overrides, arm overrides, metric, direction)
LEVERS = [
    # Read on what interception costs, as fact 1 and essay 000 (不惜功本, at any cost) state it:
    # the veto stops the dear skip-level petitions too. The count of interceptions rises in most
    # seeds as well, but since units serve deadline-first comprehensive assessment breeds
    # petitions of its own, and one seed in twelve ties or reverses on the count.
    ("one-vote veto", "000", "comprehensive.yaml", {}, {"regime.name": "veto"}, "interception_spending", +1),
    # Read on effort: reported petitions usually rise too, but about one veto run in eight
    # falls into the give-up trap (README, "What the model shows") and reports more.
    ("comprehensive assessment", "000", DEMO, {"regime.name": "veto"}, {"regime.name": "comprehensive"},
     "cadre_hours_share.handling", +1),
    # The lighter paperwork of 减压多予 is in both arms: paperwork alone moves hours (the
    # proof-of-work row), so only the consultative scoring is left to move them here. Read on
    # what that scoring changes first: it drops petitions from the score, so stability work
    # falls (all five seeds). Handling rises too, but in four of five seeds only (102:
    # 0.746 -> 0.739, 2026-11-24), too weak a rise for five pairs; until 2026-11-24 this row
    # cut paperwork in the arm alone and so could not tell the scoring from the burden.
    ("consultative 减压多予", "000", DEMO, {"burden.paperwork_hours_per_staff": 1.0}, {"regime.name": "consultative"},
     "cadre_hours_share.stability", -1),
    # Under the veto cadres answer costlier interception with more stability hours (an
    # emergent compensation), so the plain effect is read under comprehensive assessment.
    ("interception effort", "000", DEMO, {}, {"cadres.hours_per_interception": 400}, "interceptions", -1),
    # 不惜功本 (000): within reach of the veto, units intercept at any price, so dearer
    # interception is more spending. Read with the threshold within reach of the demo
    # township (10 per 10k a year, ~15 reported petitions): at veto.yaml's 3.0 one seed in
    # five (105) sits far above it, in the give-up trap (README), cuts stability hours, and
    # at the higher price intercepts less (618k -> 261k yuan; the other four rise 2-4x).
    ("interception cost", "000", "veto.yaml", {"regime.threshold": 10.0}, {"cadres.interception_cost": 9000},
     "interception_spending", +1),
    ("promises", "000", DEMO, {}, {"cadres.task_priors.promising": 0.2}, "deferred_promises", +1),
    # 000: interception and promises cost money; "when there is no money, they falsify". The
    # veto's threshold is set within reach of the squeezed township (~200 petitions per 10k a
    # year): far above it nothing pays any more (the give-up trap, README) and nobody falsifies.
    ("borrowing (no money left)", "000, 001", "fiscal_squeeze.yaml", {"regime.name": "veto", "regime.threshold": 150.0},
     {"fiscal.borrowing": False}, "concealed_incidents", +1),
    ("concealment", "000", "veto.yaml", {}, {"cadres.task_priors.reporting": 0.2}, "concealed_incidents", +1),
    # Audits deter: with data audits certain, concealment stops paying (000: 瞒天过海 found out).
    ("audits", "000", "veto.yaml", {"cadres.task_priors.reporting": 0.2, "regime.audit_penalty": 3.0},
     {"regime.audit_rate": 1.0}, "concealed_incidents", -1),
    ("staff quota", "001", DEMO, {}, {"staffing.township_quota": 15}, "staff_on_post_mean", -1),
    ("fill rate", "001", DEMO, {}, {"staffing.fill_rate": 0.4}, "cadre_hours_by_unit.township", -1),
    ("share unable to work", "001", DEMO, {}, {"staffing.unable_share": 0.5}, "cadre_hours_by_unit.village", -1),
    ("pay", "001", DEMO, {"staffing.quit_hazard": 0.2},
     {"staffing.village_pay": 2000, "staffing.township_pay": 4000}, "cadre_turnover", +1),
    ("quit hazard", "001", DEMO, {}, {"staffing.quit_hazard": 0.4}, "cadre_turnover", +1),
    ("seconded cadres", "001", DEMO, {}, {"staffing.seconded_share": 1.0}, "cadre_hours_by_unit.village", +1),
    ("transfers", "001", DEMO, {}, {"fiscal.transfer_per_resident": 30}, "mean_days_to_resolve", +1),
    # Where the transfer goes (Wuxi's "funds sink down" 经费下沉, 003, is the reverse move):
    # villages settle and pay for most cases, so a township that keeps nine tenths starves
    # them and waits lengthen. Sending more down is read no further than that: it also
    # starves the township's own cases, and waits fell in four of five seeds only.
    ("transfer kept by the township", "001, 003", DEMO, {}, {"fiscal.township_share": 0.9}, "mean_days_to_resolve", +1),
    ("matching funds", "001", DEMO, {}, {"fiscal.matching_share": 0.9}, "debt_end", +1),
    ("debt and interest", "001", DEMO, {"fiscal.initial_village_debt": 500000},
     {"fiscal.interest_rate": 0.15}, "spending_by_purpose.interest", +1),
    # The row above is arithmetic (interest = rate x debt); this one reads what the interest
    # does: it drains the villages' money, and, as in fact 5's money shortfall, cases wait
    # for it (backlog up in all ten seeds of 101-105 and 201-205, 2026-11-24).
    ("debt and interest: cases wait", "001", DEMO, {"fiscal.initial_village_debt": 500000},
     {"fiscal.interest_rate": 0.15}, "backlog_mean", +1),
    ("funds follow tasks 费随事转", "000, 001", "fiscal_squeeze.yaml", {}, {"fiscal.funds_follow_tasks": True},
     "mean_days_to_resolve", -1),
    # Bought hours matter where volunteers are few: the base has a tenth of the volunteer time.
    ("purchase of services", "000, 002", DEMO,
     {f"associations.{a}.volunteer_hours_per_member": 0.005 for a in ("harmony", "elderly", "environment")},
     {"fiscal.purchase_of_services": 100000}, "local_settlement_share", +1),
    ("authority devolution 权随责走", "001", DEMO, {},
     {"staffing.devolved_kinds": ["illegal_construction", "environment", "land_demolition", "medical_dispute"]},
     "handling_hours_by_level.county", -1),
    ("proof-of-work burden 处处留痕", "001", DEMO, {}, {"burden.paperwork_hours_per_staff": 6.0},
     "cadre_hours_share.handling", -1),
    ("inspection frequency", "001", DEMO, {}, {"burden.inspections_per_year": 120}, "cadre_hours_share.escort", +1),
    ("Taicang two lists 政社互动", "002", DEMO, {"burden.paperwork_hours_per_staff": 5.0},
     {"burden.village_task_cap": 0.5}, "cadre_hours_share.paperwork", -1),
    ("grid size", "003", DEMO, {}, {"grid.households_per_worker": 100}, "discovered_by_grid", +1),
    ("grid patrols", "002", DEMO, {}, {"grid.patrol_share": 0.9}, "discovered_by_grid", +1),
    # Without unified dispatch a case takes `silo_delay_days` to find its office (001).
    ("command centre dispatch", "001", DEMO, {}, {"township.command_centre": False, "township.silo_delay_days": 7},
     "mean_days_to_resolve", +1),
    # Read on the backlog: a starved platform's cases pile up unresolved, and mean days to
    # resolve, counted over resolved cases only, would miss them (and since units serve
    # deadline-first, the cases that do resolve are mostly fresh ones).
    ("four platforms", "001", DEMO, {"township.command_centre": False},
     {"township.platform_shares": {"governance": 0.85, "market": 0.05, "enforcement": 0.05, "services": 0.05}},
     "backlog_mean", +1),
    ("harmony association", "000", DEMO, {}, {"associations.harmony.enabled": False}, "local_settlement_share", -1),
    ("elderly association", "000", DEMO, {}, {"associations.elderly.enabled": False}, "local_settlement_share", -1),
    ("environmental volunteers", "000", DEMO, {}, {"associations.environment.enabled": False},
     "discovered_by_associations", -1),
    ("neighbour points 睦邻点", "004", DEMO, {}, {"neighbour_points.enabled": False}, "local_settlement_share", -1),
    ("response-time target", "003", DEMO, {}, {"burden.response_target_days": 0.5}, "timeliness_rate", -1),
    # The row above is arithmetic (fewer cases meet a shorter target); this one reads the
    # cadres' answer: timeliness is a weighted rate, a tighter target lowers its forecast and
    # raises the value of handling, so hours move to it (all ten seeds of 101-105 and
    # 201-205, 2026-11-24).
    ("response-time target: cadres answer", "003", DEMO, {}, {"burden.response_target_days": 0.5},
     "cadre_hours_share.handling", +1),
    # Strong collective memory (D) mediates more successfully than atomised B (002), per
    # attempt at the neighbour point, where cohesion acts; per dispute both settle ~97% (the
    # platform catches the rest). Read at the neighbour point alone: pooled with the
    # associations' attempts, which cohesion does not touch, the effect (+1.5 points, sd ~1)
    # reversed in 2 of 12 seeds, too often for five pairs.
    ("village typology A/B/C/D", "002", DEMO, {"county.typology_mix": {"A": 0, "B": 1, "C": 0, "D": 0}},
     {"county.typology_mix": {"A": 0, "B": 0, "C": 0, "D": 1}}, "neighbour_point_success", +1),
]


@pytest.fixture(scope="module", autouse=True)
def _prefetch(lever_runs):
    arms = []
    for _, _, path, base, arm, *_ in LEVERS:
        arms += [(path, base), (path, {**base, **arm})]
    lever_runs.prefetch(arms)


def _moves(runs: PairedRuns, lever, source, path, base, arm, metric, direction) -> None:
    before = runs.metric(path, metric, base)
    after = runs.metric(path, metric, {**base, **arm})
    diff = (after - before) * direction
    p = wilcoxon(diff, alternative="greater", zero_method="zsplit").pvalue if diff.any() else 1.0
    assert p < ALPHA, f"{lever} ({source}): {metric} {before.round(3)} -> {after.round(3)} (seeds {runs.seeds})"


@pytest.mark.parametrize("lever,source,path,base,arm,metric,direction", LEVERS, ids=[row[0] for row in LEVERS])
def test_lever_moves_its_output(lever_runs, lever, source, path, base, arm, metric, direction):
    _moves(lever_runs, lever, source, path, base, arm, metric, direction)


@pytest.fixture(scope="module")
def fresh_lever_runs() -> PairedRuns:
    runs = PairedRuns(seeds=list(range(201, 206)), years=1.0)
    arms = []
    for _, _, path, base, arm, *_ in LEVERS:
        arms += [(path, base), (path, {**base, **arm})]
    runs.prefetch(arms)
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("lever,source,path,base,arm,metric,direction", LEVERS, ids=[row[0] for row in LEVERS])
def test_lever_moves_its_output_on_seeds_it_was_not_chosen_on(
    fresh_lever_runs, lever, source, path, base, arm, metric, direction
):
    """Several rows' metric and base were chosen while looking at seeds 101-105 (their comments
    say so), so passing there is partly by construction. The same test on an untouched block
    (201-205) checks that the choice holds for the model, not for those five seeds. Slow (under
    3 minutes on 2 cores): ``pytest -m slow tests/test_levers.py``. All 37 rows held on
    2026-11-24; the two rows added that day (': cases wait', ': cadres answer') were chosen
    after seeing both blocks, so for them the next untouched block is the check."""
    _moves(fresh_lever_runs, lever, source, path, base, arm, metric, direction)
