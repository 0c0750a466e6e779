"""Refusal signals, the calibrated refusal model, and a build that records one in its manifest."""

from __future__ import annotations

import dataclasses
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexes.refs import IndexRef
from indexes.types import ChunkRecord, SearchHit
from ingest.embedding import Embedder
from ingest.sparse import SparseEncoder
from rag.calibration import load_calibration_set
from rag.refusal import (
    FEATURES,
    WORDLESS_FEATURES,
    RefusalModel,
    calibrate,
    conformal_threshold,
    held_out_refusals,
    refusal_signals,
)
from rag.wiring import Services, build_calibrator, build_services
from tests.conftest import SAMPLE_DIR, ServicesFactory, make_settings

GOLDEN = Path(__file__).resolve().parents[2] / "ingest" / "sample_handbook_golden" / "golden.jsonl"


@pytest.fixture(scope="module")
def calibrating(built_sample: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Services]:
    """Services whose builds calibrate on golden.jsonl, over a private copy of the built sample (v1).

    Shared by the two calibration tests: a calibration searches every calibration question, and the
    sentence vectors the retriever keeps (per services) serve the second calibration too.
    """
    target = tmp_path_factory.mktemp("calibrating") / "data"
    shutil.copytree(built_sample, target)
    services = build_services(make_settings(target, calibration_sets={"policies": GOLDEN}), embedder=embedder)
    yield services
    services.close()
    shutil.rmtree(target, ignore_errors=True)


def _hit(text: str, similarity: float) -> SearchHit:
    chunk = ChunkRecord(
        chunk_id="c",
        doc_id="d",
        title="T",
        heading_path=[],
        page=None,
        start=0,
        end=len(text),
        text=text,
        token_count=5,
        content_hash="h",
        source="d.md",
    )
    return SearchHit(chunk=chunk, score=1.0, similarity=similarity)


def test_signals_measure_how_much_of_the_question_one_sentence_holds() -> None:
    hits = [_hit("Annual leave is 26 days a year. Parking is free.", 0.7)]
    covered = refusal_signals("How many days of annual leave a year?", hits, SparseEncoder())
    missing = refusal_signals("Is there a nap room in the office?", hits, SparseEncoder())
    assert covered["best_similarity"] == 0.7
    assert covered["sentence_coverage"] > 0.7 > missing["sentence_coverage"]
    assert refusal_signals("anything", [], SparseEncoder())["best_similarity"] == 0.0


def test_calibration_keeps_false_refusals_within_the_limit_and_refuses_the_weak() -> None:
    rng = random.Random(0)
    answerable = [True] * 60 + [False] * 40
    signals = [
        {
            "best_similarity": rng.gauss(0.65 if a else 0.45, 0.08),
            "weakest_term_similarity": rng.gauss(0.6 if a else 0.3, 0.15),
        }
        for a in answerable
    ]
    model = calibrate(signals, answerable, fitted_on={"name": "synthetic"}, max_false_refusal=0.05)
    assert model.features == FEATURES and model.fitted_on == {"name": "synthetic"}
    # the threshold is chosen on the questions fitted: on them the limit holds exactly; the nested
    # cross-validation estimates new questions, and with 60 answerable ones may miss it by a few
    assert model.in_sample["false_refusal"] <= 0.05
    assert model.cross_validated["false_refusal"] <= 0.15
    assert model.cross_validated["refused_unanswerable"] > 0.5  # well-separated data: most are refused
    assert model.refuses({"best_similarity": 0.2, "weakest_term_similarity": 0.0})
    assert not model.refuses({"best_similarity": 0.9, "weakest_term_similarity": 1.0})
    assert RefusalModel.model_validate(model.model_dump(mode="json")) == model  # survives the manifest


def test_the_threshold_bounds_false_refusals_of_new_questions_not_just_the_fitted_ones() -> None:
    # Scores uniform on [0, 1): a new answerable question is refused with probability equal to the
    # threshold itself, so the mean threshold over many golden sets is the expected false-refusal
    # rate on new questions. Refusing the floor(0.05 * 64) = 3 lowest of 64 gave 4 / 65 = 0.062.
    rng = random.Random(7)
    thresholds = [conformal_threshold([rng.random() for _ in range(64)], [True] * 64, 0.05) for _ in range(2000)]
    assert sum(thresholds) / len(thresholds) == pytest.approx(3 / 65, abs=0.004)
    ranked = sorted(rng.random() for _ in range(64))
    threshold = conformal_threshold(ranked + [0.0] * 10, [True] * 64 + [False] * 10, 0.05)
    assert ranked[1] < threshold < ranked[2]  # 2 of the 64 fitted on are refused; unanswerable ones don't count
    # too few answerable questions to bound the rate at 5%: only scores below all of them are refused
    assert conformal_threshold([0.3, 0.5, 0.7], [True] * 3, 0.05) == pytest.approx(0.3)


def test_held_out_refusals_average_several_draws_of_the_folds() -> None:
    rng = random.Random(3)
    answerable = [True] * 60 + [False] * 30
    signals = [
        {"best_similarity": rng.gauss(0.6 if a else 0.5, 0.1), "weakest_term_similarity": rng.gauss(0.5, 0.1)}
        for a in answerable
    ]
    once = held_out_refusals(signals, answerable, repeats=1)
    five = held_out_refusals(signals, answerable, repeats=5)
    assert set(once) <= {0.0, 1.0}
    assert all(abs(v * 5 - round(v * 5)) < 1e-6 for v in five)  # shares of 5 draws
    assert any(0.0 < v < 1.0 for v in five)  # overlapping classes: folds decide some questions
    assert held_out_refusals(signals, answerable, repeats=5) == five  # fixed seeds: reproducible


