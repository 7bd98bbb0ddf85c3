"""A deterministic generator of a realistic B2B lead dataset, for demos and benchmarks.

`generate_dataset` builds owners, companies, contacts and their behaviour events as
pandas frames from a seed; the same arguments always give the same data. Events are
generated vectorised with numpy, so 3 M events take seconds and stay well under 1 GB.
`write_csv` writes the importer's four CSV files; `insert_dataset` bulk-loads the frames
straight into the tables; `add_hourly_activity` appends one more hour of behaviour.

Every company domain sits under a reserved example domain (example.jp, example.com),
so no generated address can ever reach a real mailbox.
"""

from app.synthetic.csv_files import write_csv
from app.synthetic.dataset import HourlyActivity, InsertSummary, SyntheticDataset
from app.synthetic.generate import generate_dataset
from app.synthetic.hourly import add_hourly_activity
from app.synthetic.insert import insert_dataset
from app.synthetic.vocab import EVENT_TYPES, JST, LEAD_SOURCES

__all__ = [
    "EVENT_TYPES",
    "JST",
    "LEAD_SOURCES",
    "HourlyActivity",
    "InsertSummary",
    "SyntheticDataset",
    "add_hourly_activity",
    "generate_dataset",
    "insert_dataset",
    "write_csv",
]
