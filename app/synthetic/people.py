"""Owners, companies and contacts: who the leads are."""

from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.synthetic.calendars import _Calendar
from app.synthetic.vocab import (
    _EN_COMPANY_NAMES,
    _EN_COMPANY_NOUNS,
    _EN_COMPANY_SUFFIXES,
    _EN_FIRST,
    _EN_LAST,
    _EN_REGION_P,
    _EN_REGION_TZ,
    _EN_REGIONS,
    _EN_TITLES_BY_LEVEL,
    _HOUR_S,
    _JA_COMPANY_CORES,
    _JA_COMPANY_EXTRAS,
    _JA_COMPANY_PREFIXES,
    _JA_DEPARTMENTS,
    _JA_GIVEN,
    _JA_REGION_P,
    _JA_REGIONS,
    _JA_SURNAMES,
    _JA_TITLES_BY_LEVEL,
    _LEAD_SOURCE_P,
    _LEVEL_P,
    LEAD_SOURCES,
)
from models.enums import Team


def _slack_id(rng: np.random.Generator) -> str:
    alphabet = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"))
    return "U0" + "".join(rng.choice(alphabet, size=7))


def _owners(rng: np.random.Generator, created: datetime) -> pd.DataFrame:
    # (name, romaji local part, team, manager index or None, weight, active)
    people = (
        ("岡田 修", "osamu.okada", Team.IS, None, 1.0, True),
        ("高橋 美咲", "misaki.takahashi", Team.MARKETING, 0, 1.0, True),
        ("伊藤 大輔", "daisuke.ito", Team.MARKETING, 1, 1.0, True),
        ("Emily Clark", "emily.clark", Team.MARKETING, 1, 1.0, True),
        ("鈴木 直樹", "naoki.suzuki", Team.IS, 0, 1.0, True),
        ("田中 陽子", "yoko.tanaka", Team.IS, 4, 1.5, True),
        ("渡辺 翔太", "shota.watanabe", Team.IS, 4, 1.0, True),
        ("山本 恵", "megumi.yamamoto", Team.IS, 4, 1.0, True),
        ("中村 拓也", "takuya.nakamura", Team.IS, 4, 0.5, True),
        ("小林 由美", "yumi.kobayashi", Team.IS, 4, 1.0, False),
        ("加藤 誠", "makoto.kato", Team.FS, 0, 1.0, True),
        ("吉田 健太", "kenta.yoshida", Team.FS, 10, 1.5, True),
        ("佐々木 愛", "ai.sasaki", Team.FS, 10, 1.0, True),
        ("David Miller", "david.miller", Team.FS, 10, 1.0, True),
        ("松本 浩二", "koji.matsumoto", Team.FS, 10, 1.0, True),
        ("井上 智子", "tomoko.inoue", Team.CS, 0, 1.0, True),
        ("木村 亮", "ryo.kimura", Team.CS, 15, 1.0, True),
        ("林 彩", "aya.hayashi", Team.CS, 15, 1.0, True),
    )
    emails = [f"{local}@example.co.jp" for _, local, *_ in people]
    return pd.DataFrame(
        {
            "id": np.arange(1, len(people) + 1),
            "email": emails,
            "name": [p[0] for p in people],
            "team": [str(p[2]) for p in people],
            "manager_email": [None if p[3] is None else emails[p[3]] for p in people],
            "slack_user_id": [_slack_id(rng) for _ in people],
            "active": [p[5] for p in people],
            "weight": [p[4] for p in people],
            "created_at": pd.Timestamp(created),
        }
    )


def _dedupe(values: pd.Series) -> pd.Series:
    """Append 2, 3, … to repeated values so every value is unique."""
    rank = values.groupby(values).cumcount()
    suffix = np.where(rank > 0, (rank + 1).astype(str), "")
    return values + suffix


