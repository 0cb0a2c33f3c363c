"""The evaluation stage on its own: rsbench eval of a saved model, a checkpoint and a frozen backbone, the
parent link, evaluation-side options, one encoding pass per grid, and runs that release what they built."""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path

import pytest

from rsbench.cli import main
from rsbench.config import build_config
from rsbench.errors import ConfigError, RsbenchError

# The conftest's SMALL_RUN (a module-scoped fixture cannot take its function-scoped small_run).
SMALL_RUN = ["dataset.num_images=60", "dataset.image_size=32", "train.epochs=1", "train.max_steps=2",
             "train.batch_size=8", "eval.batch_size=64", "device=cpu"]
FROZEN = ["adapter.name=frozen", "sampler.name=batch", "augmenter.name=none"]


def invoke(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


def small_config(tmp_path: Path, *sets: str):
    return build_config(None, None, [*SMALL_RUN, f"results_dir={tmp_path / 'results'}",
                                     f"checkpoint_dir={tmp_path / 'checkpoints'}", *sets])


def records_in(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """CMER on the small run, its model saved and its checkpoint kept: (record, model folder, checkpoint)."""
    import io

    from rich.console import Console

    from rsbench.engine import run_experiment

    tmp = tmp_path_factory.mktemp("trained")
    cfg = small_config(tmp, "train.keep_checkpoint=true")
    record, _path = run_experiment(cfg, Console(file=io.StringIO()), save_model=tmp / "model")
    return record, tmp / "model", Path(record["extra"]["checkpoint"])


def evaluate(model, tmp_path, **options):
    import io

    from rich.console import Console

    from rsbench.eval.runner import evaluation_configs, run_evaluations

    configs = evaluation_configs(model, results_dir=str(tmp_path / "eval"), device="cpu", **options)
    return run_evaluations(model, configs, Console(file=io.StringIO()))


def test_eval_of_a_saved_model_gives_the_training_runs_test_metrics_and_names_its_parent(trained, tmp_path, capsys):
    record, model_dir, _ = trained
    code, out, _err = invoke(capsys, "eval", "--model", str(model_dir), "--results-dir", str(tmp_path / "eval"),
                             "--device", "cpu", "--json")
    assert code == 0
    (written,) = records_in(tmp_path / "eval")
    assert written["metrics"] == record["metrics"]  # the same numbers, not close ones
    assert written["parent_run_id"] == record["run_id"] and record["parent_run_id"] is None
    assert written["selected_on"] == record["selected_on"] == "val"  # the training chose its epoch on val
    assert written["config"] == {**record["config"], "results_dir": str(tmp_path / "eval")}
    assert written["cost"] == record["cost"]  # the training it evaluates: what the method cost
    assert json.loads(out)["parent_run_id"] == record["run_id"]


def test_eval_of_a_checkpoint_gives_the_same_metrics(trained, tmp_path):
    from rsbench.eval.runner import load_source

    record, _, checkpoint = trained
    (written, _path), = evaluate(load_source(checkpoint=checkpoint, device="cpu"), tmp_path)
    assert written["metrics"] == record["metrics"]
    assert written["extra"]["evaluation"]["model"]["checkpoint"] == str(checkpoint.resolve())


def test_a_frozen_backbone_evaluates_as_run_adapter_frozen(tmp_path, quiet_console):
    from rsbench.engine import run_experiment
    from rsbench.eval.runner import load_source

    cfg = small_config(tmp_path, *FROZEN)
    record, _ = run_experiment(cfg, quiet_console)
    model = load_source(backbone="rsbench-tiny", pretrained="synthetic", device="cpu")
    data = [s for s in SMALL_RUN if s.startswith(("dataset.", "eval."))]
    (written, _path), = evaluate(model, tmp_path, sets=data)
    assert written["metrics"] == record["metrics"]
    assert written["parent_run_id"] is None
    assert written["cost"]["trainable_params"] == 0
    assert written["selected_on"] is None is record["selected_on"]  # nothing was chosen on any split


def test_an_evaluation_side_option_changes_the_result_and_a_training_key_is_refused(trained, tmp_path, capsys):
    record, model_dir, _ = trained
    from rsbench.eval.runner import load_source

    model = load_source(model_dir, device="cpu")
    ((oracle, _),) = evaluate(model, tmp_path, sets=[])
    ((none, _),) = evaluate(model, tmp_path, sets=["augmenter.at_eval=none"])
    assert oracle["metrics"] == record["metrics"]
    assert none["metrics"]["mR"] != oracle["metrics"]["mR"]  # the queries lost their scene prompt
    assert none["dataset"]["scene_at_eval"] == "none" and none["config"]["augmenter"]["at_eval"] == "none"
    code, _out, err = invoke(capsys, "eval", "--model", str(model_dir), "--set", "train.lr=1",
                             "--results-dir", str(tmp_path / "refused"))
    assert code == 2 and "train.lr: a training key" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "refused").exists()


def test_a_reranker_grid_costs_one_encoding_pass(trained, tmp_path, monkeypatch):
    from rsbench.eval.runner import load_source

    _, model_dir, _ = trained
    passes = []
    for rerankers in (["none"], ["none", "csls", "dual-softmax", "galr"]):
        model = load_source(model_dir, device="cpu")
        calls = {"image": 0, "text": 0}
        for tower in ("image", "text"):
            original = getattr(model.adapter, f"encode_{tower}")

            def counted(x, _original=original, _tower=tower, _calls=calls):
                _calls[_tower] += 1
                return _original(x)

            monkeypatch.setattr(model.adapter, f"encode_{tower}", counted)
        results = evaluate(model, tmp_path / str(len(rerankers)), rerankers=rerankers)
        assert [r["extra"]["retrieval"]["reranker"] for r, _ in results] == rerankers
        passes.append(calls)
    assert passes[0] == passes[1] and passes[0]["image"] > 0


def test_the_strategy_and_reranker_grid_writes_a_labelled_record_each(trained, tmp_path):
    from rsbench.eval.runner import load_source
    from rsbench.results.record import method_label

    _, model_dir, _ = trained
    results = evaluate(load_source(model_dir, device="cpu"), tmp_path, strategies=["dual-stream", "fast-then-fine"],
                       rerankers=["none", "csls"], sets=["strategy.candidates=10"])
    labels = [method_label(r["config"]) for r, _ in results]
    assert len(set(labels)) == 4 and any("fast-then-fine" in label and "csls" in label for label in labels)
    assert len(records_in(tmp_path / "eval")) == 4


def test_an_option_that_does_not_fit_the_split_fails_before_any_record(trained, tmp_path, capsys):
    _, model_dir, _ = trained
    code, _out, err = invoke(capsys, "eval", "--model", str(model_dir), "--strategy", "dual-stream,fast-then-fine",
                             "--results-dir", str(tmp_path / "eval"), "--device", "cpu")
    assert code == 2 and "strategy.candidates=50 is larger than the gallery" in err
    assert records_in(tmp_path / "eval") == []  # dual-stream's record was not written before the check


def test_a_reranker_the_strategys_scores_do_not_fit_is_refused_before_the_dataset_loads(trained, tmp_path, capsys,
                                                                                     monkeypatch):
    from rsbench.config import RunConfig

    _, model_dir, _ = trained
    real_build = RunConfig.build

    def build(self, kind, *args, **kwargs):
        assert kind != "dataset", "the dataset was loaded before the pair was checked"
        return real_build(self, kind, *args, **kwargs)

    monkeypatch.setattr(RunConfig, "build", build)
    code, _out, err = invoke(capsys, "eval", "--model", str(model_dir), "--strategy", "dual-stream,text-to-text",
                             "--rerank", "none,qb-norm", "--captioner", "oracle", "--results-dir",
                             str(tmp_path / "eval"), "--device", "cpu")
    assert code == 2 and "reranker qb-norm is defined on cosine scores and strategy text-to-text" in err
    assert len(err.strip().splitlines()) == 1 and records_in(tmp_path / "eval") == []


def test_a_model_from_other_weights_or_a_corrupt_file_is_one_error(trained, tmp_path, capsys):
    import shutil

    _, model_dir, _ = trained
    other = tmp_path / "other"
    shutil.copytree(model_dir, other)
    manifest = json.loads((other / "model.json").read_text())
    (other / "model.json").write_text(json.dumps({**manifest, "backbone_weights_sha256": "0" * 64}))
    code, _out, err = invoke(capsys, "eval", "--model", str(other), "--results-dir", str(tmp_path / "eval"))
    assert code == 2 and "was trained on backbone weights" in err
    corrupt = tmp_path / "corrupt"
    shutil.copytree(model_dir, corrupt)
    (corrupt / "trainable.safetensors").write_bytes(b"\xff" * 64)
    from rsbench.safe_load import file_sha256

    manifest = json.loads((corrupt / "model.json").read_text())
    manifest["trainable_sha256"] = file_sha256(corrupt / "trainable.safetensors")  # the digest made to match
    (corrupt / "model.json").write_text(json.dumps(manifest))
    code, _out, err = invoke(capsys, "eval", "--model", str(corrupt), "--results-dir", str(tmp_path / "eval"))
    assert code == 2 and "is not a safetensors file" in err and "Traceback" not in err
    code, _out, err = invoke(capsys, "eval", "--model", str(model_dir), "--dataset", "rsitmd", "--data-root",
                             str(tmp_path / "missing"), "--results-dir", str(tmp_path / "eval"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert records_in(tmp_path / "eval") == []


def test_exactly_one_model_source(tmp_path):
    from rsbench.eval.runner import load_source

    with pytest.raises(ConfigError, match="exactly one of"):
        load_source(tmp_path, backbone="rsbench-tiny")
    with pytest.raises(ConfigError, match="--pretrained goes with --backbone"):
        load_source(tmp_path, pretrained="synthetic")
    with pytest.raises(RsbenchError, match="is not a saved model"):
        load_source(tmp_path)


def live_tensor_bytes() -> int:
    import torch

    gc.collect()
    return sum(o.untyped_storage().nbytes() for o in gc.get_objects() if isinstance(o, torch.Tensor))


def test_a_run_releases_what_it_built(tmp_path, quiet_console, monkeypatch):
    from rsbench import engine

    built = []
    original = engine.Experiment.__init__

    def remember(self, *args, **kwargs):
        original(self, *args, **kwargs)
        built.append((weakref.ref(self.adapter), weakref.ref(self.dataset), weakref.ref(self.strategy)))

    monkeypatch.setattr(engine.Experiment, "__init__", remember)
    record, _ = engine.run_experiment(small_config(tmp_path), quiet_console)  # the first run fills lasting caches
    assert record["metrics"]["mR"] > 0
    gc.collect()
    assert built and all(ref() is None for ref in built[0])  # model, data and strategy are gone
    after_first = live_tensor_bytes()
    engine.run_experiment(small_config(tmp_path, "seed=1"), quiet_console)
    # nothing of the second run is left either: no activation graph kept alive from C++ (the profiler's
    # saved-tensor hook once made one, about 230 MB a run on the embedded default)
    assert live_tensor_bytes() <= after_first


def test_a_strategy_that_ignores_the_model_trains_nothing_and_says_so(tmp_path, training_calls):
    import io

    from rich.console import Console

    from rsbench.engine import run_experiment

    out = io.StringIO()
    cfg = small_config(tmp_path, "strategy.name=text-to-text", "captioner.name=oracle")
    record, _ = run_experiment(cfg, Console(file=out, width=200))
    assert training_calls == []
    assert "ranks without the trained model: nothing is trained" in out.getvalue()
    assert record["extra"]["training"]["skipped"] and record["cost"]["trainable_params"] == 0


def test_a_shortlist_longer_than_the_gallery_fails_before_training(tmp_path, training_calls, quiet_console):
    from rsbench.engine import run_experiment

    with pytest.raises(RsbenchError, match="larger than the gallery"):
        run_experiment(small_config(tmp_path, "strategy.name=fast-then-fine"), quiet_console)
    assert training_calls == []


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="needs a CUDA device")
def test_a_run_on_cuda_gives_its_device_memory_back(tmp_path, quiet_console):
    import torch

    from rsbench.engine import run_experiment

    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    run_experiment(small_config(tmp_path, "device=cuda"), quiet_console)
    gc.collect()
    assert torch.cuda.memory_allocated() == before
