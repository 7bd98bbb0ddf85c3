"""A deterministic generator of a realistic B2B lead dataset, for demos and benchmarks.

`generate_dataset` builds owners, companies, contacts and their behaviour events as
pandas frames from a seed; the same arguments always give the same data. Events are
generated vectorised with numpy, so 3 M events take seconds and stay well under 1 GB.
`write_csv` writes the importer's four CSV files; `insert_dataset` bulk-loads the frames
straight into the tables; `add_hourly_activity` appends one more hour of behaviour.

Every company domain sits under a reserved example domain (example.jp, example.com),
so no generated address can ever reach a real mailbox.
"""

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Connection, Engine, Table, func, inspect, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from models.enums import FORM_KINDS, PAGE_CATEGORIES, EventType, Team
from models.tables import Company, Contact, Event, Owner

JST = ZoneInfo("Asia/Tokyo")
_JST_OFFSET_S = 9 * 3600
_HOUR_S = 3600
_DAY_S = 86400

# In the column order of the probability tables below.
EVENT_TYPES: tuple[str, ...] = (
    EventType.PAGE_VIEW.value,
    EventType.EMAIL_OPEN.value,
    EventType.EMAIL_CLICK.value,
    EventType.FORM_SUBMIT.value,
    EventType.WEBINAR_ATTENDED.value,
    EventType.TRADE_SHOW_VISIT.value,
)
_PAGE, _OPEN, _CLICK, _FORM, _WEBINAR, _SHOW = range(len(EVENT_TYPES))

LEAD_SOURCES: tuple[str, ...] = ("web_form", "content", "webinar", "trade_show", "ads", "referral")
_LEAD_SOURCE_P = (0.34, 0.16, 0.15, 0.14, 0.13, 0.08)

# --- vocabularies -----------------------------------------------------------------------

