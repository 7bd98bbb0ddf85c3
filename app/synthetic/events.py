"""Behaviour events, vectorised with numpy: heavy-tailed per contact, on the calendars."""

from datetime import UTC
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.synthetic.calendars import _Calendar
from app.synthetic.vocab import (
    _CLICK,
    _DAY_S,
    _EMAIL_REPEAT_P,
    _FORM,
    _FORM_P,
    _HOT_SHARE,
    _HOUR_S,
    _OPEN,
    _PAGE,
    _PAGE_P,
    _SHOW,
    _TIER_RECENCY,
    _TYPE_P,
    _WARM_SHARE,
    _WEBINAR,
    EVENT_TYPES,
)
from models.enums import FORM_KINDS, PAGE_CATEGORIES


def _epoch_seconds(values: pd.Series) -> npt.NDArray[np.int64]:
    """UTC epoch seconds of a timezone-aware datetime series."""
    naive = values.dt.tz_convert(UTC).dt.tz_localize(None)
    return naive.to_numpy().astype("datetime64[s]").astype(np.int64)


def _draw_by_tier(
    rng: np.random.Generator, probabilities: npt.NDArray[np.float64], tier: npt.NDArray[np.int8]
) -> npt.NDArray[np.int32]:
    """One category per row from the row's tier's distribution (a row of `probabilities`)."""
    uniform = rng.random(len(tier))
    drawn = np.empty(len(tier), dtype=np.int32)
    for level, row in enumerate(probabilities):
        mask = tier == level
        cdf = np.cumsum(row)
        drawn[mask] = np.minimum(np.searchsorted(cdf, uniform[mask], side="right"), len(row) - 1)
    return drawn


