"""What a session key becomes on disk: one name, used for every file and folder.

Everything facio keeps per session under the workspace is named by
:func:`session_name`::

    <workspace>/sessions/<name>/                the session's folder (kernel cwd, images/, uploads/)
    <workspace>/notes/<name>.md                 its notes
    <workspace>/.facio/sessions/<name>.jsonl    its history (the SDK's file store)
    <workspace>/.facio/code/kernels/<name>@<agent name>   which kernel ran its code last

**The mapping** (stable: changing it would orphan every session's files):

1. The key's UTF-8 bytes are percent-encoded (``urllib.parse.quote`` with no
   safe characters: ``A-Z a-z 0-9 _ . - ~`` stay, every other byte is
   ``%XX``), so ``telegram:42`` is ``telegram%3A42``. A lone surrogate (an
   SDK key may hold one) is encoded as its ``surrogatepass`` bytes.
2. A ``.`` that starts the name or follows another ``.`` becomes ``%2E``: no
   name is ``.`` or ``..``, none is hidden, none holds ``..``.
3. When that is at most :data:`NAME_LIMIT` characters (ASCII, so bytes) and
   not empty, it is the name: readable, and reversible (:func:`key_of`).
4. Otherwise (a long key, or the empty one) the name is the encoding's first
   characters, cut before a character's escapes rather than inside them, then ``+``
   and the first :data:`DIGEST_CHARS` hex digits of the SHA-256 of the key's
   bytes: at most :data:`NAME_LIMIT` characters.

Names are collision-free: two keys with short names have different
encodings (the encoding decodes back to the key); a short name never holds
``+`` (it is encoded as ``%2B``) and a long one always does; two long names
are equal only if 128 bits of SHA-256 are. A name never holds ``/``, NUL or
``..``, never starts with ``.``, and leaves room under the usual 255-byte
limit for a suffix (``.jsonl``, ``.part``, ``@<agent>``). File systems that
ignore case (macOS's default) would merge ``api:A`` and ``api:a``: the
workspace belongs on a case-sensitive one.

**Older versions** named session folders, history files and kernel records
by steps 1 and (for a leading dot only) 2, without a length limit; for
every key up to :data:`NAME_LIMIT` encoded characters without ``..`` the
name is the same. Where it differs, what the old name held is moved to the
new one the first time it is used (:func:`legacy_session_name`,
:func:`adopt`). Notes had names of their own: see ``core.tools.builtin.notes``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from pathlib import Path
from urllib.parse import quote, unquote, unquote_to_bytes

__all__ = [
    "DIGEST_CHARS",
    "NAME_LIMIT",
    "SESSIONS_DIR",
    "adopt",
    "key_of",
    "legacy_session_name",
    "open_below",
    "session_folder",
    "session_name",
]

NAME_LIMIT = 120
"""Longest name a session key becomes, in characters (all ASCII)."""
DIGEST_CHARS = 32
"""Hex digits of SHA-256 in a long key's name: 128 bits."""
SESSIONS_DIR = "sessions"
"""The workspace's folder of session folders."""

_MARK = "+"
_DOTS = re.compile(r"(?:^|(?<=\.))\.")
_CUT_ESCAPE = re.compile(r"%[0-9A-F]?$")
_NO_LINK_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _bytes(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


def session_name(key: str) -> str:
    """``key`` as one file or folder name (see the module docstring for the mapping)."""
    encoded = _DOTS.sub("%2E", quote(_bytes(key), safe=""))
    if 0 < len(encoded) <= NAME_LIMIT:
        return encoded
    prefix = _whole(_CUT_ESCAPE.sub("", encoded[: NAME_LIMIT - len(_MARK) - DIGEST_CHARS]))
    digest = hashlib.sha256(_bytes(key)).hexdigest()[:DIGEST_CHARS]
    return f"{prefix}{_MARK}{digest}"


def _whole(prefix: str) -> str:
    """``prefix`` without the first bytes of a character the cut did not take whole."""
    raw = unquote_to_bytes(prefix)
    try:
        raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:  # only the end can be cut: the key encodes cleanly
        return prefix[: len(prefix) - 3 * (len(raw) - exc.start)]  # each byte is "%XX"
    return prefix


def key_of(name: str) -> str | None:
    """The key whose :func:`session_name` is ``name``; None for a long key's name (a
    digest cannot be reversed: keep the key next to it where it is needed)."""
    if _MARK in name:
        return None
    return unquote(name, errors="surrogatepass")


def legacy_session_name(key: str) -> str | None:
    """The name versions before this mapping gave ``key``, where it differs from
    :func:`session_name` and was a usable name; None otherwise."""
    try:
        name = quote(key, safe="")
    except UnicodeEncodeError:  # a lone surrogate: those versions failed on it
        return None
    if not name:  # "" was "%00", which "\x00" had too: not adopted by either
        return None
    if name.startswith("."):
        name = "%2E" + name[1:]
    if name == session_name(key) or len(name) > 255:
        return None
    return name


def session_folder(workspace: Path, key: str) -> Path:
    """The session's folder: the kernel's working directory, its images and uploads.

    Made on first use (and adopted from an older version's name): callers
    that create files in it use :func:`open_below` for what is inside.
    """
    folder = workspace / SESSIONS_DIR / session_name(key)
    legacy = legacy_session_name(key)
    if legacy is not None:
        adopt(folder, folder.with_name(legacy))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def adopt(path: Path, legacy: Path) -> bool:
    """Move what an older version kept at ``legacy`` to ``path``, unless ``path``
    exists; whether it moved. Safe when several processes try at once: a file is
    first renamed to a claim of this call's own, so only one of them takes it,
    and it is linked to ``path`` only where nothing is (never replacing)."""
    if os.path.lexists(path) or not os.path.lexists(legacy):
        return False
    if legacy.is_dir() and not legacy.is_symlink():
        try:
            legacy.rename(path)  # refused where a non-empty folder was made meanwhile
        except FileNotFoundError:
            return False  # another process took it
        except OSError:
            if os.path.lexists(path):
                return False
            raise
        return True
    claim = legacy.with_name(f".{legacy.name}.claim-{uuid.uuid4().hex[:12]}")
    try:
        legacy.rename(claim)
    except FileNotFoundError:
        return False
    try:
        os.link(claim, path)
    except FileExistsError:
        claim.rename(legacy)  # put back what is not ours to move
        return False
    os.unlink(claim)
    return True


def open_below(trusted: Path, name: str) -> int:
    """A descriptor of the folder ``trusted/name``, made if missing, with no
    symbolic link followed at ``name`` (close it with ``os.close``).

    ``trusted`` is a folder only facio makes (a session's folder); what is in
    it, code may have made: where it put a link (``images`` → ``/etc``),
    facio — root, perhaps — would write outside the session. Write in the
    returned folder with ``dir_fd=`` and ``O_NOFOLLOW``: a link there makes
    the write fail (``OSError``) instead.
    """
    parent = os.open(trusted, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o755, dir_fd=parent)
        return os.open(name, _NO_LINK_DIR, dir_fd=parent)
    finally:
        os.close(parent)
