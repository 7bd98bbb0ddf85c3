"""Normalise beat of `leadflow import`: trim and fold text cells before validation.

Stage and lead-status names from HubSpot or custom portals are mapped to leadflow's
vocabulary here, so validation sees (and quarantines) only what nobody mapped.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial

import numpy as np
import pandas as pd

from models.enums import HUBSPOT_LEAD_STATUS, HUBSPOT_STAGE, EventType, LeadStatus, Stage
from models.schemas import IMPORT_SCHEMAS, STAGE_DATE_COLUMNS, mentions
from tasks.imports.columns import ImportKind


def _fold(series: pd.Series) -> pd.Series:
    """Case- and punctuation-free key: "Marketing Qualified Lead" → marketingqualifiedlead."""
    return series.str.casefold().str.replace(r"[\W_]+", "", regex=True)


def _fold_one(value: str) -> str:
    return re.sub(r"[\W_]+", "", value.casefold())


_STAGE_ALIASES: dict[str, Stage] = {
    **{_fold_one(s.value): s for s in Stage},
    **{_fold_one(name): stage for name, stage in HUBSPOT_STAGE.items()},
}
_LEAD_STATUS_ALIASES: dict[str, LeadStatus] = {
    **{_fold_one(s.value): s for s in LeadStatus},
    **{_fold_one(name): status for name, status in HUBSPOT_LEAD_STATUS.items()},
}


def parse_stage_map(entries: Iterable[str]) -> dict[str, Stage]:
    """Parse `CUSTOM=stage` entries (target: a leadflow stage or a HubSpot stage name).

    Keys are matched case- and punctuation-insensitively, like known stage names.
    """
    mapping: dict[str, Stage] = {}
    for entry in entries:
        custom, sep, target = entry.rpartition("=")
        if not sep or not custom.strip() or not target.strip():
            raise ValueError(f"--stage-map '{entry}': write it as CUSTOM=stage, e.g. 'Trial=mql'")
        stage = _STAGE_ALIASES.get(_fold_one(target))
        if stage is None:
            raise ValueError(
                f"--stage-map '{entry}': '{target.strip()}' is not a stage "
                f"(one of {', '.join(Stage)})"
            )
        mapping[_fold_one(custom)] = stage
    return mapping


def map_stage_names(values: pd.Series, stage_map: Mapping[str, Stage]) -> pd.Series:
    """Known stage names (leadflow, HubSpot internal or label, mapped customs) → stage values.

    Unknown names are left as written, so validation can quarantine them by name.
    """
    aliases = {**_STAGE_ALIASES, **stage_map}
    mapped = _fold(values).map({k: v.value for k, v in aliases.items()})
    return mapped.where(mapped.notna(), values).astype("str")


def map_lead_statuses(values: pd.Series) -> tuple[pd.Series, dict[str, int]]:
    """HubSpot hs_lead_status names/labels and leadflow statuses → status values.

    Unknown statuses become blank (the contact is kept) and are counted for the report.
    """
    mapped = _fold(values).map({k: v.value for k, v in _LEAD_STATUS_ALIASES.items()})
    unknown = values[values.notna() & mapped.isna()]
    notes = {
        f"unknown lead status '{status}' left empty": int(count)
        for status, count in unknown.value_counts().items()
    }
    return mapped.astype("str"), notes


def normalise_domains(values: pd.Series) -> pd.Series:
    """`https://www.Example.co.jp/about` → `example.co.jp`."""
    return (
        values.str.lower()
        .str.replace(r"^[a-z][a-z0-9+.-]*://", "", regex=True)
        .str.replace(r"^www\.", "", regex=True)
        .str.replace(r"[/?#].*$", "", regex=True)
        .str.rstrip(".")
    )


_LOWER: dict[ImportKind, tuple[str, ...]] = {
    "owners": ("email", "manager_email", "active"),
    "companies": (),
    "contacts": ("email", "consent"),
    "events": ("email",),
    "activities": ("email", "owner_email"),
    "deals": ("contact_email",),
}
_VOCABULARY: dict[ImportKind, tuple[str, ...]] = {
    "owners": ("team",),
    "companies": (),
    "contacts": (),
    "events": ("type",),
    "activities": ("type", "outcome"),
    "deals": (),
}
_DOMAINS: dict[ImportKind, tuple[str, ...]] = {
    "owners": (),
    "companies": ("domain",),
    "contacts": ("company_domain",),
    "events": (),
    "activities": (),
    "deals": ("company_domain",),
}
TIME_COLUMNS: dict[ImportKind, tuple[str, ...]] = {
    "owners": (),
    "companies": (),
    "contacts": ("created_at", *STAGE_DATE_COLUMNS.values()),
    "events": ("occurred_at",),
    "activities": ("occurred_at",),
    "deals": ("created_at", "closed_at"),
}


# Kinds leadflow exports and reads back; ledgers (events, activities) are never exported.
_REFERENCE_KINDS = frozenset({"owners", "companies", "contacts", "deals"})
_ESCAPED_FORMULA = r"^'(?=[=+\-@\t\r])"


_SAMPLE = 2_000


def by_value(values: pd.Series, fold: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`fold(values)` for an element-wise `fold`, computed once per distinct value when
    values repeat (emails, types, details of a ledger: millions of rows, few values)."""
    head = values.iloc[:_SAMPLE]
    # Ids and timestamps hardly repeat: hashing them all first would only cost.
    if len(values) < _SAMPLE or len(set(head.tolist())) * 4 > len(head):
        return fold(values)
    present = values.notna().to_numpy()
    keys = values.to_numpy(dtype=object)[present].tolist()
    # A dict hashes Python strings faster than pandas' factorize does.
    distinct = list(dict.fromkeys(keys))
    folded = fold(pd.Series(distinct, dtype=values.dtype)).astype(object).tolist()
    table = dict(zip(distinct, folded, strict=True))
    out = np.full(len(values), np.nan, dtype=object)
    out[present] = [table[k] for k in keys]
    return pd.Series(out, index=values.index, dtype=object)