def _companies(rng: np.random.Generator, count: int, created: datetime) -> pd.DataFrame:
    japanese = rng.random(count) < 0.85
    pre = rng.integers(0, len(_JA_COMPANY_PREFIXES), count)
    core = rng.integers(0, len(_JA_COMPANY_CORES), count)
    extra = rng.integers(0, len(_JA_COMPANY_EXTRAS), count)
    legal_first = rng.random(count) < 0.45
    en_name = rng.integers(0, len(_EN_COMPANY_NAMES), count)
    en_noun = rng.integers(0, len(_EN_COMPANY_NOUNS), count)
    en_suffix = rng.integers(0, len(_EN_COMPANY_SUFFIXES), count)
    names: list[str] = []
    slugs: list[str] = []
    industries: list[str] = []
    for i in range(count):
        if japanese[i]:
            kanji, romaji = _JA_COMPANY_PREFIXES[pre[i]]
            core_kanji, core_romaji, industry = _JA_COMPANY_CORES[core[i]]
            extra_kanji, extra_romaji = _JA_COMPANY_EXTRAS[extra[i]]
            body = kanji + core_kanji + extra_kanji
            names.append(f"株式会社{body}" if legal_first[i] else f"{body}株式会社")
            slugs.append("-".join(p for p in (romaji, core_romaji, extra_romaji) if p))
        else:
            noun, industry = _EN_COMPANY_NOUNS[en_noun[i]]
            base = f"{_EN_COMPANY_NAMES[en_name[i]]} {noun}"
            names.append(f"{base} {_EN_COMPANY_SUFFIXES[en_suffix[i]]}")
            slugs.append(base.lower().replace(" ", "-"))
        industries.append(industry)
    tld = np.where(japanese, ".example.jp", ".example.com")
    domains = _dedupe(pd.Series(slugs, dtype=object)) + tld
    regions = np.where(
        japanese,
        rng.choice(_JA_REGIONS, size=count, p=_JA_REGION_P),
        rng.choice(_EN_REGIONS, size=count, p=_EN_REGION_P),
    )
    employees = np.clip(np.rint(rng.lognormal(np.log(60), 1.6, count)), 1, 300_000)
    return pd.DataFrame(
        {
            "id": np.arange(1, count + 1),
            "domain": domains.to_numpy(dtype=object),
            "name": names,
            "industry": industries,
            "employee_count": employees.astype(np.int64),
            "region": regions.astype(object),
            "japanese": japanese,
            "created_at": pd.Timestamp(created),
        }
    )


def _titles(rng: np.random.Generator, japanese: npt.NDArray[np.bool_]) -> list[str | None]:
    count = len(japanese)
    level = rng.choice(len(_LEVEL_P), size=count, p=_LEVEL_P)
    pick = rng.random(count)
    dept = rng.integers(0, len(_JA_DEPARTMENTS), count)
    missing = rng.random(count) < 0.08
    titles: list[str | None] = []
    for i in range(count):
        if missing[i]:
            titles.append(None)
            continue
        options = (_JA_TITLES_BY_LEVEL if japanese[i] else _EN_TITLES_BY_LEVEL)[level[i]]
        title = options[int(pick[i] * len(options))]
        if japanese[i] and level[i] <= 2:
            title = f"{_JA_DEPARTMENTS[dept[i]]} {title}".strip()
        titles.append(title)
    return titles


