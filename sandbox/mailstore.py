"""Mailboxes on disk in Maildir++ layout, shared by the SMTP stand-in (writes) and pymap (IMAP)."""

from __future__ import annotations

import mailbox
import os
import threading
from pathlib import Path

from pysasl.hashing import BuiltinHash

_PASSWD = "pymap-etc-passwd"  # noqa: S105 - a file name (pymap's users file), not a password
_SHADOW = "pymap-etc-shadow"
_GROUP = "pymap-etc-group"


class MailStore:
    """One Maildir per e-mail address; every address that receives mail gets an IMAP login."""

    def __init__(self, root: Path, password: str) -> None:
        self.root = root
        self.password = password
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self._hash = BuiltinHash().hash(password)
        root.mkdir(parents=True, exist_ok=True)
        for name in (_PASSWD, _SHADOW, _GROUP):
            (root / name).touch()
        for line in (root / _PASSWD).read_text().splitlines():
            if line:
                self._known.add(line.split(":", 1)[0])

    @staticmethod
    def normalize(address: str) -> str:
        address = address.strip().strip("<>").lower()
        if "@" not in address or "/" in address or ":" in address or address.startswith("."):
            raise ValueError(f"not a mailbox address: {address!r}")
        return address

    def ensure_user(self, address: str) -> str:
        user = self.normalize(address)
        with self._lock:
            if user in self._known:
                return user
            with (self.root / _PASSWD).open("a") as f:
                f.write(f"{user}::1000:1000::{user}:\n")
            with (self.root / _SHADOW).open("a") as f:
                f.write(f"{user}:{self._hash}:::::::\n")
            self._known.add(user)
        mailbox.Maildir(self.root / user, create=True)
        return user

    def maildir(self, address: str, folder: str | None = None) -> mailbox.Maildir:
        user = self.ensure_user(address)
        box = mailbox.Maildir(self.root / user, create=True)
        if folder and folder.upper() != "INBOX":
            # Maildir++ (dovecot and pymap "++" layout): sub-folders are ".Name" directories.
            return (
                box.add_folder(folder)
                if folder not in box.list_folders()
                else box.get_folder(folder)
            )
        return box

    def deliver(self, address: str, raw: bytes, folder: str | None = None) -> str:
        return str(self.maildir(address, folder).add(raw))

    def take_new(self, address: str) -> list[bytes]:
        """The INBOX messages not read yet, marked read (moved from new/ to cur/ with the S flag,
        as a mail client does): each is returned once, and a pass costs what arrived, not what
        the mailbox holds."""
        box = self.root / self.ensure_user(address)
        if not (box / "new").is_dir():
            return []
        out = []
        for entry in sorted(os.scandir(box / "new"), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            raw = Path(entry.path).read_bytes()
            os.rename(entry.path, box / "cur" / f"{entry.name}:2,S")
            out.append(raw)
        return out

    def users(self) -> list[str]:
        with self._lock:
            return sorted(self._known)