def _nothing_to_clean(values: pd.Series) -> bool:
    """No cell is missing, empty or holds white space (ids, timestamps): `_clean` would
    change nothing. Found by splitting the joined column once, not cell by cell."""
    cells = values.to_numpy(dtype=object)
    try:
        joined = "\n".join(cells)
    except TypeError:  # a missing cell
        return False
    words = joined.split()  # splits on the same white space str.strip takes off
    return len(words) == len(cells) and len("".join(words)) == len(joined) - len(cells) + 1


def _clean(values: pd.Series, *, reference: bool) -> pd.Series:
    if not reference and _nothing_to_clean(values):
        return values
    values = values.str.strip()
    if reference:
        # Our exports put a ' before a cell a spreadsheet would run as a formula
        # (tasks/export/files.py); reading the file back takes it off again.
        values = values.str.replace(_ESCAPED_FORMULA, "", regex=True)
    return values.where(values != "")


def _lower(values: pd.Series) -> pd.Series:
    return values.str.lower()


def _chain(values: pd.Series, *, folds: list[Callable[[pd.Series], pd.Series]]) -> pd.Series:
    for fold in folds:
        values = fold(values).astype("str")
    return values


def _vocabulary(values: pd.Series) -> pd.Series:
    return values.str.lower().str.replace(r"[\s-]+", "_", regex=True)


def normalise_text(frame: pd.DataFrame, *, kind: ImportKind) -> pd.DataFrame:
    """Strip cells, blanks → missing, add absent optional columns, fold case of vocabularies."""
    schema = IMPORT_SCHEMAS[kind]
    out = pd.DataFrame(index=frame.index)
    reference = kind in _REFERENCE_KINDS
    for column in schema.columns:
        if column in frame:
            # One pass per column: clean, then lower-case or fold the vocabulary.
            folds: list[Callable[[pd.Series], pd.Series]] = [partial(_clean, reference=reference)]
            if column in _LOWER[kind]:
                folds.append(_lower)
            if column in _VOCABULARY[kind]:
                folds.append(_vocabulary)
            values = by_value(frame[column], partial(_chain, folds=folds))
            out[column] = values.astype("str")
        else:
            out[column] = pd.Series(np.nan, index=frame.index, dtype="str")
    for column in _DOMAINS[kind]:
        out[column] = normalise_domains(out[column])
    for column in TIME_COLUMNS[kind]:
        values = out[column]
        if not mentions(values, "z"):
            continue
        # Only a trailing lower-case z changes; most timestamps are left alone.
        lower_z = values.str.endswith("z").fillna(False).astype(bool)
        if lower_z.any():
            values = values.copy()
            values[lower_z] = values[lower_z].str.replace(r"z$", "Z", regex=True)
            out[column] = values
    if kind == "events":
        # Page categories and form kinds are a vocabulary; other details are ids, kept as is.
        fixed = out["type"].isin([EventType.PAGE_VIEW.value, EventType.FORM_SUBMIT.value])
        folded = by_value(out["detail"], _vocabulary)
        out["detail"] = folded.where(fixed, out["detail"]).astype("str")
    return out
