"""The shipped model files: found in the package, loaded once per process, shared by threads."""

from __future__ import annotations

import threading
from pathlib import Path

from clamor.analysis.linear import LinearTextModel
from clamor.core.errors import ConfigurationError

MODEL_DIR = Path(__file__).parent / "models"
SENTIMENT_ZH = "sentiment_zh"
SENTIMENT_EN = "sentiment_en"
CATEGORY = "category"

_lock = threading.Lock()
_loaded: dict[str, LinearTextModel] = {}
_loaded_versions: dict[str, str] = {}


def model_path(name: str, model_dir: Path | None = None) -> Path:
    return (model_dir or MODEL_DIR) / f"{name}.npz"


def get_model(name: str) -> LinearTextModel:
    """The model `name`, loading it on first use (thread-safe, at most once)."""
    model = _loaded.get(name)
    if model is not None:
        return model
    with _lock:
        if name not in _loaded:
            path = model_path(name)
            if not path.exists():
                raise ConfigurationError(
                    f"model file {path.name} is missing from the package: run `clamor train`"
                )
            _loaded[name] = LinearTextModel.load(path)
        return _loaded[name]


def preload() -> None:
    """Load every model now (e.g. at worker start) instead of on the first item."""
    for name in (SENTIMENT_ZH, SENTIMENT_EN, CATEGORY):
        get_model(name)


def clear_cache() -> None:
    """Forget loaded models (after `clamor train` wrote new files in this process)."""
    with _lock:
        _loaded.clear()
        _loaded_versions.clear()


def model_versions() -> str:
    """One string naming the version of every model, recorded with each analysis."""
    cached = _loaded_versions.get("all")
    if cached is None:
        names = (SENTIMENT_ZH, SENTIMENT_EN, CATEGORY)
        cached = ";".join(f"{name}@{get_model(name).version}" for name in names)
        _loaded_versions["all"] = cached
    return cached