# (kanji, romaji) pairs; romaji builds domains and e-mail local parts.
_JA_COMPANY_PREFIXES = (
    ("山田", "yamada"), ("東洋", "toyo"), ("日本", "nihon"), ("大和", "yamato"),
    ("富士見", "fujimi"), ("三和", "sanwa"), ("北斗", "hokuto"), ("中央", "chuo"),
    ("新星", "shinsei"), ("青葉", "aoba"), ("旭", "asahi"), ("昭和", "showa"),
    ("平和", "heiwa"), ("太平", "taihei"), ("千代田", "chiyoda"), ("丸の内", "marunouchi"),
    ("関東", "kanto"), ("関西", "kansai"), ("北陸", "hokuriku"), ("九州", "kyushu"),
    ("東海", "tokai"), ("明治", "meiji"), ("大同", "daido"), ("共栄", "kyoei"),
    ("協和", "kyowa"), ("日進", "nisshin"), ("光", "hikari"), ("白鳥", "shiratori"),
    ("桜", "sakura"), ("松井", "matsui"), ("近藤", "kondo"), ("森", "mori"),
    ("藤田", "fujita"), ("岡本", "okamoto"), ("三協", "sankyo"), ("大成", "taisei"),
    ("若葉", "wakaba"), ("瑞穂", "mizuho"), ("朝霧", "asagiri"), ("春日", "kasuga"),
)  # fmt: skip
# (kanji, romaji, industry): industries mix English and Japanese labels, as real CRMs do.
_JA_COMPANY_CORES = (
    ("精機", "seiki", "manufacturing"), ("工業", "kogyo", "manufacturing"),
    ("電機", "denki", "manufacturing"), ("化学", "kagaku", "manufacturing"),
    ("製作所", "seisakusho", "製造業"), ("金属", "kinzoku", "製造業"),
    ("機械", "kikai", "製造業"), ("商事", "shoji", "卸売業"),
    ("物産", "bussan", "wholesale"), ("物流", "butsuryu", "logistics"),
    ("運輸", "unyu", "logistics"), ("システム", "system", "it"),
    ("ソフト", "soft", "software"), ("情報", "joho", "情報通信業"),
    ("通信", "tsushin", "情報通信業"), ("テクノロジー", "technology", "it"),
    ("データ", "data", "saas"), ("クラウド", "cloud", "saas"),
    ("食品", "shokuhin", "food"), ("建設", "kensetsu", "construction"),
    ("不動産", "fudosan", "real_estate"), ("証券", "shoken", "finance"),
    ("リース", "lease", "finance"), ("保険", "hoken", "finance"),
    ("薬品", "yakuhin", "healthcare"), ("メディカル", "medical", "healthcare"),
    ("百貨店", "hyakkaten", "小売業"), ("ストア", "store", "retail"),
    ("商店", "shoten", "retail"), ("広告", "kokoku", "advertising"),
    ("コンサルティング", "consulting", "consulting"),
)  # fmt: skip
_JA_COMPANY_EXTRAS = (
    ("", ""), ("", ""), ("", ""), ("ホールディングス", "hd"), ("テクノ", "techno"),
    ("ソリューションズ", "solutions"), ("サービス", "service"), ("エンジニアリング", "eng"),
    ("インターナショナル", "intl"), ("ネットワークス", "networks"),
)  # fmt: skip
_EN_COMPANY_NAMES = (
    "Acme", "Blue Harbor", "Northwind", "Summit", "Crescent", "Evergreen", "Pioneer",
    "Atlas", "Vertex", "Lumen", "Brightpath", "Silverline", "Redwood", "Granite", "Orbit",
    "Kestrel", "Meridian", "Halcyon", "Tidewater", "Ironbridge",
)  # fmt: skip
_EN_COMPANY_NOUNS = (
    ("Robotics", "manufacturing"), ("Analytics", "saas"), ("Software", "software"),
    ("Systems", "it"), ("Logistics", "logistics"), ("Foods", "food"), ("Capital", "finance"),
    ("Health", "healthcare"), ("Retail", "retail"), ("Manufacturing", "manufacturing"),
    ("Cloud", "saas"), ("Labs", "it"), ("Markets", "retail"), ("Insurance", "finance"),
)  # fmt: skip
_EN_COMPANY_SUFFIXES = ("Inc.", "Ltd.", "LLC", "Co.", "K.K.", "Corp.")

_JA_REGIONS = (
    "tokyo", "kanagawa", "osaka", "aichi", "saitama", "chiba", "fukuoka", "hyogo",
    "hokkaido", "kyoto", "miyagi", "hiroshima", "shizuoka",
)  # fmt: skip
_JA_REGION_P = (0.40, 0.10, 0.12, 0.08, 0.05, 0.04, 0.05, 0.04, 0.03, 0.03, 0.02, 0.02, 0.02)
_EN_REGIONS = ("tokyo", "osaka", "california", "new_york", "london", "singapore")
_EN_REGION_P = (0.45, 0.05, 0.18, 0.12, 0.10, 0.10)
_EN_REGION_TZ = {
    "california": "America/Los_Angeles",
    "new_york": "America/New_York",
    "london": "Europe/London",
    "singapore": "Asia/Singapore",
}

