"""`leadflow import`: CSV files → owners, companies, contacts, events, activities, deals.

read (files → text frames) → prepare (normalise, validate, convert; pure) → decide
(pure) → apply (database). `import_file` is the one entry point.
"""

from tasks.imports.columns import IMPORT_KINDS, ImportFileError, ImportKind
from tasks.imports.deal_stages import parse_deal_stage_map
from tasks.imports.normalise import parse_stage_map
from tasks.imports.report import ImportSummary
from tasks.imports.run import import_file

__all__ = [
    "IMPORT_KINDS",
    "ImportFileError",
    "ImportKind",
    "ImportSummary",
    "import_file",
    "parse_deal_stage_map",
    "parse_stage_map",
]
