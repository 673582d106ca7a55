"""Eval corpora: a knowledge base built from real or sample sources, and the cases asked of it.

The corpora are described in `evals/corpora.yaml`. Real sources are read in place from the
shared data folder and never copied into the project.

    corpora = load_corpora()
    cases = corpus_cases(corpora["s10"], shared_root)
    sources, manifest = corpus_sources(corpora["venza"], shared_root, scratch_dir)
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evals.dataset import EvalCase, Expectation, Split, load_dataset
from evals.yaml_errors import invalid_yaml
from knowledge.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORPORA_FILE = Path(__file__).resolve().parent / "corpora.yaml"
DEFAULT_SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
SECTION_SEPARATOR = ">"


class CorpusSource(BaseModel):
    """One file or folder to ingest, with the metadata a file without front matter needs."""

    model_config = ConfigDict(extra="forbid")

    project: str | None = None
    shared: str | None = None
    document: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_root(self) -> CorpusSource:
        if (self.project is None) == (self.shared is None):
            raise ValueError("give exactly one of project: or shared:")
        return self


class CaseSource(BaseModel):
    """Where a corpus's cases come from: our JSONL, or an e-manual expert-question CSV."""

    model_config = ConfigDict(extra="forbid")

    jsonl: str | None = None
    emanual_csv: str | None = None
    dev_share: float = Field(default=0.4, gt=0, lt=1)
    hash_split: bool = False
    """Give JSONL cases without a split one drawn from a hash of the id (`dev_share` to dev);
    the e-manual questions always are."""

    @model_validator(mode="after")
    def _one_kind(self) -> CaseSource:
        if (self.jsonl is None) == (self.emanual_csv is None):
            raise ValueError("give exactly one of jsonl: or emanual_csv:")
        return self


class Corpus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    sources: list[CorpusSource] = Field(min_length=1)
    cases: CaseSource
    profile: str | None = None
    """The carmaker profile its assistant runs with (a project path), if any."""

    @property
    def profile_path(self) -> Path | None:
        return PROJECT_ROOT / self.profile if self.profile else None

    @property
    def needs_shared_data(self) -> bool:
        return self.cases.emanual_csv is not None or any(s.shared for s in self.sources)

    @property
    def knowledge_base(self) -> str:
        """The knowledge base the eval builds for this corpus, beside the user's own."""
        return f"eval-{self.name}"


def load_corpora(path: Path = CORPORA_FILE) -> dict[str, Corpus]:
    """The corpora by name, in the file's order."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise invalid_yaml(path, error) from error
    if not isinstance(data, dict) or not data:
        raise InputError(str(path), "a corpora file maps corpus names to {sources, cases}")
    corpora = {}
    for name, body in data.items():
        try:
            corpora[str(name)] = Corpus.model_validate({"name": str(name), **(body or {})})
        except ValidationError as error:
            issue = error.errors()[0]
            where = ".".join(str(part) for part in issue["loc"])
            raise InputError(str(path), f"corpus {name!r}, {where}: {issue['msg']}") from error
    return corpora


def select_corpora(corpora: dict[str, Corpus], names: list[str]) -> list[Corpus]:
    """The corpora named, `all` for every one; an unknown name is refused with the known ones."""
    if "all" in names:
        return list(corpora.values())
    unknown = [name for name in names if name not in corpora]
    if unknown:
        raise InputError(
            "--corpus",
            f"no corpus {', '.join(unknown)}; choose from {', '.join(corpora)} or all",
        )
    return [corpora[name] for name in dict.fromkeys(names)]


def _shared_file(shared_root: Path, relative: str, corpus: str) -> Path:
    path = shared_root / relative
    if not path.exists():
        raise InputError(
            str(path),
            f"corpus {corpus!r} reads this file of the shared data, which is not here; put the "
            "shared data folder beside the project or pass --shared-data DIR, or leave the "
            "corpus out (--corpus sample)",
        )
    return path


def corpus_sources(corpus: Corpus, shared_root: Path, scratch: Path) -> tuple[list[Path], Path]:
    """The paths to ingest, and a manifest (written into `scratch`) with their metadata."""
    paths: list[Path] = []
    entries: list[dict[str, Any]] = []
    for source in corpus.sources:
        if source.project is not None:
            path = PROJECT_ROOT / source.project
        else:
            assert source.shared is not None
            path = _shared_file(shared_root, source.shared, corpus.name)
        paths.append(path)
        if source.document is not None:
            entries.append({"path": str(path.resolve()), **source.document})
    scratch.mkdir(parents=True, exist_ok=True)
    manifest = scratch / f"{corpus.name}.manifest.yaml"
    manifest.write_text(yaml.safe_dump({"documents": entries}), encoding="utf-8")
    return paths, manifest


def corpus_cases(corpus: Corpus, shared_root: Path) -> list[EvalCase]:
    """The corpus's cases, each tagged with the corpus name (and its split, where it has one)."""
    if corpus.cases.jsonl is not None:
        cases = [
            case if case.split or not corpus.cases.hash_split else case.model_copy(
                update={"split": hashed_split(corpus.name, case.id, corpus.cases.dev_share)}
            )
            for case in load_dataset(PROJECT_ROOT / corpus.cases.jsonl)
        ]  # fmt: skip
    else:
        assert corpus.cases.emanual_csv is not None
        csv_path = _shared_file(shared_root, corpus.cases.emanual_csv, corpus.name)
        cases = emanual_cases(csv_path, corpus.name, corpus.cases.dev_share)
    return [case.model_copy(update={"corpus": case.corpus or corpus.name}) for case in cases]


