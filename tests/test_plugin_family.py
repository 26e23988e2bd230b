"""A model family and a feature kind that live outside serbias run the whole pipeline.

The family (logistic regression) is defined here; the kind (13 MFCC means) is the one
``tests/test_feature_kind_registry.py`` defines. Both are registered at run time and go
synth -> split -> extract -> train -> predict -> audit through :mod:`serbias.stages`
without editing any serbias module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pandas as pd
import pytest

from serbias import stages
from serbias.audit.settings import AuditParams
from serbias.config import ExtractParams, Params, PathsParams
from serbias.corpus.params import SplitParams, SynthParams
from serbias.features import KINDS, register
from serbias.models import MODELS, ModelFamily
from serbias.models import register as register_family
from serbias.predictions.params import PredictParams
from serbias.training.params import TrainParams
from tests.test_feature_kind_registry import MfccMeans


@dataclass(frozen=True)
class LogRegParams:
    """``train.models.logreg``: inverse regularisation strength."""

    C: float = 1.0


def build_logreg(*, C: float, seed: int):
    """One standardised logistic regression per emotion (multi-label, like the SVM)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    head = LogisticRegression(C=C, max_iter=1000, random_state=seed)
    return OneVsRestClassifier(make_pipeline(StandardScaler(), head))


LOGREG = ModelFamily(
    "logreg", "mfcc_means", "sklearn", LogRegParams, f"{__name__}:build_logreg",
    trusted_types=("sklearn.multiclass._ConstantPredictor",),
)  # fmt: skip


@pytest.fixture()
def plugins() -> Iterator[None]:
    kind = register(MfccMeans())
    register_family(LOGREG)
    yield
    KINDS.pop(kind.name)
    MODELS.pop(LOGREG.name)


def test_a_family_and_a_kind_defined_outside_serbias_run_the_whole_pipeline(
    plugins, tmp_path, tracking_store
):
    paths = PathsParams(
        data=tmp_path / "data", split=tmp_path / "split.json", features=tmp_path / "features",
        train=tmp_path / "train", predictions=tmp_path / "predictions", audit=tmp_path / "audit",
    )  # fmt: skip
    params = Params(
        paths=paths,
        synth=SynthParams(actors=12, sentences=2, seed=0, jobs=1),
        split=SplitParams(train=0.5, val=0.17, test=0.33, seed=0),
        extract=ExtractParams(sample_rate=16_000, kinds=("mfcc_means",), jobs=1),
        train=TrainParams(model="logreg", labels="intended", seed=0),
        audit=AuditParams(n_boot=50, n_perm=50, n_chance=2, track=False, min_actors=2),
    )
    stages.synth(params, paths.data)
    stages.split(params)
    extracted = stages.extract(params)
    assert extracted.kinds == ("mfcc_means",)
    trained = stages.train(params)
    assert trained.model == "logreg" and trained.version == "1"
    assert 0.0 <= trained.macro_f1 <= 1.0
    summary = stages.summary_file(params, "logreg", "intended")
    params = replace(params, predict=PredictParams(model=str(summary)))
    predicted = stages.predict(params, out=paths.predictions / "logreg-intended.csv")
    table = pd.read_csv(predicted.out_file)
    assert predicted.model_uri == "models:/serbias-logreg-intended/1"
    assert list(table.columns[:2]) == ["Filename", "Anger"] and len(table) == predicted.n_clips
    audited = stages.audit(params)
    assert [system.name for system in audited.result.systems] == ["logreg-intended"]
    assert (paths.audit / "gaps.csv").is_file()
    # the family's hyperparameters are a params section of their own
    assert dataclasses.asdict(params.train.family()) == {"C": 1.0}
