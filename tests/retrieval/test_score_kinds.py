"""Score spaces made explicit (issue 24): a reranker refuses, before any work, a strategy's scores it is not
defined on; plugins that declare nothing keep working; the record names the kind."""

from __future__ import annotations

import pytest

from rsbench.config import build_config
from rsbench.errors import ConfigError
from rsbench.retrieval.rerankers import make_reranker
from rsbench.retrieval.rerankers.base import SCORE_KINDS, check_score_kind


class Declares:
    def __init__(self, kind):
        self.score_kind = kind


REFUSED = [("text-to-text", "sentence-cosine", "qb-norm"), ("hybrid", "z-score", "qb-norm"),
           ("hybrid", "z-score", "dual-softmax"), ("hybrid", "z-score", "galr")]
ACCEPTED = [("dual-stream", "cosine", r) for r in ("none", "qb-norm", "dual-softmax", "csls", "galr")] + [
    ("fast-then-fine", "cosine", "qb-norm"), ("text-to-text", "sentence-cosine", "dual-softmax"),
    ("text-to-text", "sentence-cosine", "csls"), ("hybrid", "z-score", "csls"), ("hybrid", "z-score", "none")]


def strategy(name):
    return build_config(None, {"strategy": {"name": name}}).build("strategy")


@pytest.mark.parametrize(("name", "kind"), [("dual-stream", "cosine"), ("fast-then-fine", "cosine"),
                                            ("text-to-text", "sentence-cosine"), ("hybrid", "z-score")])
def test_every_built_in_strategy_declares_its_score_kind(name, kind):
    assert strategy(name).score_kind == kind and kind in SCORE_KINDS


@pytest.mark.parametrize(("name", "kind", "reranker"), REFUSED)
def test_a_reranker_refuses_scores_it_was_not_defined_on(name, kind, reranker):
    with pytest.raises(ConfigError, match=f"reranker {reranker} .* strategy {name} gives {kind} scores"):
        check_score_kind(Declares(kind), make_reranker(reranker), (name, reranker))


@pytest.mark.parametrize(("name", "kind", "reranker"), ACCEPTED)
def test_a_reranker_accepts_the_scores_it_was_defined_on(name, kind, reranker):
    check_score_kind(Declares(kind), make_reranker(reranker), (name, reranker))


def test_plugins_that_declare_nothing_are_compatible():
    check_score_kind(object(), make_reranker("qb-norm"))  # a strategy without score_kind
    check_score_kind(Declares("z-score"), object())  # a reranker without accepts


def test_the_run_refuses_the_combination_before_loading_any_model(monkeypatch):
    from rsbench.retrieval.evaluator import build_evaluation
    from rsbench.retrieval.strategies.text_to_text import TextToText

    def never(self):
        raise AssertionError("the sentence encoder was loaded before the refusal")

    monkeypatch.setattr(TextToText, "prepare", never)
    cfg = build_config(None, {"strategy": {"name": "text-to-text"}, "reranker": {"name": "qb-norm"},
                              "captioner": {"name": "oracle"}})
    with pytest.raises(ConfigError, match="reranker qb-norm .* strategy text-to-text gives sentence-cosine"):
        build_evaluation(cfg, object(), None, set())  # no split to check: the refusal comes first


def test_the_record_names_the_score_kind():
    from rsbench.retrieval.base import EvalSplit
    from rsbench.retrieval.evaluator import evaluate
    from rsbench.retrieval.rerankers.base import NoRerank
    from rsbench.testing.retrieval import _FixedEncoder

    split = EvalSplit(records=[None] * 4, captions=[f"c{i}" for i in range(6)], caption_to_image=[0, 1, 2, 3, 0, 1])
    evaluation = evaluate(_FixedEncoder(4, 6), split, strategy("dual-stream"), NoRerank())
    assert evaluation.retrieval["score_kind"] == "cosine"


def test_the_contract_checks_refuse_an_unknown_score_kind():
    from rsbench.testing import check_reranker, check_strategy

    class Misspelt:
        score_kind = "cosin"

        def retrieve(self, split, encoder):
            raise AssertionError("checked before retrieving")

    class Picky:
        accepts = ("cosine", "zscore")

        def rerank(self, scores, context):
            return scores

    with pytest.raises(Exception, match="score_kind must name kinds from cosine"):
        check_strategy(Misspelt())
    with pytest.raises(Exception, match="accepts must name kinds from cosine"):
        check_reranker(Picky())


def test_a_sweep_refuses_the_combination_when_it_is_planned(tmp_path):
    import yaml

    from rsbench.sweep.plan import load_sweep
    from rsbench.sweep.runner import SweepRunner

    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": {"device": "cpu", "captioner": {"name": "oracle"}},
                                    "grid": {"strategy.name": ["dual-stream", "hybrid"],
                                             "reranker.name": ["none", "dual-softmax"]}}))
    with pytest.raises(ConfigError, match="sweep sweep, run .*hybrid.*dual-softmax.*gives z-score scores"):
        SweepRunner(load_sweep(path), tmp_path / "results", [], None).plan()


def test_rsbench_eval_refuses_the_grid_with_one_error_line_before_encoding(tmp_path, capsys, monkeypatch):
    from rsbench.cli import main
    from rsbench.retrieval.saved_model import LoadedModel

    def never(self, *args, **kwargs):
        raise AssertionError("encoded before the refusal")

    monkeypatch.setattr(LoadedModel, "encoder", never)
    with pytest.raises(SystemExit) as info:
        main(["eval", "--backbone", "rsbench-tiny", "--pretrained", "synthetic", "--device", "cpu",
              "--strategy", "dual-stream,text-to-text", "--rerank", "none,qb-norm",
              "--results-dir", str(tmp_path / "results"), "--set", "captioner.name=oracle",
              "--set", "dataset.num_images=60", "--set", "dataset.image_size=32"])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert [line for line in err.splitlines() if line.strip()] == [
        next(line for line in err.splitlines() if line.startswith("error: reranker qb-norm"))]
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.json"))


def test_score_kinds_fit_says_which_configs_would_be_refused():
    from rsbench.retrieval.rerankers.base import score_kinds_fit

    def cfg(strategy, reranker):
        return build_config(None, {"strategy": {"name": strategy}, "reranker": {"name": reranker}})

    assert [score_kinds_fit(cfg(s, r)) for s, _, r in REFUSED] == [False] * len(REFUSED)
    assert all(score_kinds_fit(cfg(s, r)) for s, _, r in ACCEPTED)
