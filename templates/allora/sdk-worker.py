"""nodectl's Allora SDK worker, run by allora-sdk-worker.service (templates/allora/user-data-sdk.sh).

Usage: sdk-worker.py WORKER_JSON. WORKER_JSON holds no secret: the pinned allora_sdk version
(api "factory": 1.3, AlloraWorker.inferer; "constructor": 1.0, AlloraWorker(...)), network,
chainId, topics, feeTier, pollingInterval and model ("module:function", imported from the
working directory). The secrets are files in $RUNTIME_DIRECTORY, written by the unit's
ExecStartPre from the node's Secrets Manager secret: wallet (the mnemonic, read by the SDK
from the file), api-key (optional) and model-env.json. None goes into an argument or the
environment of another process. Checks the chain id, then tells systemd READY=1 (the user
data signals CloudFormation after that), and keeps counts in $RUNTIME_DIRECTORY/status.json
(nodectl health; allora-sdk-worker-metrics.timer). Exits 0 on SIGTERM, 3 when a worker stops
(not whitelisted on its topic, for example), 2 when it cannot start.
"""

import asyncio
import datetime
import importlib
import json
import logging
import os
import socket
import sys

LOG = logging.getLogger("nodectl-sdk-worker")


def notify(state):
    """Sends `state` to systemd's notify socket (sd_notify(3)), if there is one."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(state.encode())


class Status:
    """The counts in status.json, written whole (a temporary file renamed) at every change."""

    def __init__(self, path, **fields):
        self.path = path
        self.data = dict(submissions=0, failures=0, lastSubmission=None, lastError=None)
        self.data.update(fields)
        self.write()

    def update(self, **fields):
        self.data.update(fields)
        self.write()

    def write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as out:
            json.dump(self.data, out)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.path)


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_model(spec):
    """The model function `module:function`, with MODEL_ENV_VARS in os.environ first."""
    secrets = os.environ["RUNTIME_DIRECTORY"]
    with open(os.path.join(secrets, "model-env.json")) as env:
        os.environ.update({name: str(value) for name, value in json.load(env).items()})
    module, function = spec.split(":")
    sys.path.insert(0, os.getcwd())
    return getattr(importlib.import_module(module), function)


def build(sdk, config, predict):
    """One worker per topic, from the release's API."""
    secrets = os.environ["RUNTIME_DIRECTORY"]
    key_file = os.path.join(secrets, "api-key")
    api_key = None
    if os.path.exists(key_file):
        with open(key_file) as key:
            api_key = key.read().strip() or None
    # allora_sdk 1.0.6 does not export AlloraWalletConfig from the package; both releases have
    # both classes in rpc_client/config.py.
    configs = importlib.import_module("allora_sdk.rpc_client.config")
    network = getattr(configs.AlloraNetworkConfig, config["network"])()
    if network.chain_id != config["chainId"]:
        raise ValueError(f"the {config['network']} preset is {network.chain_id}, not {config['chainId']}")
    common = dict(
        run=predict,
        wallet=configs.AlloraWalletConfig(mnemonic_file=os.path.join(secrets, "wallet")),
        network=network,
        api_key=api_key,
        fee_tier=sdk.FeeTier[config["feeTier"].upper()],
        polling_interval=int(config["pollingInterval"]),
    )
    if config["api"] == "factory":
        lock = asyncio.Lock()
        return [sdk.AlloraWorker.inferer(topic_id=t, lock=lock, **common) for t in config["topics"]]
    return [sdk.AlloraWorker(topic_id=t, **common) for t in config["topics"]]


def share_signals():
    """Each AlloraWorker's run() installs its own SIGINT/SIGTERM handler with signal.signal,
    replacing the one before (allora_sdk/worker/worker.py, _setup_signal_handlers): with one
    worker per topic only the last would stop. The SDK's module gets a signal module whose
    signal() collects the handlers, and one handler here calls them all."""
    import signal

    module = sys.modules.get("allora_sdk.worker.worker")
    if module is None or getattr(module, "signal", None) is not signal:
        return
    handlers = {signal.SIGINT: [], signal.SIGTERM: []}

    def on_signal(signum, frame):
        if not handlers[signum]:
            # No worker runs yet (model import, chain check): stop now, as the default would.
            sys.exit(0)
        main.terminating = True
        for handler in list(handlers[signum]):
            handler(signum, frame)

    class Signals:
        @staticmethod
        def signal(signum, handler):
            handlers.setdefault(signum, []).append(handler)

    # Set after the class body: inside it, `signal` names the method above, not the module.
    Signals.SIGINT, Signals.SIGTERM = signal.SIGINT, signal.SIGTERM
    module.signal = Signals
    for signum in handlers:
        signal.signal(signum, on_signal)


async def chain_id(worker):
    """The chain id the node reports, checked against the preset's (raises on a mismatch)."""
    client = worker.client
    if hasattr(client, "raise_for_chain_id_mismatch"):
        return await client.raise_for_chain_id_mismatch()
    if not await asyncio.to_thread(client.is_connected):
        raise ValueError(f"the chain does not answer as {client.network.chain_id}")
    return client.network.chain_id


async def consume(worker, topic, status):
    async for result in worker.run():
        if isinstance(result, Exception):
            LOG.warning("topic %s: submission failed: %s", topic, result)
            status.update(failures=status.data["failures"] + 1, lastError=f"topic {topic}: {result}"[:300])
        else:
            status.update(submissions=status.data["submissions"] + 1, lastSubmission=now())
    return topic


async def main(path):
    with open(path) as source:
        config = json.load(source)
    status = Status(
        os.path.join(os.environ["RUNTIME_DIRECTORY"], "status.json"),
        sdk=config["sdk"],
        chainId=config["chainId"],
        topics=config["topics"],
        started=now(),
    )
    try:
        sdk = importlib.import_module("allora_sdk")
        share_signals()
        workers = build(sdk, config, load_model(config["model"]))
        reported = await chain_id(workers[0])
    except Exception as err:
        LOG.error("cannot start: %s", err)
        status.update(lastError=f"cannot start: {err}"[:300])
        return 2
    address = str(workers[0].client.address)
    status.update(address=address)
    LOG.info("chain %s checked; wallet %s; topics %s", reported, address, config["topics"])
    notify(f"READY=1\nSTATUS=chain {reported} checked, running topics {config['topics']}")
    tasks = [asyncio.create_task(consume(w, t, status)) for w, t in zip(workers, config["topics"])]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    stopped = [task.result() for task in done if not task.cancelled() and task.exception() is None]
    if getattr(main, "terminating", False):
        return 0
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            LOG.error("worker failed: %s", task.exception())
    status.update(lastError=f"worker for topic {stopped or '?'} stopped: not whitelisted? see the log")
    return 3


def setup_logging():
    handlers = [logging.StreamHandler(sys.stderr)]
    logs = os.environ.get("LOGS_DIRECTORY")
    if logs:
        handlers.append(logging.FileHandler(os.path.join(logs, "worker.log")))
    logging.basicConfig(level=logging.INFO, handlers=handlers, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: sdk-worker.py WORKER_JSON")
    setup_logging()
    sys.exit(asyncio.run(main(sys.argv[1])))
