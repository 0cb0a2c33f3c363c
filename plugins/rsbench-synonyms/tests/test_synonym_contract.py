"""The plugin's own contract test, as a third-party author writes it with ``rsbench.testing``."""

from __future__ import annotations

import pytest
from rsbench_synonyms.plugin import SynonymAugmenter, SynonymConfig, build

from rsbench.errors import ConfigError
from rsbench.testing import ContractError, check_augmenter, check_config


@pytest.mark.parametrize("probability", [0.0, 0.5, 1.0])
def test_synonym_augmenter_keeps_the_contract(probability):
    check_config(SynonymConfig)
    check_augmenter(lambda dataset: build(SynonymConfig(probability=probability, max_replacements=3), dataset))


def test_the_checker_catches_an_augmenter_that_ignores_its_rng():
    class Counting(SynonymAugmenter):
        calls = 0

        def augment(self, caption, record, rng):  # depends on how often it was called, not on rng
            self.calls += 1
            return f"{super().augment(caption, record, rng)} ({self.calls})"

    with pytest.raises(ContractError, match="same rng seed"):
        check_augmenter(lambda dataset: Counting(SynonymConfig(probability=1.0, max_replacements=5)))


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="probability"):
        SynonymConfig(probability=2.0)
