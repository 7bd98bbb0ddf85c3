"""`leadflow erase`: remove a person everywhere leadflow wrote them, keep a salted hash.

read (rows, quarantine hits, `.eml` files) → decide (pure) → apply (one transaction,
then the files). `erase_person` in `tasks.erase.run` is the one entry point.
"""