_JA_SURNAMES = (
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
    ("佐々木", "sasaki"), ("山口", "yamaguchi"), ("松本", "matsumoto"), ("井上", "inoue"),
    ("木村", "kimura"), ("林", "hayashi"), ("斎藤", "saito"), ("清水", "shimizu"),
    ("山崎", "yamazaki"), ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"),
    ("阿部", "abe"), ("石川", "ishikawa"), ("前田", "maeda"), ("藤田", "fujita"),
    ("小川", "ogawa"), ("岡田", "okada"),
)  # fmt: skip
_JA_GIVEN = (
    ("健", "ken"), ("翔太", "shota"), ("大輔", "daisuke"), ("美咲", "misaki"),
    ("陽子", "yoko"), ("直樹", "naoki"), ("恵", "megumi"), ("拓也", "takuya"),
    ("由美", "yumi"), ("誠", "makoto"), ("愛", "ai"), ("浩二", "koji"),
    ("智子", "tomoko"), ("亮", "ryo"), ("彩", "aya"), ("隆", "takashi"),
    ("真由美", "mayumi"), ("健太", "kenta"), ("優子", "yuko"), ("和也", "kazuya"),
    ("裕子", "hiroko"), ("大樹", "daiki"), ("奈々", "nana"), ("修", "osamu"),
    ("麻衣", "mai"), ("剛", "tsuyoshi"), ("香織", "kaori"), ("蓮", "ren"),
)  # fmt: skip
_EN_FIRST = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
    "David", "Elizabeth", "William", "Susan", "Richard", "Jessica", "Daniel", "Sarah",
    "Thomas", "Karen", "Emily", "Chris",
)  # fmt: skip
_EN_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Wilson", "Anderson", "Taylor", "Moore", "Clark", "Lewis", "Walker", "Hall",
    "Young", "King", "Wright", "Scott",
)  # fmt: skip

# Titles per level, lowest first (staff, manager, director, executive, c_level).
_JA_DEPARTMENTS = (
    "営業部", "マーケティング部", "情報システム部", "経営企画部", "製造部", "技術部",
    "総務部", "購買部", "DX推進室", "品質保証部",
)  # fmt: skip
_JA_TITLES_BY_LEVEL: tuple[tuple[str, ...], ...] = (
    ("担当", "主任", "係長", ""),
    ("課長", "マネージャー", "リーダー"),
    ("部長",),
    ("本部長", "取締役", "執行役員"),
    ("代表取締役", "代表取締役社長", "取締役CTO"),
)
_EN_TITLES_BY_LEVEL: tuple[tuple[str, ...], ...] = (
    ("Engineer", "Software Engineer", "Sales Representative", "Marketing Specialist",
     "Analyst", "Account Executive"),
    ("Marketing Manager", "IT Manager", "Sales Manager", "Team Lead"),
    ("Director of Engineering", "Sales Director", "IT Director"),
    ("VP Sales", "VP Engineering", "Head of Marketing", "General Manager"),
    ("CEO", "CTO", "CFO", "Founder & CEO"),
)  # fmt: skip
_LEVEL_P = (0.55, 0.25, 0.10, 0.07, 0.03)

_SHOW_NAMES = (
    "japan-it-week", "manufacturing-world", "marketing-week", "dx-expo", "ai-expo",
    "logistics-solution-fair",
)  # fmt: skip

# Per intent tier (cold, warm, hot): event type mix, page categories, form kinds.
_TYPE_P = np.array(
    [
        [0.745, 0.200, 0.035, 0.013, 0.005, 0.002],
        [0.680, 0.230, 0.060, 0.020, 0.007, 0.003],
        [0.620, 0.230, 0.090, 0.040, 0.012, 0.008],
    ]
)
_PAGE_P = np.array(
    [
        [0.015, 0.040, 0.470, 0.205, 0.270],
        [0.050, 0.090, 0.420, 0.260, 0.180],
        [0.140, 0.140, 0.260, 0.300, 0.160],
    ]
)
_FORM_P = np.array(
    [
        [0.40, 0.005, 0.075, 0.52],
        [0.55, 0.030, 0.140, 0.28],
        [0.50, 0.200, 0.220, 0.08],
    ]
)
_HOT_SHARE = 0.05
_WARM_SHARE = 0.16
# >1 pulls a tier's events towards `end`: hot leads are hot now, not last spring.
_TIER_RECENCY = np.array([1.0, 1.4, 2.6])
_EMAIL_REPEAT_P = np.array([0.55, 0.8])  # chance an open / click reuses the last email


