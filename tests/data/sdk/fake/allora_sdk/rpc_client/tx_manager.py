"""FeeTier, as in allora_sdk/rpc_client/tx_manager.py (1.0.6 and 1.3.0)."""

from enum import Enum


class FeeTier(Enum):
    ECO = "eco"
    STANDARD = "standard"
    PRIORITY = "priority"
