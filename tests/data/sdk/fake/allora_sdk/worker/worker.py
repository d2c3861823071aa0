"""The fake AlloraWorker (see allora_sdk/__init__.py for the environment that drives it).

Like the real allora_sdk/worker/worker.py (1.0.6 and 1.3.0), this module imports `signal` at
the top and run() installs its own SIGINT/SIGTERM handler with signal.signal(), replacing the
one before: the handler stops that worker's run() (ctx.cancel() in the real one).
"""

import asyncio
import hashlib
import inspect
import json
import os
import signal
import sys
from dataclasses import dataclass
from typing import Any, Optional

from allora_sdk.rpc_client.config import AlloraNetworkConfig, AlloraWalletConfig
from allora_sdk.rpc_client.tx_manager import FeeTier

VERSION = os.environ.get("FAKE_SDK_VERSION", "1.3.0")


def record(call, **fields):
    """Appends one JSON line to $FAKE_SDK_LOG: what the fake was called with."""
    path = os.environ.get("FAKE_SDK_LOG")
    if not path:
        return
    line = json.dumps(dict(call=call, pid=os.getpid(), **fields), default=repr)
    with open(path, "a") as log:
        log.write(line + "\n")


def wallet_fields(wallet):
    if wallet is None:
        return None
    return dict(
        type=type(wallet).__name__,
        mnemonic_file=wallet.mnemonic_file,
        mnemonic_given=wallet.mnemonic is not None,
        private_key_given=wallet.private_key is not None,
    )


def init_wallet(wallet):
    """The wallet's address, from the mnemonic the real SDK would read (init_worker_wallet)."""
    if wallet is not None and wallet.mnemonic:
        mnemonic = wallet.mnemonic
    elif wallet is not None and wallet.private_key:
        mnemonic = wallet.private_key
    else:
        path = (wallet.mnemonic_file if wallet is not None else None) or ".allora_key"
        if not os.path.exists(path):
            # The real one asks for a mnemonic with getpass() and saves it there.
            raise EOFError(f"no mnemonic file {path} and no terminal to ask")
        with open(path) as source:
            mnemonic = source.read().strip()
    return "allo1fake" + hashlib.sha256(mnemonic.encode()).hexdigest()[:30]


def reported_chain_id(network):
    return os.environ.get("FAKE_CHAIN_ID") or network.chain_id


class TxError(Exception):
    pass


@dataclass
class WorkerResult:
    submission: Any
    tx_result: Any


@dataclass
class RunContext:
    """allora_sdk 1.3's RunContext: what the model function is called with."""

    client: Any
    topic_id: int
    nonce: int


class Context:
    def __init__(self):
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class Client:
    def __init__(self, address, network):
        self._address = address
        self.network = network

    @property
    def address(self):
        return self._address


class Client13(Client):
    """1.3.0's AlloraRPCClient: raise_for_chain_id_mismatch() asks the node for its chain id."""

    async def raise_for_chain_id_mismatch(self):
        chain_id = reported_chain_id(self.network)
        record("raise_for_chain_id_mismatch", configured=self.network.chain_id, reported=chain_id)
        if self.network.chain_id != chain_id:
            raise ValueError(
                f"Configuration specifies chain id '{self.network.chain_id}' which conflicts with network-reported chain ID '{chain_id}'"
            )
        return chain_id


class Client106(Client):
    """1.0.6's AlloraRPCClient: is_connected() (sync) compares the latest block's chain id."""

    def is_connected(self):
        chain_id = reported_chain_id(self.network)
        record("is_connected", configured=self.network.chain_id, reported=chain_id)
        return chain_id == self.network.chain_id


class Base:
    def _setup_signal_handlers(self, ctx):
        sigint_received = False

        def signal_handler(signum, frame):
            nonlocal sigint_received
            record("handler", topic_id=self.topic_id, signum=int(signum))
            if signum == signal.SIGINT:
                if sigint_received:
                    sys.exit(1)
                sigint_received = True
            ctx.cancel()

        record("signal.signal", topic_id=self.topic_id, stdlib=signal is sys.modules["signal"])
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal_handler)

    async def _call_model(self, nonce):
        raise NotImplementedError

    async def _results(self, ctx):
        kinds = [kind.strip() for kind in os.environ.get("FAKE_RESULTS", "").split(",") if kind.strip()]
        for index, kind in enumerate(kinds):
            if ctx.cancelled:
                return
            nonce = 1000 + index
            try:
                argument, value = await self._call_model(nonce)
            except Exception as err:
                record("model", topic_id=self.topic_id, nonce=nonce, error=repr(err))
                yield err
                continue
            record(
                "model",
                topic_id=self.topic_id,
                nonce=nonce,
                argument=type(argument).__name__,
                argument_nonce=getattr(argument, "nonce", argument),
                argument_topic=getattr(argument, "topic_id", None),
                returned=value,
            )
            if kind == "error":
                yield TxError(f"fake submission of nonce {nonce} failed")
            else:
                yield WorkerResult(submission=value, tx_result=None)
        if os.environ.get("FAKE_STOP") == "1":
            # The real one: "The wallet ... is not whitelisted on topic ...", self.stop().
            record("stopped", topic_id=self.topic_id, by="stop")
            return
        while not ctx.cancelled:
            await asyncio.sleep(0.05)
        record("stopped", topic_id=self.topic_id, by="signal")


