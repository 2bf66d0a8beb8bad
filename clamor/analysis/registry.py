"""The shipped model files: found in the package, loaded once per process, shared by threads."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from clamor.analysis.linear import LinearTextModel
from clamor.analysis.transformer import TransformerSentiment
from clamor.core.errors import ConfigurationError

MODEL_DIR = Path(__file__).parent / "models"
SENTIMENT_ZH = "sentiment_zh"
SENTIMENT_EN = "sentiment_en"
CATEGORY = "category"

_lock = threading.Lock()
_loaded: dict[str, LinearTextModel] = {}
_loaded_versions: dict[str, str] = {}
# The user's own transformer sentiment model, if CLAMOR_SENTIMENT_MODEL_DIR names one: read from
# the environment so that every process (server, workers, their pools, the CLI) agrees on it.
TRANSFORMER_DIR_VARIABLE = "CLAMOR_SENTIMENT_MODEL_DIR"
_transformer: list[TransformerSentiment | None] = []  # empty until looked up


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


def transformer_for(language: str) -> TransformerSentiment | None:
    """The configured transformer sentiment model when it reads `language`, else None."""
    if not _transformer:
        directory = os.environ.get(TRANSFORMER_DIR_VARIABLE, "").strip()
        use_transformer(Path(directory) if directory else None)
    model = _transformer[0]
    return model if model is not None and model.reads(language) else None


def use_transformer(directory: Path | None) -> None:
    """Score sentiment with the transformer in `directory` from now on (None: the shipped
    models only). A directory that cannot be loaded is an error now, not on the first item."""
    model = TransformerSentiment.load(directory) if directory is not None else None
    with _lock:
        _transformer[:] = [model]
        _loaded_versions.clear()


def preload() -> None:
    """Load every model now (e.g. at worker start) instead of on the first item."""
    for name in (SENTIMENT_ZH, SENTIMENT_EN, CATEGORY):
        get_model(name)
    transformer_for("zh")


def clear_cache() -> None:
    """Forget loaded models (after `clamor train` wrote new files in this process)."""
    with _lock:
        _loaded.clear()
        _loaded_versions.clear()
        _transformer.clear()


def model_versions() -> str:
    """One string naming the version of every model, recorded with each analysis."""
    cached = _loaded_versions.get("all")
    if cached is None:
        names = (SENTIMENT_ZH, SENTIMENT_EN, CATEGORY)
        cached = ";".join(f"{name}@{get_model(name).version}" for name in names)
        transformer_for("zh")  # looked up once, so the version names it when configured
        if _transformer[0] is not None:
            cached += f";{_transformer[0].version}"
        _loaded_versions["all"] = cached
    return cached