def test_too_few_answerable_questions_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 5 answerable"):
        calibrate([{"best_similarity": 0.5, "sentence_coverage": 0.5}] * 8, [True] * 4 + [False] * 4, fitted_on={})


def test_answerable_questions_alone_calibrate_a_similarity_floor() -> None:
    rng = random.Random(1)
    similarities = [rng.uniform(0.2, 0.9) for _ in range(100)]
    signals = [{"best_similarity": s, "sentence_coverage": 0.5} for s in similarities]
    # two unanswerable questions are too few to learn from: counted, not fitted
    signals += [{"best_similarity": 0.1, "sentence_coverage": 0.0}, {"best_similarity": 0.95, "sentence_coverage": 1.0}]
    model = calibrate(signals, [True] * 100 + [False] * 2, fitted_on={"name": "answerable only"})
    assert model.method == "floor" and model.features == ("best_similarity",)
    # k = floor(0.05 * 101) = 5: the floor is the 5th lowest of the 100, so 4 of them are refused
    assert sorted(similarities)[3] < model.threshold <= sorted(similarities)[4]
    assert model.in_sample == {"false_refusal": 0.04, "refused_unanswerable": 0.5}
    assert 0.0 < model.cross_validated["false_refusal"] <= 0.12
    assert model.refuses({"best_similarity": sorted(similarities)[3]})
    assert not model.refuses({"best_similarity": sorted(similarities)[4]})
    assert RefusalModel.model_validate(model.model_dump(mode="json")) == model


def test_both_calibration_formats_load(tmp_path: Path) -> None:
    golden = load_calibration_set(GOLDEN)  # golden.jsonl with unanswerable.jsonl beside it
    kinds = [a for _, a in golden.questions]
    assert golden.name == "golden.jsonl" and sum(kinds) > 50 and kinds.count(False) > 30
    folder = tmp_path / "qs"
    folder.mkdir()
    (folder / "questions.jsonl").write_text(
        '{"id": "1", "question": "a?", "answerable": true}\n{"id": "2", "question": "b?", "answerable": false}\n'
    )
    qs = load_calibration_set(folder)
    assert qs.questions == (("a?", True), ("b?", False)) and qs.name == "qs"


def test_a_build_records_its_calibration_and_questions_are_refused_by_it(calibrating: Services) -> None:
    s = calibrating
    assert s.registry.resolve(IndexRef("policies", 1)).manifest.refusal is None  # the sample as built, uncalibrated
    s.builder.build("policies", SAMPLE_DIR, promote=True)  # v2: every vector reused from v1, calibrated anew
    version = s.registry.resolve(IndexRef("policies"))
    assert version.version == 2
    model = RefusalModel.model_validate(version.manifest.refusal)
    assert model.fitted_on["name"] == "golden.jsonl" and model.fitted_on["unanswerable"] > 30
    assert model.in_sample["false_refusal"] <= 0.05
    assert s.assistant.refusal_policy(version)["source"] == "calibrated on golden.jsonl"
    # the assistant decides with the model: a question it scores below the threshold is refused
    record = s.assistant.ask("Can I bring my pet iguana to the office garden party?", record=False)
    assert model.features == ("best_similarity", "weakest_term_similarity")
    expected = model.refuses(s.assistant.refusal_signals(version, record.question))
    assert record.refused == expected
    assert not s.assistant.ask("How many days of paid vacation do I get each year?", record=False).refused


def test_without_the_word_signal_calibration_fits_the_earlier_features(calibrating: Services) -> None:
    s = calibrating
    settings = make_settings(s.settings.data_dir, calibration_sets={"policies": GOLDEN}, refusal_weakest_term=False)
    calibrator = build_calibrator(settings, s.assistant.retriever)
    assert calibrator is not None
    manifest = calibrator(s.registry.resolve(IndexRef("policies", 1)).manifest)  # the sample as built
    model = RefusalModel.model_validate(manifest.refusal)
    assert model.features == WORDLESS_FEATURES and model.fitted_on["name"] == "golden.jsonl"


def test_a_version_fitted_on_the_earlier_features_is_still_decided_by_them(
    services_factory: ServicesFactory, sample_copy: Path
) -> None:
    s = services_factory(data_dir=sample_copy)
    version = s.registry.resolve(IndexRef("policies"))
    question = "How many days of paid vacation do I get each year?"
    hits = s.assistant.retriever.search(version, question, 5)
    signals = refusal_signals(question, hits, SparseEncoder())
    # a model of session 10's features, its threshold just above this question's answerability
    earlier = RefusalModel(
        features=("best_similarity", "sentence_coverage"),
        weights=(4.0, 2.0),
        bias=-3.0,
        threshold=0.0,
        fitted_on={"name": "earlier"},
        in_sample={},
        cross_validated={},
    )
    at = earlier.answerability(signals)
    for number, (threshold, refused) in enumerate(((at + 1e-6, True), (at - 1e-6, False)), start=100):
        model = earlier.model_copy(update={"threshold": threshold})
        stored = version.manifest.model_copy(update={"refusal": model.model_dump(mode="json"), "version": number})
        fitted = dataclasses.replace(version, version=number, manifest=stored)
        assert s.assistant.refuses(fitted, question, hits) is refused
