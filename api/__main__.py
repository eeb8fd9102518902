"""Start the HTTP API:

    .venv/bin/python -m api [--host 127.0.0.1] [--port 8000] [--db URL] [--model PATH]

The store and model come from ``--db`` / ``--model``, else ``EMOTION_DB_URL`` /
``EMOTION_MODEL_PATH`` (as for the web app), else the web app's defaults, so both
serve the same sessions. Limits: ``--max-image-mb``, ``--max-images``, ``--max-video-mb``.
The OpenAPI page is at ``/docs``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import uvicorn

from api.app import create_app
from api.settings import MB, ApiSettings


def parse_settings(argv: list[str] | None) -> tuple[argparse.Namespace, ApiSettings]:
    defaults = ApiSettings()
    p = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve other machines")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--db", default=os.environ.get("EMOTION_DB_URL") or defaults.db_url)
    p.add_argument(
        "--model",
        type=Path,
        default=Path(os.environ.get("EMOTION_MODEL_PATH") or defaults.model_path),
    )
    p.add_argument("--max-image-mb", type=float, default=defaults.max_image_bytes / MB)
    p.add_argument("--max-images", type=int, default=defaults.max_images)
    p.add_argument("--max-video-mb", type=float, default=defaults.max_video_bytes / MB)
    p.add_argument("--photo-workers", type=int, default=defaults.photo_workers)
    p.add_argument("--video-workers", type=int, default=defaults.video_workers)
    args = p.parse_args(argv)
    try:
        settings = ApiSettings(
            db_url=args.db,
            model_path=args.model,
            max_image_bytes=round(args.max_image_mb * MB),
            max_images=args.max_images,
            max_video_bytes=round(args.max_video_mb * MB),
            photo_workers=args.photo_workers,
            video_workers=args.video_workers,
        )
    except ValueError as exc:
        p.error(str(exc))
    return args, settings


def main(argv: list[str] | None = None) -> int:
    args, settings = parse_settings(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
