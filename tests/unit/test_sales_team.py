"""The demo's simulated sales team: deterministic plans of touches per handed-off lead."""

from app.sales_team import plan_touches


def test_another_seed_gives_another_sales_team() -> None:
    leads = range(50)
    assert [plan_touches(7, cid) for cid in leads] != [plan_touches(8, cid) for cid in leads]


def test_every_profile_occurs_among_a_few_hundred_leads() -> None:
    plans = [plan_touches(7, cid) for cid in range(300)]
    ignored = sum(1 for p in plans if not p)
    unreachable = sum(1 for p in plans if p and all(t.outcome != "connected" for t in p))
    worked = [p for p in plans if p and p[0].outcome == "connected"]
    assert 0 < ignored < 80 and 0 < unreachable < 100 and len(worked) > 150
    assert any(p[0].business_hours > 9 for p in worked)  # some first touches a day late
    assert any(p[-1].decision == "sales_ready" for p in worked)
