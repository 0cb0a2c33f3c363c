"""An open_clip pretrained tag's weights: from the local cache when they are there, otherwise downloaded only once
the host answers, so that a machine without network gets its clear error at once rather than after open_clip and
huggingface_hub have retried every candidate file for most of a minute."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rsbench.errors import RsbenchError

CONNECT_TIMEOUT_S = 3.0  # one TCP connect to the host: a reachable hub answers far sooner


def offline_message(name: str, tag: str, why: str) -> str:
    return (f"could not fetch open_clip weights {name} / {tag}: {why}. This machine may have no network: download "
            f"them where there is one (open_clip.create_model('{name}', pretrained='{tag}') fills open_clip's cache), "
            f"copy the file here and pass its path as pretrained, or set cache_dir to a cache that already holds it.")


def _hub_file(tag_cfg: dict[str, Any]) -> tuple[str, list[str]] | None:
    """(repo id, file names to try, safetensors first) when open_clip would fetch the tag from the Hugging Face
    Hub, as ``open_clip.pretrained.download_pretrained`` decides; None for a plain URL."""
    from open_clip import pretrained

    if not (tag_cfg.get("hf_hub") and pretrained.has_hf_hub()):
        return None
    repo, filename = os.path.split(tag_cfg["hf_hub"])
    filename = filename or pretrained.HF_WEIGHTS_NAME
    return repo, [*pretrained._get_safe_alternatives(filename), filename]


def cached_weights(tag_cfg: dict[str, Any], cache_dir: str | None) -> str | None:
    """The weights' path when they are already on this machine (nothing is asked of the network), else None."""
    if tag_cfg.get("file"):
        return str(tag_cfg["file"])
    hub = _hub_file(tag_cfg)
    if hub is not None:
        from huggingface_hub import hf_hub_download

        repo, names = hub
        for filename in names:
            try:
                return hf_hub_download(repo_id=repo, filename=filename, cache_dir=cache_dir, local_files_only=True)
            except Exception:  # huggingface_hub's "not in the cache" (LocalEntryNotFoundError and kin)
                continue
        return None
    url = tag_cfg.get("url") or ""
    target = Path(cache_dir or Path("~/.cache/clip").expanduser()) / os.path.basename(url)
    return str(target) if url and target.is_file() else None


def download_host(tag_cfg: dict[str, Any]) -> str:
    """The URL the download would contact first: the Hub's endpoint (``HF_ENDPOINT``) or the tag's URL."""
    if _hub_file(tag_cfg) is not None:
        from huggingface_hub import constants

        return constants.ENDPOINT
    return str(tag_cfg.get("url") or "")


def reachable(url: str, timeout: float = CONNECT_TIMEOUT_S) -> str | None:
    """None when ``url``'s host accepts a TCP connection within ``timeout`` seconds, else why not."""
    parts = urlparse(url)
    if not parts.hostname:
        return f"no host in {url!r}"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{parts.hostname}:{port} cannot be reached ({type(exc).__name__}: {exc})"


def fetch_pretrained(name: str, tag: str, tag_cfg: dict[str, Any], cache_dir: str | None) -> str:
    """The local path of a tag's weights: the cached file, or one download once the host answers."""
    from open_clip import pretrained

    cached = cached_weights(tag_cfg, cache_dir)
    if cached is not None and _hub_file(tag_cfg) is not None:
        return cached
    if cached is None:
        if _hub_file(tag_cfg) is not None and os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
            raise RsbenchError(offline_message(name, tag, "they are not in the cache and HF_HUB_OFFLINE is set"))
        why = reachable(download_host(tag_cfg))
        if why is not None:
            raise RsbenchError(offline_message(name, tag, f"they are not in the cache and {why}"))
    try:  # a cached URL file is checked against its digest by open_clip without the network
        path = pretrained.download_pretrained(tag_cfg, cache_dir=cache_dir)
    # The network boundary: urllib, huggingface_hub and requests each raise their own types.
    except Exception as exc:
        raise RsbenchError(offline_message(name, tag, f"{type(exc).__name__}: {exc}")) from exc
    if not path:
        raise RsbenchError(f"open_clip lists {name} / {tag} but gives no place to download it from")
    return str(path)
