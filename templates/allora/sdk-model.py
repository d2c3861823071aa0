"""The example model of nodectl's Allora SDK worker: replace it with your own.

With ALLORA_WORKER_RUNTIME="sdk" and MODEL_REPO unset, the node runs this file as model.py.
To run your model, put a module like this one in a git repository (with a requirements.txt
for its packages) and set MODEL_REPO to its https URL, and ALLORA_SDK_MODEL to its
module:function. The function is called once per submission window with what the SDK passes
(allora_sdk 1.3: a RunContext with .topic_id and .nonce; 1.0: the nonce) and returns the
prediction: a float, a decimal string, or, for 1.3, a dict of labels to floats. It may be
async. MODEL_ENV_VARS are in os.environ.

This example submits a constant, like the SDK's Quick Start: use it only on the testnet
sandbox topic 69, which does not penalise inaccurate inferences.
"""


def predict(context):
    return 123.45
