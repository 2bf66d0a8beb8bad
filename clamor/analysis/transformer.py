"""An optional sentiment back end: the user's own local transformer, exported to ONNX.

The shipped n-gram models run everywhere at thousands of items per second; a fine-tuned
BERT-class model reads Chinese sentiment a few points better (≈ .95 on ChnSentiCorp) at a
hundredth of the speed. A deployment that wants that trade points `CLAMOR_SENTIMENT_MODEL_DIR` at
a directory it already holds — nothing is ever downloaded:

    model.onnx       a sequence classifier: inputs input_ids / attention_mask (and optionally
                     token_type_ids), int64 [batch, length]; first output logits [batch, labels]
    tokenizer.json   its Hugging Face fast tokenizer
    clamor.json      {"labels": ["negative", "positive"], "languages": ["zh"], "max_length": 256}
                     (or a Hugging Face config.json whose id2label names the sentiments)

Only the probabilities come from the transformer; the reasons shown to the user still come from
the shipped model's n-gram weights, which can say which words mattered. `onnxruntime` and
`tokenizers` are the `transformer` extra (`pip install 'clamor[transformer]'`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clamor.core.errors import ConfigurationError

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "clamor.json"
HF_CONFIG_FILE = "config.json"
SENTIMENTS = ("negative", "neutral", "positive")
LABEL_ALIASES = {"neg": "negative", "pos": "positive", "neu": "neutral"}
DEFAULT_MAX_LENGTH = 256
# Texts are scored this many at a time: padding to the longest of a few dozen keeps the
# matrices small while still amortising the per-call overhead of the runtime.
BATCH = 32


@dataclass(frozen=True)
class TransformerConfig:
    labels: tuple[str, ...]
    languages: frozenset[str]
    max_length: int


@dataclass
class TransformerSentiment:
    """A loaded ONNX sentiment model with its tokenizer; thread-safe for scoring."""

    directory: Path
    config: TransformerConfig
    version: str
    _session: Any
    _tokenizer: Any
    _inputs: tuple[str, ...]

    @classmethod
    def load(cls, directory: Path) -> TransformerSentiment:
        directory = Path(directory)
        if not directory.is_dir():
            raise ConfigurationError(f"sentiment model directory {directory} does not exist")
        for name in (MODEL_FILE, TOKENIZER_FILE):
            if not (directory / name).is_file():
                raise ConfigurationError(f"sentiment model directory {directory} has no {name}")
        config = read_config(directory)
        session, tokenizer = _open_runtime(directory, config.max_length)
        inputs = tuple(i.name for i in session.get_inputs())
        unknown = set(inputs) - {"input_ids", "attention_mask", "token_type_ids"}
        if "input_ids" not in inputs or unknown:
            raise ConfigurationError(
                f"{directory / MODEL_FILE} takes inputs {list(inputs)}; expected input_ids, "
                "attention_mask and optionally token_type_ids"
            )
        version = "transformer@" + _digest(directory / MODEL_FILE)
        return cls(directory, config, version, session, tokenizer, inputs)

    def reads(self, language: str) -> bool:
        return language in self.config.languages

    def probabilities_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """P(label) for each text, over the model's own labels."""
        found: list[dict[str, float]] = []
        for begin in range(0, len(texts), BATCH):
            found.extend(self._score(texts[begin : begin + BATCH]))
        return found

    def _score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        encodings = self._tokenizer.encode_batch([t or " " for t in texts])
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        logits = np.asarray(
            self._session.run(None, {k: feeds[k] for k in self._inputs})[0], dtype=np.float64
        )
        if logits.ndim != 2 or logits.shape[1] != len(self.config.labels):
            raise ConfigurationError(
                f"{self.directory / MODEL_FILE} gave logits of shape {logits.shape}; "
                f"expected [batch, {len(self.config.labels)}] for labels {self.config.labels}"
            )
        probabilities = _softmax(logits)
        return [dict(zip(self.config.labels, row.tolist(), strict=True)) for row in probabilities]


def read_config(directory: Path) -> TransformerConfig:
    """The labels, languages and length limit, from clamor.json or a Hugging Face config.json."""
    own, hugging_face = directory / CONFIG_FILE, directory / HF_CONFIG_FILE
    if own.is_file():
        raw = _read_json(own)
        labels = raw.get("labels")
        source = own
    elif hugging_face.is_file():
        raw = _read_json(hugging_face)
        id2label = raw.get("id2label") or {}
        labels = [id2label[k] for k in sorted(id2label, key=int)] if id2label else None
        source = hugging_face
    else:
        raise ConfigurationError(
            f"sentiment model directory {directory} needs {CONFIG_FILE} naming its labels, "
            'e.g. {"labels": ["negative", "positive"], "languages": ["zh"]}'
        )
    return TransformerConfig(
        labels=_sentiment_labels(labels, source),
        languages=_languages(raw.get("languages", ["zh"]), source),
        max_length=_max_length(raw.get("max_length", DEFAULT_MAX_LENGTH), source),
    )


def _sentiment_labels(labels: object, source: Path) -> tuple[str, ...]:
    if not isinstance(labels, list) or not labels:
        raise ConfigurationError(f"{source}: labels must be a list such as [negative, positive]")
    named = tuple(LABEL_ALIASES.get(str(v).lower(), str(v).lower()) for v in labels)
    wrong = [v for v, n in zip(labels, named, strict=True) if n not in SENTIMENTS]
    if wrong or "negative" not in named or "positive" not in named or len(set(named)) != len(named):
        raise ConfigurationError(
            f"{source}: labels {labels} must name negative and positive (and optionally neutral) "
            f"once each, in the order of the model's outputs; write them into {CONFIG_FILE}"
        )
    return named


def _languages(value: object, source: Path) -> frozenset[str]:
    if not isinstance(value, list) or not value or any(v not in ("zh", "en") for v in value):
        raise ConfigurationError(f"{source}: languages must be a list of zh and/or en")
    return frozenset(value)


def _max_length(value: object, source: Path) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 8 <= value <= 4096:
        raise ConfigurationError(f"{source}: max_length must be a whole number from 8 to 4096")
    return value


def _read_json(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{path} must hold a JSON object")
    return raw


def _open_runtime(directory: Path, max_length: int) -> tuple[Any, Any]:
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError:
        raise ConfigurationError(
            "a transformer sentiment model needs onnxruntime and tokenizers: "
            "pip install 'clamor[transformer]'"
        ) from None
    options = onnxruntime.SessionOptions()
    # One thread per session: the workers already run one process per core.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        session = onnxruntime.InferenceSession(
            str(directory / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
    except Exception as exc:  # the runtimes raise their own types for unreadable files
        raise ConfigurationError(f"cannot load the model in {directory}: {exc}") from None
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    return session, tokenizer


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:12]
