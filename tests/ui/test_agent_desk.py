"""What an agent may paste to a customer, and the sources panel's view of citations."""

from __future__ import annotations

from assistant.chain import AssistantReply, Citation
from ui.agent_desk import SourceView, customer_copy


def citation(n: int, audience: str, title: str) -> Citation:
    return Citation(
        n=n, source_id=f"chunk-{n}", document_id=f"doc-{n}", title=title, kind="owner_manual",
        audience=audience, section="Warning lights", page=None, anchor=None,
        vehicle="Halvard Brisa 2020", effective_date="2024-01-01", quote="quoted", score=0.8,
    )  # fmt: skip


def test_the_customer_copy_keeps_public_sentences_renumbered_with_footnotes() -> None:
    reply = AssistantReply(
        answer="Check the gas cap. [1] Reflash the ECM to calibration 4.2. [2] "
        "If the light flashes, slow down. [3]",
        session_id="s",
        citations=[
            citation(1, "public", "Brisa owner's manual"),
            citation(2, "agents", "TSB-HV-23-014"),
            citation(3, "public", "Brisa FAQ"),
        ],
    )
    copy = customer_copy(reply)
    assert copy.relied_on_internal is True
    assert "calibration" not in copy.text and "TSB" not in copy.text
    assert copy.text.startswith("Check the gas cap. [1] If the light flashes, slow down. [2]")
    assert copy.text.endswith(
        "Sources:\n[1] Brisa owner's manual, Warning lights\n[2] Brisa FAQ, Warning lights"
    )


def test_an_all_public_answer_is_copied_whole() -> None:
    reply = AssistantReply(
        answer="Hold SET for 3 seconds. [1]",
        session_id="s",
        citations=[citation(1, "public", "Tessel owner's manual")],
    )
    copy = customer_copy(reply)
    assert copy.relied_on_internal is False and copy.text.startswith("Hold SET for 3 seconds. [1]")


def test_a_source_view_marks_internal_documents() -> None:
    assert SourceView.of(citation(2, "agents", "TSB")).internal is True
    public = SourceView.of(citation(1, "public", "Manual"))
    assert public.internal is False and public.kind == "owner manual" and public.score == 0.8
