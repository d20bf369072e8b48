"""``python -m peer.serve --port N``: gunicorn as a Django team deploys it, two
worker processes of four threads (gthread: keep-alive connections, a database
connection per thread), access log off as eventrail's."""

import argparse
import os
import sys
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--workers", type=int, default=2)
parser.add_argument("--threads", type=int, default=4)
args = parser.parse_args()
gunicorn = str(Path(sys.executable).parent / "gunicorn")
os.execv(  # noqa: S606 (gunicorn replaces this process, as its command line)
    gunicorn,
    [
        gunicorn,
        "peer.wsgi:application",
        "--chdir",
        str(Path(__file__).resolve().parents[1]),
        "--bind",
        f"127.0.0.1:{args.port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(args.threads),
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
    ],
)
