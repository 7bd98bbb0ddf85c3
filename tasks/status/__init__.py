"""Lead status: the inside-sales work status, its allowed moves and their lifecycle effects."""
