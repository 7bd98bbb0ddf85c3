"""`leadflow import`: CSV files → owners, companies, contacts, events, activities, deals.

read (files → text frames) → prepare (normalise, validate, convert; pure) → decide
(pure) → apply (database). `import_file` is the one entry point.
"""

from tasks.imports.columns import IMPORT_KINDS, ImportFileError, ImportKind
from tasks.imports.consent import ConsentMapping, parse_consent_options
from tasks.imports.dates import DateFormat, parse_date_format
from tasks.imports.deal_stages import parse_deal_stage_map
from tasks.imports.normalise import parse_stage_map
from tasks.imports.report import ImportSummary
from tasks.imports.run import import_file

__all__ = [
    "IMPORT_KINDS",
    "ConsentMapping",
    "DateFormat",
    "ImportFileError",
    "ImportKind",
    "ImportSummary",
    "import_file",
    "parse_consent_options",
    "parse_date_format",
    "parse_deal_stage_map",
    "parse_stage_map",
]