def hashed_split(corpus: str, case_id: str, dev_share: float) -> Split:
    """A split fixed by the id alone, so nobody chose it by reading the questions."""
    digest = hashlib.sha256(f"{corpus}:{case_id}".encode()).digest()
    return "dev" if int.from_bytes(digest[:8], "big") / 2**64 < dev_share else "test"


def emanual_cases(csv_path: Path, corpus: str, dev_share: float) -> list[EvalCase]:
    """E-Manual QA expert questions (question_id, question, section_path, answer) as cases."""
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"question_id", "question", "section_path"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(
                str(csv_path), f"the header lacks {', '.join(sorted(missing))}; add the column"
            )
        cases = []
        for row in reader:
            question, section = (row.get("question") or "").strip(), row["section_path"].strip()
            if not question or not section:
                raise InputError(
                    str(csv_path), "a row needs a question and a section_path", line=reader.line_num
                )
            case_id = f"{corpus}-{row['question_id'].strip()}"
            cases.append(
                EvalCase(
                    id=case_id,
                    question=question,
                    expect=Expectation.ANSWER,
                    reference_answer=(row.get("answer") or "").strip() or None,
                    expected_sections=[section],
                    tags=[corpus],
                    corpus=corpus,
                    split=hashed_split(corpus, case_id, dev_share),
                )
            )
    return cases


def section_parts(path: str) -> list[str]:
    """'Apps>Samsung apps> Camera' and 'apps > samsung apps > camera' are the same path."""
    path = path.replace("’", "'")
    parts = [" ".join(part.split()).casefold() for part in path.split(SECTION_SEPARATOR)]
    return [part for part in parts if part]


def same_section(passage_section: str, expected: str) -> bool:
    """The passage's heading path ends the expected one, or the expected one ends it.

    Corpora keep paths of different depth: the TV e-manual keeps only a section's own title,
    the S10 corpus folds a fifth level under its third. Either path ending the other (whole
    headings, compared from the end) is the same section.
    """
    found, gold = section_parts(passage_section), section_parts(expected)
    if not found or not gold:
        return False
    shorter, longer = sorted((found, gold), key=len)
    if longer[-len(shorter) :] == shorter:
        return True
    return found[-1] == gold[-1] and found[: len(found) - 1] == gold[: len(found) - 1]


def resolve_sections(case: EvalCase, known_sections: set[str]) -> EvalCase:
    """Expected sections deeper than the corpus's own headings, as the deepest ancestor it has.

    The TV e-manual corpus keeps "Getting support through Remote Management" as one entry whose
    text holds its subsection "How does Remote Support Work"; a gold path naming the
    subsection is answered by that entry.
    """
    resolved = []
    for expected in case.expected_sections:
        parts = section_parts(expected)
        for depth in range(len(parts), 0, -1):
            candidate = SECTION_SEPARATOR.join(parts[:depth])
            if any(same_section(known, candidate) for known in known_sections):
                resolved.append(candidate)
                break
        else:
            resolved.append(expected)
    return case.model_copy(update={"expected_sections": resolved})
