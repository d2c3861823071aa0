"""A FAKE allora_sdk for tests/sdk_worker.rs: no chain, no cosmpy, no network.

It has the names templates/allora/sdk-worker.py uses, with the signatures of the real wheels
(allora_sdk 1.3.0 and 1.0.6, allora_sdk/worker/worker.py and allora_sdk/rpc_client/config.py),
and records every call as one JSON line in $FAKE_SDK_LOG. The environment drives it:

FAKE_SDK_VERSION  "1.3.0" (default) or "1.0.6": which release's API it has. Like the real
                  1.0.6, that one does not export AlloraWalletConfig from the package (only from
                  allora_sdk.rpc_client.config), has no AlloraWorker.inferer(..., lock=...) and
                  its client checks the chain with is_connected() (sync), not
                  raise_for_chain_id_mismatch().
FAKE_SDK_LOG      the file the fake appends its JSON lines to.
FAKE_CHAIN_ID     the chain id the fake node reports (default: the network preset's).
FAKE_RESULTS      what each worker's run() yields, comma-separated: "ok" (a WorkerResult) or
                  "error" (an Exception instance); the model function is called once for each.
FAKE_STOP         "1": run() returns after its results, as the real one does when the wallet is
                  not whitelisted on the topic; otherwise it waits for its SIGINT/SIGTERM handler.
"""

import os

from .rpc_client import AlloraNetworkConfig, FeeTier
from .worker import AlloraWorker

VERSION = os.environ.get("FAKE_SDK_VERSION", "1.3.0")

if VERSION.startswith("1.3"):
    from .rpc_client.config import AlloraWalletConfig
    from .worker.worker import RunContext

__all__ = ["AlloraWorker", "AlloraNetworkConfig", "FeeTier"] + (
    ["AlloraWalletConfig", "RunContext"] if VERSION.startswith("1.3") else []
)