# --- the dataset --------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticDataset:
    """Generated frames, with dataset-local ids starting at 1.

    `contacts.company_id`, `contacts.owner_id` and `events.contact_id` refer to those
    local ids. Events carry no id column (3 M strings would cost ~200 MB): an event's
    source id is derived from its row position, see `event_ids`.
    """

    owners: pd.DataFrame
    companies: pd.DataFrame
    contacts: pd.DataFrame
    events: pd.DataFrame
    end: datetime
    days: int
    seed: int

    @property
    def event_id_prefix(self) -> str:
        """The prefix of every source event id of this dataset."""
        return f"syn{self.seed}-"

    def event_ids(self, start: int, stop: int) -> list[str]:
        """Source event ids of the event rows `start` to `stop` (row positions)."""
        prefix = self.event_id_prefix
        return [f"{prefix}{n:09d}" for n in range(start, stop)]


@dataclass(frozen=True)
class InsertSummary:
    """What `insert_dataset` wrote; add the offsets to dataset-local ids to get table ids."""

    owners: int
    companies: int
    contacts: int
    events: int
    owner_id_offset: int
    company_id_offset: int
    contact_id_offset: int


@dataclass(frozen=True)
class HourlyActivity:
    """What `add_hourly_activity` appended."""

    contacts: int
    events: int


# --- calendars ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    """Scheduled things (emails, webinars, shows) as sorted UTC seconds with their ids."""

    ids: list[str]
    at: npt.NDArray[np.int64]


def _jst_days(start_s: int, end_s: int) -> pd.DatetimeIndex:
    start = pd.Timestamp(start_s, unit="s", tz=UTC).tz_convert(JST).normalize()
    end = pd.Timestamp(end_s, unit="s", tz=UTC).tz_convert(JST).normalize()
    return pd.date_range(start, end, freq="D")


def _email_calendar(start_s: int, end_s: int) -> _Calendar:
    """Newsletters go out on Tuesdays, campaign emails on Thursdays, 10:00 JST."""
    ids: list[str] = []
    times: list[int] = []
    for day in _jst_days(start_s, end_s):
        if day.weekday() not in (1, 3):
            continue
        sent = int((day + pd.Timedelta(hours=10)).timestamp())
        if start_s <= sent <= end_s:
            ids.append(("nl-" if day.weekday() == 1 else "cp-") + day.strftime("%Y-%m-%d"))
            times.append(sent)
    return _Calendar(ids, np.asarray(times, dtype=np.int64))


