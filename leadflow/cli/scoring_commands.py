"""`leadflow run scoring`, `leadflow export contacts` and `leadflow explain`."""
