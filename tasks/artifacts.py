"""Markdown pieces every run artifact shares."""


def superseded_note(latest: str | None) -> list[str]:
    """The artifact's line for a rerun of an hour that was decided already (else nothing)."""
    if latest is None:
        return []
    return [
        f"**Already decided:** the latest applied hour is {latest}, so this rerun decided, "
        "wrote and sent nothing; what is due goes out with the next new hour.",
        "",
    ]
