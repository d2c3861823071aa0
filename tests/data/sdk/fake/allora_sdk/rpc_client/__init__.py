"""The fake's rpc_client: the configuration classes, where the real releases keep them."""

import os

from .config import AlloraNetworkConfig
from .tx_manager import FeeTier

# allora_sdk 1.0.6's rpc_client/__init__.py does not export AlloraWalletConfig; 1.3.0's does.
if os.environ.get("FAKE_SDK_VERSION", "1.3.0").startswith("1.3"):
    from .config import AlloraWalletConfig
