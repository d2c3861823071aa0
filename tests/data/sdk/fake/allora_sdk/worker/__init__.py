"""The fake's worker package: like the real one, importing it imports allora_sdk.worker.worker."""

from .worker import AlloraWorker

__all__ = ["AlloraWorker"]
