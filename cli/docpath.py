"""`FILE#ID`: a document given with the id of one of its `$graph` entries."""

from __future__ import annotations

import os


def file_part(path: str) -> str:
    """The file of `FILE#ID` (a `$graph` entry); a file whose name holds `#` is itself."""
    if "#" in path and not os.path.exists(path):
        return path.rsplit("#", 1)[0]
    return path
