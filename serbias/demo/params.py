"""``demo`` section of params.yaml: which model answers, where the web app listens."""

from __future__ import annotations

from dataclasses import dataclass

from serbias.errors import SerbiasError


@dataclass(frozen=True)
class DemoParams:
    """``serbias demo``: which model answers, where the local web app listens, what it accepts."""

    model: str = "models:/serbias-multitask-intended@champion"
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_mb: float = 10.0
    max_seconds: float = 60.0

    def __post_init__(self) -> None:
        for key in ("model", "host"):
            if not getattr(self, key).strip():
                raise SerbiasError(f"demo.{key}: must not be empty")
        if not 1 <= self.port <= 65535:
            raise SerbiasError(f"demo.port: {self.port} is not a TCP port (1..65535)")
        if self.max_upload_mb <= 0:
            raise SerbiasError(f"demo.max_upload_mb: {self.max_upload_mb} must be > 0")
        if self.max_seconds <= 0:
            raise SerbiasError(f"demo.max_seconds: {self.max_seconds} must be > 0")
