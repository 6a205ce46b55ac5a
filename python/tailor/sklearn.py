"""tailor.sklearn.LongTailClassifier: tailor's training as a scikit-learn classifier.

It follows scikit-learn's estimator contract (fit / predict / predict_proba / score, get_params /
set_params through the constructor's parameters, classes_, n_features_in_), so it drops into a
Pipeline or a GridSearchCV, and it passes sklearn.utils.estimator_checks.check_estimator
(tests/python/test_sklearn.py runs every check).
"""
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .data import Dataset
from .model import train


class LongTailClassifier(ClassifierMixin, BaseEstimator):
    """A classifier of feature rows trained by tailor, with the long-tailed remedies as parameters.

    Each parameter is the `tailor train` option of the same name (docs/cli.md; underscores for
    dashes) and defaults to the command's default, except model, which is the MLP (the command's cnn
    is for images):
      model      backbone of feature rows: "mlp" (sizes in hidden), or any --model of the command
      hidden     the MLP's hidden sizes, "256/128" (a tuple such as (64, 32) is joined the same way)
      feat_dim   the feature dimension D (None: the model's own)
      head       classifier head: "linear", "cosine:s=30", "arcface:s=30,m=0.5", "rpl", ...
      loss       "ce", "focal:gamma=2", "ldam:max_m=0.5,s=30,weights=effective,drw=10",
                 "logit-adjust:tau=1", "balanced-softmax", ...
      sampler    "instance", "class", "sqrt", "progressive", "smote:k=5", ...
      optim      "sgd:lr=0.1,momentum=0.9,wd=5e-4", "adam:lr=1e-3", ...
      schedule   "cosine", "constant", "step:milestones=10/12,gamma=0.1"
      warmup     linear warm-up epochs
      epochs     training epochs
      batch      batch size (a training set smaller than the batch is one batch)
      val        rows per class held out as the validation split (--val; 0 = none)
      seed       random seed: the same data, parameters and seed give the same model, bit for bit
      threads    threads used by training and prediction
      stage2     a stage-2 method run after training (`tailor retrain --method`): "crt",
                 "ncm:metric=cosine", "tau", "lws" (tau's sweep uses the val rows); None = none
      stage2_options  a dict of retrain's own options ({"epochs": 10, "sampler": "class"}); seed
                 and threads default to the estimator's
      posthoc    the inference rule applied by predict and predict_proba (`tailor eval --posthoc`:
                 "logit-adjust:tau=1", "tau-norm:tau=1", "tde:alpha=1"; None = plain argmax)
      options    a dict of any further `tailor train` options ({"backbone_lr_mult": 0.1})
    Labels may be any values numpy can sort (strings, integers); classes_ holds them in sorted order
    and the model sees their positions 0..C-1. fit trains a new model from scratch every time.

    Attributes after fit: classes_, n_features_in_ (and feature_names_in_ for a DataFrame), model_
    (the tailor.Model: its evaluate, features and save are there too)."""

    def __init__(self, model="mlp", hidden="256/128", feat_dim=None, head="linear", loss="ce",
                 sampler="instance", optim="sgd:lr=0.1,momentum=0.9,wd=5e-4", schedule="cosine", warmup=0,
                 epochs=15, batch=128, val=0, seed=0, threads=2, stage2=None, stage2_options=None, posthoc=None,
                 options=None):
        self.model = model
        self.hidden = hidden
        self.feat_dim = feat_dim
        self.head = head
        self.loss = loss
        self.sampler = sampler
        self.optim = optim
        self.schedule = schedule
        self.warmup = warmup
        self.epochs = epochs
        self.batch = batch
        self.val = val
        self.seed = seed
        self.threads = threads
        self.stage2 = stage2
        self.stage2_options = stage2_options
        self.posthoc = posthoc
        self.options = options

    # The parameters that are `tailor train` options, in the constructor's order.
    _TRAIN_OPTIONS = ("model", "hidden", "feat_dim", "head", "loss", "sampler", "optim", "schedule", "warmup",
                      "epochs", "batch", "seed", "threads")

    def fit(self, X, y):
        """Trains a new model on X [n_samples, n_features] and the labels y [n_samples]."""
        X, y = self._validate_data(X, y, dtype=np.float32)
        check_classification_targets(y)
        classes, encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError("LongTailClassifier needs at least 2 classes in y; got 1 class (%r)" % (classes[0],))
        data = Dataset(X, encoded, num_classes=len(classes), class_names=[str(c) for c in classes],
                       val=int(self.val))
        options = {name: getattr(self, name) for name in self._TRAIN_OPTIONS}
        options.update(self.options or {})
        model = train(data, **options)
        if self.stage2 is not None:
            model = model.retrain(data, self.stage2, **dict({"seed": self.seed, "threads": self.threads},
                                                            **(self.stage2_options or {})))
        self.model_ = model
        self.classes_ = classes
        return self

    def _rows(self, X):
        check_is_fitted(self)
        return self._validate_data(X, dtype=np.float32, reset=False)

    def predict(self, X):
        """The predicted labels (values of classes_) of the rows of X."""
        X = self._rows(X)
        return self.classes_[self.model_.predict(X, rule=self.posthoc)]

    def predict_proba(self, X):
        """The class probabilities [n_samples, n_classes], columns in the order of classes_."""
        X = self._rows(X)
        return self.model_.predict_proba(X, rule=self.posthoc).astype(np.float64)
