"""Catnap on Modal, the seed's own platform, running the Catnap container image.

    modal secret create catnap-token CATNAP_TOKEN=<token>
    CATNAP_IMAGE=registry.example.com/catnap/catnap:0.1.0-SNAPSHOT modal deploy deploy/modal/app.py

The image (catnap-cli's `image` Maven profile) already holds the models under /data/models, so a cold start never
downloads. Modal drops the image's entrypoint and runs the web server below; Modal waits for the port with TCP
connects, as the seed's launcher loop did, and queues requests until it opens. The settings are the seed's
(10 concurrent inputs per container, 120 s idle window, 360 s timeout); deploy/src/test checks them against the
gateway's defaults and CATNAP_SERVE/MODELS against the image definition.
"""

import os
import subprocess

import modal

CATNAP_IMAGE = os.environ.get("CATNAP_IMAGE", "registry.example.com/catnap/catnap:0.1.0-SNAPSHOT")
PORT = 8080

# The image's entrypoint (catnap-cli/pom.xml, profile `image`).
CATNAP_SERVE = [
    "java",
    "--add-modules", "jdk.incubator.vector",
    "--enable-native-access=ALL-UNNAMED",
    "-XX:+UseCompactObjectHeaders",
    "-XX:MaxInlineLevel=30",
    "-XX:MaxRAMPercentage=75",
    "-XX:AOTCache=/app/catnap/catnap.aot",
    "-jar", "/app/catnap/catnap.jar",
    "serve",
    "--host", "0.0.0.0",
    "--offline",
]

# The models baked into the image (its default arguments).
MODELS = [
    "--model", "TabbyML/StarCoder-1B",
    "--chat-model", "TabbyML/Qwen2-1.5B-Instruct",
    "--embedding-model", "TabbyML/Nomic-Embed-Text",
]

# The language models on the function's GPU (the embedding model stays on the CPU).
DEVICE = ["--device", "cuda"]

TOKEN_FILE = "/tmp/catnap-token"

image = modal.Image.from_registry(CATNAP_IMAGE, add_python="3.12").entrypoint([])
app = modal.App("catnap-server")


@app.function(
    image=image,
    gpu="T4",
    scaledown_window=120,
    timeout=360,
    secrets=[modal.Secret.from_name("catnap-token")],
)
@modal.concurrent(max_inputs=10)
@modal.web_server(port=PORT, startup_timeout=600)
def serve():
    # The token reaches `catnap serve` through a file, so it does not show in the process list.
    with open(TOKEN_FILE, "w", encoding="utf-8") as f:
        f.write(os.environ["CATNAP_TOKEN"])
    subprocess.Popen(CATNAP_SERVE + ["--port", str(PORT)] + MODELS + DEVICE + ["--token-file", TOKEN_FILE])
