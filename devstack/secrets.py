"""Generated local secrets kept in a 0600 JSON file, so a restarted dev stack reuses the same passwords."""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


def _token() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class LocalSecrets:
    """Admin password, JWT secret, internal token key and one password per database role, persisted at `path`."""

    path: Path
    admin_password: str = field(default_factory=_token)
    jwt_secret: str = field(default_factory=_token)
    # Signs the identities internal gRPC calls carry (leadflood_platform.identity).
    internal_token_key: str = field(default_factory=_token)
    role_passwords: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load_or_create(cls, path: Path) -> LocalSecrets:
        """Read the file if present (filling in any missing value), else generate and write it."""
        path = Path(path)
        data = json.loads(path.read_text()) if path.exists() else {}
        loaded = cls(
            path=path, **{k: v for k, v in data.items() if k in ("admin_password", "jwt_secret", "internal_token_key")}
        )
        loaded.role_passwords = dict(data.get("role_passwords", {}))
        if data != loaded._as_dict():
            # New file, or an older one lacking a field: persist what we generated.
            loaded._save()
            log.info("local secrets written", extra={"path": str(path)})
        return loaded

    def role_password(self, role: str) -> str:
        """The password for `role`, generated and persisted the first time it is asked for."""
        if role not in self.role_passwords:
            self.role_passwords[role] = _token()
            self._save()
        return self.role_passwords[role]

    def _as_dict(self) -> dict[str, object]:
        return {
            "admin_password": self.admin_password,
            "jwt_secret": self.jwt_secret,
            "internal_token_key": self.internal_token_key,
            "role_passwords": self.role_passwords,
        }

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        # Create 0600 from the start (never world-readable, even briefly), then swap in atomically
        # so a crash mid-write cannot leave a truncated file and orphan the cluster's passwords.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self._as_dict(), fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.chmod(tmp, 0o600)  # O_CREAT's mode is ignored when tmp already existed
        os.replace(tmp, self.path)
