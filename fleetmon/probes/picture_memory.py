"""Each camera's earlier pictures, as the picture checks need them: on disk, not in the process.

A fingerprint is ~2 KB a camera and is read once per snapshot sweep (every 20 minutes by
default), so a province's 136,000 cameras would hold ~300 MB of memory for a read every 20
minutes. SQLite keeps them in a private temporary file instead (SQLite's temporary directory:
`SQLITE_TMPDIR`, else `TMPDIR`, else /var/tmp), which is unlinked as soon as it is opened: nothing
is left behind by a crash, and a restart starts from new reference frames, as it always did (a
camera re-aimed on purpose is accepted by restarting, not flagged as moved for ever).
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import struct

from fleetmon.probes.image_quality import ImageFingerprint

log = logging.getLogger(__name__)
_HEADER = struct.Struct("<3d4I")  # sharpness, flat share, noise; lengths of digest, thumb, patches, cells


def pack(fingerprint: ImageFingerprint) -> bytes:
    f = fingerprint
    head = _HEADER.pack(f.sharpness, f.flat_share, f.noise, len(f.digest), len(f.thumb), len(f.patches), len(f.cells))
    return b"".join((head, f.digest, f.thumb, f.patches, f.cells))


def unpack(blob: bytes) -> ImageFingerprint:
    sharpness, flat_share, noise, *lengths = _HEADER.unpack_from(blob)
    parts, at = [], _HEADER.size
    for length in lengths:
        parts.append(blob[at:at + length])
        at += length
    if at != len(blob):
        raise ValueError(f"picture memory: a fingerprint of {len(blob)} bytes, {at} expected")
    digest, thumb, patches, cells = parts
    return ImageFingerprint(digest=digest, thumb=thumb, patches=patches, cells=cells,
                            sharpness=sharpness, flat_share=flat_share, noise=noise)


class PictureMemory:
    """The previous and the reference (first) fingerprint of each camera, kept by this process.

    Used from one event loop: every call is a short synchronous read or write of one row. When
    the file fails (its disk full or gone), the memory moves into the process for the rest of its
    life, with one warning: the pictures are judged as after a restart, not every probe crashed.
    """

    def __init__(self) -> None:
        self._held: dict[str, tuple[bytes, bytes]] | None = None  # (previous, reference), once the file failed
        # "": a private on-disk temporary database, deleted when closed. No journal, no sync:
        # it lives as long as the process and is worth nothing after it.
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._db.executescript("""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE pictures (device_id TEXT PRIMARY KEY, previous BLOB NOT NULL, reference BLOB NOT NULL)
                WITHOUT ROWID;
        """)

    def recall(self, device_id: str) -> tuple[ImageFingerprint | None, ImageFingerprint | None]:
        """(previous, reference), or (None, None) for a camera not seen yet."""
        if self._held is not None:
            row = self._held.get(device_id)
        else:
            try:
                row = self._db.execute("SELECT previous, reference FROM pictures WHERE device_id = ?", (device_id,)).fetchone()
            except sqlite3.Error as exc:
                row = self._move_into_process(exc).get(device_id)
        return (unpack(row[0]), unpack(row[1])) if row else (None, None)

    def keep(self, device_id: str, fingerprint: ImageFingerprint) -> None:
        """As the next probe's previous; as the reference too when it is the camera's first."""
        # What each check reads: the frozen check the last frame's digest, cells and patches; the moved
        # check the first frame's thumbnail.
        previous = pack(dataclasses.replace(fingerprint, thumb=b""))
        reference = pack(dataclasses.replace(fingerprint, digest=b"", patches=b"", cells=b""))
        if self._held is None:
            try:
                self._db.execute("INSERT INTO pictures VALUES (?, ?, ?) "
                                 "ON CONFLICT (device_id) DO UPDATE SET previous = excluded.previous",
                                 (device_id, previous, reference))
                return
            except sqlite3.Error as exc:
                held = self._move_into_process(exc)
        else:
            held = self._held
        known = held.get(device_id)
        held[device_id] = (previous, known[1] if known else reference)

    def _move_into_process(self, exc: sqlite3.Error) -> dict[str, tuple[bytes, bytes]]:
        log.warning("picture memory: its temporary file failed (%s); earlier pictures are forgotten and the next "
                    "are kept in memory (~2 KB a camera): free space in SQLite's temporary directory and restart", exc)
        self._held = {}
        self._db.close()
        return self._held

    def close(self) -> None:
        self._db.close()
