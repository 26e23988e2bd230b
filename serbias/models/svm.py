"""The reference study's SVM baseline as one scikit-learn Pipeline.

StandardScaler -> ANOVA filter (keep features with p < 0.01 for at least one emotion)
-> PCA (140 components, capped by what the data allows) -> one RBF SVC per emotion
(one-vs-rest on multi-label targets, Platt-scaled probabilities).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.feature_selection import f_classif
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted, validate_data


class AnovaFilter(TransformerMixin, BaseEstimator):
    """Keep the features whose one-way ANOVA p-value is below ``alpha`` for at least one label.

    ``y`` is a label-indicator matrix (one column per emotion, as multi-label targets are) or
    a 1-D class vector. Each column is tested as "this emotion vs the rest". When no feature
    passes, the single most significant one is kept (with a warning) so a pipeline still fits.
    """

    def __init__(self, alpha: float = 0.01) -> None:
        self.alpha = alpha

    def fit(self, X: np.ndarray, y: np.ndarray) -> AnovaFilter:
        X = validate_data(self, X, reset=True, dtype=np.float64)
        indicator = _as_indicator(np.asarray(y))
        pvalues = np.ones((indicator.shape[1], X.shape[1]))
        for k in range(indicator.shape[1]):
            if 0 < indicator[:, k].sum() < len(indicator):
                with warnings.catch_warnings():
                    # constant features: undefined p-value, treated as 1 below
                    warnings.simplefilter("ignore", RuntimeWarning)
                    warnings.filterwarnings("ignore", "Features .* are constant", UserWarning)
                    _, p = f_classif(X, indicator[:, k])
                pvalues[k] = np.nan_to_num(p, nan=1.0)
        self.pvalues_ = pvalues.min(axis=0)
        support = self.pvalues_ < self.alpha
        if not support.any():
            warnings.warn(
                f"no feature has ANOVA p < {self.alpha}; keeping the most significant one",
                UserWarning,
                stacklevel=2,
            )
            support[np.argmin(self.pvalues_)] = True
        self.support_ = support
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "support_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X[:, self.support_]

    def get_feature_names_out(self, input_features: list[str] | None = None) -> np.ndarray:
        check_is_fitted(self, "support_")
        names = (
            np.asarray(input_features, dtype=object)
            if input_features is not None
            else np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)
        )
        return names[self.support_]


class CappedPCA(TransformerMixin, BaseEstimator):
    """PCA with at most ``n_components``, fewer when samples or features do not allow more."""

    def __init__(self, n_components: int = 140, random_state: int | None = None) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> CappedPCA:
        X = validate_data(self, X, reset=True, dtype=np.float64)
        n_components = min(self.n_components, X.shape[0], X.shape[1])
        self.pca_ = PCA(n_components=n_components, random_state=self.random_state).fit(X)
        self.n_components_ = n_components
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "pca_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.pca_.transform(X)


def build_svm(
    *,
    C: float = 10.0,
    gamma: float = 0.005,
    pca: int = 140,
    anova_p: float = 0.01,
    seed: int = 0,
) -> Pipeline:
    """An unfitted pipeline; fit it on (clips x features, clips x 6 multi-hot emotions)."""
    svc = SVC(kernel="rbf", C=C, gamma=gamma, probability=True, random_state=seed)
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("anova", AnovaFilter(alpha=anova_p)),
            ("pca", CappedPCA(n_components=pca, random_state=seed)),
            ("svc", OneVsRestClassifier(svc)),
        ]
    )


def _as_indicator(y: np.ndarray) -> np.ndarray:
    """A (n, k) 0/1 matrix from an indicator matrix or a 1-D class vector."""
    if y.ndim == 2:
        return (y > 0).astype(np.int64)
    classes = np.unique(y)
    return (y[:, None] == classes[None, :]).astype(np.int64)