def _contacts(
    rng: np.random.Generator,
    count: int,
    companies: pd.DataFrame,
    owners: pd.DataFrame,
    *,
    start_s: int,
    end_s: int,
    webinars: _Calendar,
    shows: _Calendar,
) -> pd.DataFrame:
    # Bigger companies bring more contacts, but sub-linearly.
    size = companies["employee_count"].to_numpy(dtype=np.float64)
    company_p = size**0.35 / (size**0.35).sum()
    company_idx = rng.choice(len(companies), size=count, p=company_p)
    company = companies.iloc[company_idx].reset_index(drop=True)
    japanese_co = company["japanese"].to_numpy()
    japanese = np.where(japanese_co, rng.random(count) < 0.93, rng.random(count) < 0.25)

    sur = rng.integers(0, len(_JA_SURNAMES), count)
    given = rng.integers(0, len(_JA_GIVEN), count)
    en_first = rng.integers(0, len(_EN_FIRST), count)
    en_last = rng.integers(0, len(_EN_LAST), count)
    first = np.where(
        japanese, np.array([g[0] for g in _JA_GIVEN])[given], np.array(_EN_FIRST)[en_first]
    )
    last = np.where(
        japanese, np.array([s[0] for s in _JA_SURNAMES])[sur], np.array(_EN_LAST)[en_last]
    )
    first_r = np.where(japanese, np.array([g[1] for g in _JA_GIVEN])[given], np.char.lower(first))
    last_r = np.where(japanese, np.array([s[1] for s in _JA_SURNAMES])[sur], np.char.lower(last))
    style = rng.random(count)
    local = np.where(
        style < 0.6,
        np.char.add(np.char.add(first_r, "."), last_r),
        np.where(
            style < 0.85,
            np.char.add(np.char.add(last_r, "."), first_r),
            np.char.add(np.char.asarray([f[:1] for f in first_r.tolist()]), last_r),
        ),
    )
    domain = company["domain"].to_numpy(dtype=str)
    # A repeated address becomes ken.sato2@…; generated local parts never hold digits.
    rank = (
        pd.Series(np.char.add(np.char.add(local, "@"), domain))
        .groupby(np.char.add(np.char.add(local, "@"), domain))
        .cumcount()
        .to_numpy()
    )
    local = np.where(rank > 0, np.char.add(local, (rank + 1).astype(str)), local)
    emails = np.char.add(np.char.add(local, "@"), domain).astype(object)

    source = rng.choice(len(LEAD_SOURCES), size=count, p=_LEAD_SOURCE_P)
    # Most leads arrive steadily; a bit more lately (the marketing team is growing).
    span = end_s - start_s
    created = start_s + (span * rng.random(count) ** 0.85).astype(np.int64)
    created = np.minimum(created, end_s - _HOUR_S)
    # Webinar and trade-show leads are created at the event that brought them in.
    for source_name, calendar in (("webinar", webinars), ("trade_show", shows)):
        mask = source == LEAD_SOURCES.index(source_name)
        if len(calendar.at) and mask.any():
            pick = rng.integers(0, len(calendar.at), int(mask.sum()))
            offset = 0 if source_name == "webinar" else rng.integers(0, 7 * _HOUR_S, len(pick))
            created[mask] = calendar.at[pick] + offset

    subscriber = (rng.random(count) < 0.14) & (source != LEAD_SOURCES.index("trade_show"))
    stage = np.where(subscriber, "subscriber", "lead")
    tz = np.where(rng.random(count) < 0.97, "Asia/Tokyo", "Asia/Singapore").astype(object)
    overseas = ~np.isin(company["region"].to_numpy(dtype=str), _JA_REGIONS)
    tz[overseas] = [_EN_REGION_TZ.get(r, "Asia/Tokyo") for r in company["region"][overseas]]

    marketing = owners[(owners["team"] == Team.MARKETING.value) & owners["active"]]
    owned = (~subscriber) & (rng.random(count) < 0.2)
    owner_pick = rng.choice(
        marketing["id"].to_numpy(), size=count, p=(marketing["weight"] / marketing["weight"].sum())
    )
    owner_id = pd.array(np.where(owned, owner_pick, 0), dtype="Int64")
    owner_id[~owned] = pd.NA
    picked_email = owners.set_index("id")["email"].loc[owner_pick].to_numpy(dtype=object)
    owner_email = np.where(owned, picked_email, None)

    employee_count = pd.array(company["employee_count"].to_numpy(), dtype="Int64")
    employee_count[rng.random(count) < 0.05] = pd.NA
    industry = company["industry"].to_numpy(dtype=object).copy()
    industry[rng.random(count) < 0.03] = None

    return pd.DataFrame(
        {
            "id": np.arange(1, count + 1),
            "email": emails,
            "first_name": first.astype(object),
            "last_name": last.astype(object),
            "company_id": company["id"].to_numpy(),
            "company_domain": company["domain"].to_numpy(dtype=object),
            "company_name": company["name"].to_numpy(dtype=object),
            "job_title": _titles(rng, japanese),
            "industry": industry,
            "employee_count": employee_count,
            "region": company["region"].to_numpy(dtype=object),
            "lead_source": np.array(LEAD_SOURCES, dtype=object)[source],
            "consent": rng.random(count) < 0.88,
            "timezone": tz,
            "created_at": pd.to_datetime(created, unit="s", utc=True),
            "lifecycle_stage": stage.astype(object),
            "lead_status": None,
            "owner_id": owner_id,
            "owner_email": owner_email,
        }
    )
