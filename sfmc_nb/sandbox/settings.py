"""Named settings read as attributes and changed through ``configure()``: what the faults and the clock share."""

from __future__ import annotations

import threading
from typing import Any


class Settings:
    """A thread-safe table of settings (``self._settings``) guarded by ``self._lock``.

    Subclasses give the table and a validator; ``_configured(options)`` runs under the lock after a change.
    """

    _lock: threading.Lock
    _settings: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        settings = self.__dict__.get("_settings", {})
        if name in settings:
            return settings[name]
        raise AttributeError(name)

    def settings(self) -> dict:
        with self._lock:
            return dict(self._settings)

    def configure(self, **options: Any) -> None:
        """Change settings; unknown names raise TypeError, out-of-range values ValueError."""
        for name, value in options.items():
            self._validate_setting(name, value)
        with self._lock:
            self._settings.update(options)
            self._configured(options)

    def _validate_setting(self, name: str, value: Any) -> None:
        """Raise TypeError for an unknown name, ValueError for a value out of range."""
        raise NotImplementedError

    def _configured(self, options: dict[str, Any]) -> None:
        """Hook: react to changed settings (called with the lock held)."""
