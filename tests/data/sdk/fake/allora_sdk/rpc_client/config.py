"""AlloraWalletConfig and AlloraNetworkConfig, as in allora_sdk/rpc_client/config.py (the
fields the runner touches; no cosmpy)."""

from dataclasses import dataclass
from typing import Optional


@dataclass
class AlloraWalletConfig:
    private_key: Optional[str] = None
    mnemonic: Optional[str] = None
    mnemonic_file: Optional[str] = None
    wallet: Optional[object] = None
    prefix: str = "allo"

    def __post_init__(self):
        if self.private_key is None and self.mnemonic is None and self.mnemonic_file is None and self.wallet is None:
            raise ValueError("No wallet credentials provided")


@dataclass
class AlloraNetworkConfig:
    chain_id: str
    url: str
    websocket_url: Optional[str] = None
    fee_denom: str = "uallo"
    faucet_url: Optional[str] = None

    @classmethod
    def testnet(cls):
        return cls(
            chain_id="allora-testnet-1",
            url="grpc+https://allora-grpc.testnet.allora.network:443",
            websocket_url="wss://allora-rpc.testnet.allora.network/websocket",
            faucet_url="https://faucet.testnet.allora.network",
        )

    @classmethod
    def mainnet(cls):
        return cls(
            chain_id="allora-mainnet-1",
            url="grpc+https://allora-grpc.mainnet.allora.network:443",
            websocket_url="wss://allora-rpc.mainnet.allora.network/websocket",
        )
