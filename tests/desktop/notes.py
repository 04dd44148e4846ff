"""Observations worth reporting that are not failures: conftest prints them after the summary."""

NOTES = []


def note(msg):
    NOTES.append(msg)
    print(f"    note: {msg}")