def _pick_scheduled(
    rng: np.random.Generator,
    calendar: _Calendar,
    not_before: npt.NDArray[np.int64],
    recency: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """For each row, an index into `calendar` at or after `not_before`, recent-skewed.

    Returns the indices and a mask of rows for which nothing was scheduled in time.
    """
    n = len(calendar.at)
    lo = np.searchsorted(calendar.at, not_before, side="left")
    available = n - lo
    back = np.floor(rng.random(len(lo)) ** recency * available).astype(np.int64)
    index = np.clip(n - 1 - back, 0, max(n - 1, 0))
    return index, available <= 0


def _events(
    rng: np.random.Generator,
    contacts: pd.DataFrame,
    total: int,
    *,
    end_s: int,
    emails: _Calendar,
    webinars: _Calendar,
    shows: _Calendar,
) -> pd.DataFrame:
    """Behaviour events for `contacts`, `total` of them, sorted by time.

    Every contact first gets the event that captured it (as long as `total` allows),
    the rest are spread by a heavy-tailed propensity: most contacts have a few events,
    a few hundred are very engaged.
    """
    count = len(contacts)
    created = _epoch_seconds(contacts["created_at"])
    propensity = rng.lognormal(0.0, 1.3, count)
    # Hot intent mostly comes with high activity, but not always.
    hot = (propensity > np.quantile(propensity, 0.6)) & (rng.random(count) < _HOT_SHARE / 0.4)
    warm = ~hot & (rng.random(count) < _WARM_SHARE)
    tier = np.where(hot, 2, np.where(warm, 1, 0)).astype(np.int8)
    propensity *= np.where(tier == 2, 2.5, np.where(tier == 1, 1.4, 1.0))
    # Contacts that arrived recently have had less time to act.
    propensity *= 0.25 + 0.75 * (end_s - created) / max(end_s - created.min(), 1)

    origin_count = min(count, total)
    origin_contacts = np.sort(rng.choice(count, size=origin_count, replace=False))
    per_contact = rng.multinomial(total - origin_count, propensity / propensity.sum())

    # --- ordinary events, one row each, grouped by contact --------------------------------
    contact = np.repeat(np.arange(count, dtype=np.int32), per_contact)
    n = len(contact)
    ev_tier = tier[contact]
    kind = _draw_by_tier(rng, _TYPE_P, ev_tier).astype(np.int8)
    not_before = created[contact]
    recency = _TIER_RECENCY[ev_tier]

    # Email events: an open or click reuses the previous email of the same contact
    # often enough that the same newsletter is opened several times.
    email = (kind == _OPEN) | (kind == _CLICK)
    email_rows = np.flatnonzero(email)
    fresh, missing = _pick_scheduled(rng, emails, not_before[email_rows], recency[email_rows])
    e_contact = contact[email_rows]
    repeat = rng.random(len(email_rows)) < _EMAIL_REPEAT_P[(kind[email_rows] == _CLICK) * 1]
    repeat[0:1] = False
    repeat[1:] &= e_contact[1:] == e_contact[:-1]
    repeat &= ~missing
    source_row = np.maximum.accumulate(np.where(repeat, 0, np.arange(len(email_rows))))
    email_index = fresh[source_row]
    missing = missing[source_row]

    webinar_rows = np.flatnonzero(kind == _WEBINAR)
    webinar_index, webinar_missing = _pick_scheduled(
        rng, webinars, not_before[webinar_rows], recency[webinar_rows]
    )
    show_rows = np.flatnonzero(kind == _SHOW)
    show_index, show_missing = _pick_scheduled(
        rng, shows, not_before[show_rows], recency[show_rows]
    )
    # Nothing was sent or held since the contact arrived: it browsed the site instead.
    kind[email_rows[missing]] = _PAGE
    kind[webinar_rows[webinar_missing]] = _PAGE
    kind[show_rows[show_missing]] = _PAGE

    vocab: list[str] = [*PAGE_CATEGORIES, *FORM_KINDS, *emails.ids, *webinars.ids, *shows.ids]
    form_base = len(PAGE_CATEGORIES)
    email_base = form_base + len(FORM_KINDS)
    webinar_base = email_base + len(emails.ids)
    show_base = webinar_base + len(webinars.ids)

    detail = np.zeros(n, dtype=np.int32)
    # Page and form times: u**(1/k) is skewed towards `end` for k > 1.
    occurred = not_before + ((end_s - not_before) * rng.random(n) ** (1.0 / recency)).astype(
        np.int64
    )
    page_rows = np.flatnonzero(kind == _PAGE)
    detail[page_rows] = _draw_by_tier(rng, _PAGE_P, ev_tier[page_rows])
    form_rows = np.flatnonzero(kind == _FORM)
    detail[form_rows] = form_base + _draw_by_tier(rng, _FORM_P, ev_tier[form_rows])

    ok = ~missing
    rows = email_rows[ok]
    detail[rows] = email_base + email_index[ok]
    sent = emails.at[email_index[ok]] if len(emails.at) else np.zeros(0, dtype=np.int64)
    # Most opens come within a day; a long tail comes back to an old newsletter.
    delay = rng.exponential(16 * _HOUR_S, len(rows)).astype(np.int64) + 60
    late = sent + delay > end_s
    delay[late] = ((end_s - sent[late]) * rng.random(int(late.sum()))).astype(np.int64)
    occurred[rows] = sent + delay

    ok = ~webinar_missing
    rows = webinar_rows[ok]
    detail[rows] = webinar_base + webinar_index[ok]
    occurred[rows] = np.minimum(webinars.at[webinar_index[ok]] + 3600, end_s)
    ok = ~show_missing
    rows = show_rows[ok]
    detail[rows] = show_base + show_index[ok]
    # Shows run three days, 10:00–17:00.
    show_offset = rng.integers(0, 3, len(rows)) * _DAY_S + rng.integers(0, 7 * _HOUR_S, len(rows))
    occurred[rows] = np.minimum(shows.at[show_index[ok]] + show_offset, end_s)

    # --- origin events: what captured each contact, at its creation -----------------------
    src = contacts["lead_source"].to_numpy(dtype=str)[origin_contacts]
    subscriber = contacts["lifecycle_stage"].to_numpy(dtype=str)[origin_contacts] == "subscriber"
    o_created = created[origin_contacts]
    o_kind = np.full(origin_count, _FORM, dtype=np.int8)
    o_detail = np.full(origin_count, form_base + FORM_KINDS.index("document_download"), np.int32)
    o_detail[src == "web_form"] = np.where(
        rng.random(int((src == "web_form").sum())) < 0.8,
        form_base + FORM_KINDS.index("document_download"),
        form_base + FORM_KINDS.index("contact"),
    )
    o_detail[src == "referral"] = form_base + FORM_KINDS.index("contact")
    ads = src == "ads"
    o_kind[ads] = _PAGE
    o_detail[ads] = PAGE_CATEGORIES.index("service")
    for source_name, calendar, base, code in (
        ("webinar", webinars, webinar_base, _WEBINAR),
        ("trade_show", shows, show_base, _SHOW),
    ):
        mask = src == source_name
        held = np.searchsorted(calendar.at, o_created[mask], side="right") - 1
        has = held >= 0
        rows = np.flatnonzero(mask)[has]
        o_kind[rows] = code
        o_detail[rows] = base + held[has]
    o_kind[subscriber] = _FORM
    o_detail[subscriber] = form_base + FORM_KINDS.index("newsletter")

    del not_before, recency, ev_tier
    # Freed as we go: the sort permutation plus one column at a time stays small.
    all_occurred = np.concatenate([o_created, np.minimum(occurred, end_s)])
    del occurred
    order = np.argsort(all_occurred, kind="stable")
    all_occurred = all_occurred[order]
    columns: dict[str, Any] = {}
    columns["contact_id"] = np.concatenate([origin_contacts.astype(np.int32), contact])[order] + 1
    del contact
    codes = np.concatenate([o_kind, kind])[order]
    columns["type"] = pd.Categorical.from_codes(codes, categories=pd.Index(EVENT_TYPES))
    del kind
    columns["detail"] = pd.Categorical.from_codes(
        np.concatenate([o_detail, detail])[order], categories=pd.Index(vocab)
    )
    del detail, order
    columns["occurred_at"] = pd.DatetimeIndex(
        all_occurred.astype("datetime64[s]").astype("datetime64[us]")
    ).tz_localize(UTC)
    return pd.DataFrame(columns)
