"""Vocabularies and shares the generator draws from: names, companies, regions, titles,
event mixes, and the time constants."""

from zoneinfo import ZoneInfo

import numpy as np

from models.enums import EventType

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
