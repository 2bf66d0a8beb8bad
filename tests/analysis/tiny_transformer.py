"""Build a real (tiny) ONNX sequence classifier and its tokenizer for the transformer back end.

The graph is what an exported classifier looks like from outside — int64 input_ids and
attention_mask in, logits [batch, labels] out — but its "encoder" is one embedding table whose
masked rows are summed: every token votes for negative or positive. That is enough to check the
back end end to end (tokenising, padding, truncation, the runtime, label mapping) on real files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

VOTES = {  # token → (negative, positive) logit contribution
    "[PAD]": (0.0, 0.0),
    "[UNK]": (0.0, 0.0),
    "好": (0.0, 2.0),
    "棒": (0.0, 2.0),
    "差": (2.0, 0.0),
    "烂": (2.0, 0.0),
    "good": (0.0, 2.0),
    "bad": (2.0, 0.0),
}


def build(directory: Path, *, config: dict | None = None, max_length: int = 16) -> Path:
    """Write model.onnx, tokenizer.json and clamor.json into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    vocab = {token: i for i, token in enumerate(VOTES)}
    _write_tokenizer(directory / "tokenizer.json", vocab)
    _write_model(directory / "model.onnx", np.array(list(VOTES.values()), dtype=np.float32))
    settings = config or {
        "labels": ["negative", "positive"],
        "languages": ["zh", "en"],
        "max_length": max_length,
    }
    (directory / "clamor.json").write_text(json.dumps(settings), encoding="utf-8")
    return directory


def _write_tokenizer(path: Path, vocab: dict[str, int]) -> None:
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel

    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    # As BERT's tokenizer does: every Han character is a token of its own.
    tokenizer.normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.save(str(path))


def _write_model(path: Path, embedding: np.ndarray) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Gather", ["embedding", "input_ids"], ["votes"]),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "last_axis"], ["mask_3d"]),
        helper.make_node("Mul", ["votes", "mask_3d"], ["kept"]),
        helper.make_node("ReduceSum", ["kept", "token_axis"], ["logits"], keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_sentiment",
        inputs=[
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "length"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "length"]),
        ],
        outputs=[helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        initializer=[
            numpy_helper.from_array(embedding, "embedding"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "last_axis"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "token_axis"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