def _webinar_calendar(start_s: int, end_s: int) -> _Calendar:
    """A webinar every other Wednesday at 14:00 JST."""
    ids: list[str] = []
    times: list[int] = []
    for day in _jst_days(start_s, end_s):
        if day.weekday() != 2 or (day.toordinal() // 7) % 2:
            continue
        held = int((day + pd.Timedelta(hours=14)).timestamp())
        if start_s <= held <= end_s:
            ids.append("wb-" + day.strftime("%Y-%m-%d"))
            times.append(held)
    return _Calendar(ids, np.asarray(times, dtype=np.int64))


def _show_calendar(start_s: int, end_s: int) -> _Calendar:
    """A trade show about every 45 days; the id names the month and the show."""
    ids: list[str] = []
    times: list[int] = []
    for day in _jst_days(start_s, end_s):
        if day.toordinal() % 45 != 0:
            continue
        opens = int((day + pd.Timedelta(hours=10)).timestamp())
        if start_s <= opens <= end_s:
            name = _SHOW_NAMES[(day.toordinal() // 45) % len(_SHOW_NAMES)]
            ids.append(f"ts-{day:%Y-%m}-{name}")
            times.append(opens)
    return _Calendar(ids, np.asarray(times, dtype=np.int64))


# --- generation ---------------------------------------------------------------------------


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


def generate_dataset(
    *, contacts: int, events: int, days: int, end: datetime, seed: int = 7
) -> SyntheticDataset:
    """Generate owners, companies, `contacts` contacts and `events` events.

    Events fall in the `days` days before `end` (inclusive); every contact is created
    inside that window and acts only after its creation. The same arguments always
    produce the same dataset.
    """
    if contacts < 1 or events < 0 or days < 1:
        raise ValueError("need contacts >= 1, events >= 0 and days >= 1")
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    end = end.astimezone(UTC)
    rng = np.random.default_rng(seed)
    end_s = int(end.timestamp())
    start_s = end_s - days * _DAY_S
    setup = datetime.fromtimestamp(start_s, UTC) - timedelta(days=90)

    emails = _email_calendar(start_s, end_s)
    webinars = _webinar_calendar(start_s, end_s)
    shows = _show_calendar(start_s, end_s)
    owners = _owners(rng, setup)
    company_count = max(1, contacts // 8)
    companies = _companies(rng, company_count, setup)
    contact_frame = _contacts(
        rng,
        contacts,
        companies,
        owners,
        start_s=start_s,
        end_s=end_s,
        webinars=webinars,
        shows=shows,
    )
    first_contact = contact_frame.groupby("company_id")["created_at"].min()
    companies["created_at"] = (
        companies["id"]
        .map(first_contact)
        .fillna(pd.Timestamp(setup))
        .astype(contact_frame["created_at"].dtype)
    )
    event_frame = _events(
        rng,
        contact_frame,
        events,
        end_s=end_s,
        emails=emails,
        webinars=webinars,
        shows=shows,
    )
    return SyntheticDataset(
        owners=owners,
        companies=companies.drop(columns=["japanese"]),
        contacts=contact_frame,
        events=event_frame,
        end=end,
        days=days,
        seed=seed,
    )


# --- CSV ----------------------------------------------------------------------------------

_CSV_CHUNK = 250_000


def _iso_jst(values: pd.Series) -> npt.NDArray[np.str_]:
    """ISO 8601 with the +09:00 offset, as a Japanese CRM export writes it."""
    local = _epoch_seconds(values) + _JST_OFFSET_S
    return np.strings.add(np.datetime_as_string(local.astype("datetime64[s]"), unit="s"), "+09:00")


def _csv_text(values: pd.Series) -> pd.Series:
    """Booleans as true/false, missing values as empty cells."""
    if values.dtype == bool:
        return values.map({True: "true", False: "false"})
    return values


def write_csv(folder: Path | str, dataset: SyntheticDataset) -> dict[str, Path]:
    """Write owners.csv, companies.csv, contacts.csv and events.csv in the importer's formats.

    Timestamps are ISO 8601 with the +09:00 offset; booleans are `true`/`false`. Returns
    the written paths by table name.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.csv" for name in ("owners", "companies", "contacts", "events")}

    owners = dataset.owners[
        ["email", "name", "team", "manager_email", "slack_user_id", "active", "weight"]
    ].copy()
    owners["active"] = _csv_text(owners["active"])
    owners.to_csv(paths["owners"], index=False)
    dataset.companies[["domain", "name", "industry", "employee_count", "region"]].to_csv(
        paths["companies"], index=False
    )
    contacts = dataset.contacts.copy()
    contacts["consent"] = _csv_text(contacts["consent"])
    contacts["created_at"] = _iso_jst(contacts["created_at"])
    contacts[
        [
            "email", "first_name", "last_name", "company_domain", "company_name", "job_title",
            "industry", "employee_count", "region", "lead_source", "consent", "timezone",
            "created_at", "lifecycle_stage", "lead_status", "owner_email",
        ]
    ].to_csv(paths["contacts"], index=False)  # fmt: skip

    emails = dataset.contacts["email"].to_numpy(dtype=object)
    events = dataset.events
    with paths["events"].open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["event_id", "email", "type", "detail", "occurred_at"])
        for start in range(0, len(events), _CSV_CHUNK):
            chunk = events.iloc[start : start + _CSV_CHUNK]
            writer.writerows(
                zip(
                    dataset.event_ids(start, start + len(chunk)),
                    emails[chunk["contact_id"].to_numpy() - 1].tolist(),
                    chunk["type"].astype(str).tolist(),
                    chunk["detail"].astype(str).tolist(),
                    _iso_jst(chunk["occurred_at"]).tolist(),
                    strict=True,
                )
            )
    return paths


# --- bulk insert --------------------------------------------------------------------------

_INSERT_CHUNK = 200_000


def _db_times(seconds: npt.NDArray[np.int64], dialect: str) -> npt.NDArray[np.str_]:
    """UTC instants as the text each store takes without per-row Python conversion.

    On SQLite this must be byte-identical to what `UTCDateTime` writes, because SQL
    compares those values as strings.
    """
    text_ = np.datetime_as_string(seconds.astype("datetime64[s]").astype("datetime64[us]"))
    if dialect == "sqlite":
        return np.strings.replace(text_, "T", " ")
    return np.strings.add(text_, "+00")


def _nullable(values: pd.Series | npt.NDArray[Any]) -> list[Any]:
    """Python values with every missing marker (NaN, NA, NaT) turned into None."""
    series = pd.Series(values, copy=False).astype(object)
    return series.where(series.notna(), None).tolist()


class _Loader:
    """Writes column-wise rows into one table: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def times(self, values: pd.Series) -> list[str]:
        """A datetime column in the store's text form."""
        return _db_times(_epoch_seconds(values), self.dialect).tolist()

    def write(self, table: Table, columns: dict[str, Sequence[Any]]) -> None:
        """Insert the rows formed by zipping `columns` (equal-length lists)."""
        names = list(columns)
        rows = zip(*columns.values(), strict=True)
        if self.dialect == "postgresql":
            cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = ", ".join("?" for _ in names)
        self.conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})", list(rows)
        )


def _max_id(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


def _drop_foreign_keys(conn: Connection, table: Table) -> list[str]:
    """Drop PostgreSQL foreign keys of `table`; returns the statements that restore them.

    Checking a key row by row costs more than the COPY itself; re-adding the constraint
    validates every row in one join. SQLite's checks are cheap, so it keeps its keys.
    """
    if conn.dialect.name != "postgresql":
        return []
    restore: list[str] = []
    for key in inspect(conn).get_foreign_keys(table.name):
        name = key["name"]
        columns = ", ".join(key["constrained_columns"])
        referred = ", ".join(key["referred_columns"])
        conn.execute(text(f'ALTER TABLE {table.name} DROP CONSTRAINT "{name}"'))
        restore.append(
            f'ALTER TABLE {table.name} ADD CONSTRAINT "{name}" FOREIGN KEY ({columns}) '
            f"REFERENCES {key['referred_table']} ({referred})"
        )
    return restore


def _fix_sequences(conn: Connection, tables: Sequence[Table]) -> None:
    """Explicit ids bypass PostgreSQL's sequences; move them past the loaded rows."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
            )
        )


def insert_dataset(
    engine: Engine, dataset: SyntheticDataset, *, ingested_at: datetime | None = None
) -> InsertSummary:
    """Bulk-insert a dataset into the tables, in one transaction.

    Ids continue after the rows already present (see the offsets in the summary).
    Events are ingested when they occurred, as if the pipeline had been running all
    along, unless `ingested_at` gives one import instant for all of them. Contacts'
    `updated_at` is their creation time: no scoring attribute changed since.
    """
    owners_t = Owner.__table__
    companies_t = Company.__table__
    contacts_t = Contact.__table__
    events_t = Event.__table__
    assert isinstance(owners_t, Table) and isinstance(companies_t, Table)
    assert isinstance(contacts_t, Table) and isinstance(events_t, Table)
    with engine.begin() as conn:
        load = _Loader(conn)
        if load.dialect == "sqlite":
            # The unique source-id index is kept up to date row by row: 64 MB of page
            # cache halves that cost without a large resident set.
            conn.exec_driver_sql("PRAGMA cache_size=-65536")
        owner_off = _max_id(conn, owners_t)
        company_off = _max_id(conn, companies_t)
        contact_off = _max_id(conn, contacts_t)

        owners = dataset.owners
        created = load.times(owners["created_at"])
        load.write(
            owners_t,
            {
                "id": (owners["id"] + owner_off).tolist(),
                "email": owners["email"].tolist(),
                "name": owners["name"].tolist(),
                "team": owners["team"].tolist(),
                "manager_email": _nullable(owners["manager_email"]),
                "slack_user_id": owners["slack_user_id"].tolist(),
                "active": owners["active"].tolist(),
                "weight": owners["weight"].tolist(),
                "created_at": created,
                "updated_at": created,
            },
        )
        companies = dataset.companies
        created = load.times(companies["created_at"])
        load.write(
            companies_t,
            {
                "id": (companies["id"] + company_off).tolist(),
                "domain": companies["domain"].tolist(),
                "name": companies["name"].tolist(),
                "industry": _nullable(companies["industry"]),
                "employee_count": _nullable(companies["employee_count"]),
                "region": _nullable(companies["region"]),
                "created_at": created,
                "updated_at": created,
            },
        )
        contacts = dataset.contacts
        created = load.times(contacts["created_at"])
        load.write(
            contacts_t,
            {
                "id": (contacts["id"] + contact_off).tolist(),
                "email": contacts["email"].tolist(),
                "first_name": _nullable(contacts["first_name"]),
                "last_name": _nullable(contacts["last_name"]),
                "company_id": (contacts["company_id"] + company_off).tolist(),
                "job_title": _nullable(contacts["job_title"]),
                "industry": _nullable(contacts["industry"]),
                "employee_count": _nullable(contacts["employee_count"]),
                "region": _nullable(contacts["region"]),
                "lead_source": _nullable(contacts["lead_source"]),
                "consent": contacts["consent"].tolist(),
                "timezone": _nullable(contacts["timezone"]),
                "lifecycle_stage": contacts["lifecycle_stage"].tolist(),
                "lead_status": _nullable(contacts["lead_status"]),
                "owner_id": _nullable(contacts["owner_id"] + owner_off),
                "created_at": created,
                "updated_at": created,
            },
        )
        del created

        events = dataset.events
        types = np.asarray(events["type"].cat.categories, dtype=object)
        details = np.asarray(events["detail"].cat.categories, dtype=object)
        fixed_ingest = (
            None if ingested_at is None else load.times(pd.Series([pd.Timestamp(ingested_at)]))[0]
        )
        existing = int(conn.execute(select(func.count()).select_from(events_t)).scalar_one())
        # Building an index once after the load is several times faster than keeping it
        # up to date row by row, unless the table already holds more than we add.
        rebuild = [ix for ix in events_t.indexes if len(events) > max(existing, 50_000)]
        for index in rebuild:
            index.drop(conn)
        foreign_keys = _drop_foreign_keys(conn, events_t) if rebuild else []
        for start in range(0, len(events), _INSERT_CHUNK):
            chunk = events.iloc[start : start + _INSERT_CHUNK]
            occurred = load.times(chunk["occurred_at"])
            load.write(
                events_t,
                {
                    "source_event_id": dataset.event_ids(start, start + len(chunk)),
                    "contact_id": (chunk["contact_id"].to_numpy(np.int64) + contact_off).tolist(),
                    "type": types[chunk["type"].cat.codes.to_numpy()].tolist(),
                    "detail": details[chunk["detail"].cat.codes.to_numpy()].tolist(),
                    "occurred_at": occurred,
                    "ingested_at": [fixed_ingest] * len(chunk) if fixed_ingest else occurred,
                },
            )
        for index in rebuild:
            index.create(conn)
        for statement in foreign_keys:
            conn.execute(text(statement))
        _fix_sequences(conn, [owners_t, companies_t, contacts_t])
        if load.dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA cache_size=-2000")  # SQLite's default
    return InsertSummary(
        owners=len(dataset.owners),
        companies=len(dataset.companies),
        contacts=len(dataset.contacts),
        events=len(dataset.events),
        owner_id_offset=owner_off,
        company_id_offset=company_off,
        contact_id_offset=contact_off,
    )


# --- one more hour ------------------------------------------------------------------------

# Contacts active in a given hour skew engaged compared with the whole base.
_HOURLY_TIER_P = (0.60, 0.28, 0.12)


def add_hourly_activity(engine: Engine, *, share: float, at: datetime, seed: int) -> HourlyActivity:
    """Append events for `share` of the contacts, inside the hour before `at`.

    Only contacts created by `at` take part; each gets one or more events (page views,
    email opens and clicks of recent emails, forms), ingested at `at`. Source ids derive
    from `seed` and `at`, so repeating the same call adds nothing.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError("share must be between 0 and 1")
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    at = at.astimezone(UTC)
    at_s = int(at.timestamp())
    rng = np.random.default_rng([seed, at_s])
    with engine.connect() as conn:
        ids = np.asarray(
            conn.execute(select(Contact.id).where(Contact.created_at <= at)).scalars().all(),
            dtype=np.int64,
        )
    chosen_count = min(len(ids), round(share * len(ids)))
    if chosen_count == 0:
        return HourlyActivity(contacts=0, events=0)
    chosen = np.sort(rng.choice(ids, size=chosen_count, replace=False))
    per_contact = rng.geometric(0.4, chosen_count)
    contact = np.repeat(chosen, per_contact)
    tier = np.repeat(rng.choice(3, size=chosen_count, p=_HOURLY_TIER_P), per_contact).astype(
        np.int8
    )
    kind = _draw_by_tier(rng, _TYPE_P, tier)
    # Webinars and shows happen on their own calendar, not in an arbitrary hour.
    kind[(kind == _WEBINAR) | (kind == _SHOW)] = _PAGE
    emails = _email_calendar(at_s - 21 * _DAY_S, at_s)
    if not len(emails.at):
        kind[(kind == _OPEN) | (kind == _CLICK)] = _PAGE
    page = _draw_by_tier(rng, _PAGE_P, tier)
    form = _draw_by_tier(rng, _FORM_P, tier)
    email, _ = _pick_scheduled(
        rng, emails, np.full(len(kind), at_s - 21 * _DAY_S), np.full(len(kind), 2.0)
    )
    occurred = at_s - rng.integers(0, _HOUR_S, len(kind))
    prefix = f"syn{seed}-h{at:%Y%m%dT%H%M}-"
    rows: list[dict[str, Any]] = []
    for n in range(len(kind)):
        code = int(kind[n])
        if code == _PAGE:
            detail = PAGE_CATEGORIES[page[n]]
        elif code == _FORM:
            detail = FORM_KINDS[form[n]]
        else:
            detail = emails.ids[email[n]]
        rows.append(
            {
                "source_event_id": f"{prefix}{n:06d}",
                "contact_id": int(contact[n]),
                "type": EVENT_TYPES[code],
                "detail": detail,
                "occurred_at": datetime.fromtimestamp(int(occurred[n]), UTC),
                "ingested_at": at,
            }
        )
    events_t = Event.__table__
    assert isinstance(events_t, Table)
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(events_t)
        .on_conflict_do_nothing(index_elements=["source_event_id"])
        .returning(events_t.c.id)
    )
    # RETURNING counts what was really added; executemany rowcounts differ by driver.
    with engine.begin() as conn:
        inserted = len(conn.execute(statement, rows).all())
    return HourlyActivity(contacts=chosen_count, events=inserted)