class AlloraWorker13(Base):
    """allora_sdk 1.3.0's AlloraWorker: built with the inferer() factory."""

    @classmethod
    def inferer(
        cls,
        run,
        wallet: Optional[AlloraWalletConfig] = None,
        network: AlloraNetworkConfig = AlloraNetworkConfig.testnet(),
        api_key: Optional[str] = None,
        topic_id: int = 69,
        fee_tier: FeeTier = FeeTier.STANDARD,
        polling_interval: int = 120,
        max_unfulfilled_nonces: int = 10,
        lock: Optional[asyncio.Lock] = None,
        autostake=None,
        sanity_check=None,
        debug: bool = False,
        show_banner: bool = True,
    ):
        record(
            "inferer",
            topic_id=topic_id,
            wallet=wallet_fields(wallet),
            network=network.chain_id,
            api_key=api_key,
            fee_tier=fee_tier.name if isinstance(fee_tier, FeeTier) else repr(fee_tier),
            polling_interval=polling_interval,
            polling_interval_type=type(polling_interval).__name__,
            lock=id(lock) if lock is not None else None,
            lock_type=type(lock).__name__,
        )
        address = init_wallet(wallet)
        client = Client13(address, network)
        worker = cls(
            use_case=("inferer", run),
            client=client,
            address=address,
            api_key=api_key,
            topic_id=topic_id,
            fee_tier=fee_tier,
            polling_interval=polling_interval,
            max_unfulfilled_nonces=max_unfulfilled_nonces,
            lock=lock,
            debug=debug,
            show_banner=show_banner,
        )
        return worker

    def __init__(
        self,
        use_case,
        client,
        address: str,
        api_key: Optional[str] = None,
        topic_id: int = 69,
        fee_tier: FeeTier = FeeTier.STANDARD,
        polling_interval: int = 120,
        max_unfulfilled_nonces: int = 10,
        lock: Optional[asyncio.Lock] = None,
        debug: bool = False,
        show_banner: bool = True,
    ):
        if use_case is None:
            raise ValueError("no use_case provided")
        if client is None:
            raise ValueError("no client provided")
        self._initialized = False
        self._run = use_case[1]
        self.client = client
        self.address = address
        self.topic_id = topic_id
        self._ctx = None

    async def _ensure_initialized(self):
        if self._initialized:
            return
        self._initialized = True
        self._chain_id = await self.client.raise_for_chain_id_mismatch()

    async def _call_model(self, nonce):
        argument = RunContext(client=self.client, topic_id=self.topic_id, nonce=nonce)
        value = self._run(argument)
        if inspect.isawaitable(value):
            value = await value
        return argument, value

    async def run(self, timeout: Optional[float] = None):
        await self._ensure_initialized()
        if self._ctx and not self._ctx.cancelled:
            raise RuntimeError("Worker is already running")
        ctx = Context()
        self._ctx = ctx
        self._setup_signal_handlers(ctx)
        async for result in self._results(ctx):
            yield result
        self._ctx = None


class AlloraWorker106(Base):
    """allora_sdk 1.0.6's AlloraWorker: built with its constructor (inferer() has no lock)."""

    @classmethod
    def inferer(
        cls,
        run,
        wallet: Optional[AlloraWalletConfig] = None,
        network: Optional[AlloraNetworkConfig] = AlloraNetworkConfig.testnet(),
        api_key: Optional[str] = None,
        topic_id: int = 69,
        fee_tier: FeeTier = FeeTier.STANDARD,
        polling_interval: int = 120,
        debug: bool = False,
    ):
        return cls(run=run, wallet=wallet, network=network, api_key=api_key, topic_id=topic_id,
                   fee_tier=fee_tier, polling_interval=polling_interval, debug=debug)

    def __init__(
        self,
        run,
        wallet: Optional[AlloraWalletConfig] = None,
        network: Optional[AlloraNetworkConfig] = AlloraNetworkConfig.testnet(),
        api_key: Optional[str] = None,
        topic_id: int = 69,
        fee_tier: FeeTier = FeeTier.STANDARD,
        polling_interval: int = 120,
        submission_window_event_type=None,
        debug: bool = False,
    ):
        record(
            "constructor",
            topic_id=topic_id,
            wallet=wallet_fields(wallet),
            network=network.chain_id,
            api_key=api_key,
            fee_tier=fee_tier.name if isinstance(fee_tier, FeeTier) else repr(fee_tier),
            polling_interval=polling_interval,
            polling_interval_type=type(polling_interval).__name__,
        )
        if not run or not callable(run):
            raise ValueError("The 'run' function must be callable")
        self._run = run
        self.topic_id = topic_id
        self.client = Client106(init_wallet(wallet), network)
        self._ctx = None

    async def _call_model(self, nonce):
        # 1.0.6 _submit(): an async function is awaited, a sync one runs in an executor.
        if asyncio.iscoroutinefunction(self._run):
            value = await self._run(nonce)
        else:
            value = await asyncio.get_event_loop().run_in_executor(None, self._run, nonce)
        return nonce, value

    async def run(self, timeout: Optional[float] = None):
        if self._ctx and not self._ctx.cancelled:
            raise RuntimeError("Worker is already running")
        ctx = Context()
        self._ctx = ctx
        self._setup_signal_handlers(ctx)
        async for result in self._results(ctx):
            yield result
        self._ctx = None


AlloraWorker = AlloraWorker13 if VERSION.startswith("1.3") else AlloraWorker106
