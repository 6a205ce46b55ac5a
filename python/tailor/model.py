"""tailor.train, tailor.load and tailor.Model: a trained model (a tl_run handle)."""
import ctypes
import json
import os
import shutil
import signal
import tempfile
import threading

import numpy as np

from ._lib import PROGRESS_FN, Cancelled, TailorError, call, enc, lib, take_string
from .data import Dataset, as_rows, split_index


def option_value(value):
    """An option's value as the command line spells it: strings as they are, booleans 1/0, numbers
    in their shortest exact form (0.1, 1e-05), sequences joined by '/' (hidden=(256, 128))."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (tuple, list)):
        return "/".join(option_value(v) for v in value)
    raise TypeError("option value %r: expected a string, a number or a sequence of numbers" % (value,))


class Config:
    """A run configuration (tl_config): the options of `tailor train` by name, without "--"."""

    def __init__(self, options=None, config=None):
        self._h = call(lib.tl_config_new)
        if config is not None:
            call(lib.tl_config_read, self._h, enc(os.fspath(config)), fails=-1)
        for name, value in (options or {}).items():
            if value is not None:
                self[name] = value

    @staticmethod
    def names():
        """Every option's name and one-line help, in the order `tailor train --help` lists them."""
        return [(lib.tl_config_name(i).decode(), lib.tl_config_help(i).decode()) for i in range(lib.tl_config_count())]

    def __setitem__(self, name, value):
        call(lib.tl_config_set, self._h, enc(name.replace("_", "-")), enc(option_value(value)), fails=-1)

    def __getitem__(self, name):
        v = lib.tl_config_get(self._h, enc(name.replace("_", "-")))
        if v is None:
            raise KeyError(name)
        return v.decode("utf-8")

    def __del__(self, _free=lib.tl_config_free):
        if getattr(self, "_h", None):
            _free(self._h)
            self._h = None


def config_dict(handle):
    """The options of a tl_config handle as a dict of name -> string."""
    return {name: lib.tl_config_get(handle, enc(name)).decode("utf-8") for name, _ in Config.names()}


class CancelToken:
    """Stops a training from another thread (or a signal handler): pass it as train(..., cancel=token)
    and call token.cancel(); training stops after the current step and train raises Cancelled."""

    def __init__(self):
        self._flag = ctypes.c_int(0)

    def cancel(self):
        self._flag.value = 1

    @property
    def cancelled(self):
        return bool(self._flag.value)


def train(data=None, *, progress=None, cancel=None, config=None, **options):
    """Trains a model as `tailor train` does and returns it as a Model; nothing is written to disk.

    data: a Dataset, a spec string ("fashion-mnist", "csv:train.csv"; the lt, val and open options
    then cut its view), or None (the data option names it). options: the command's training options
    with underscores for dashes (epochs=3, loss="ldam:max_m=0.5,s=30", feat_dim=64, hidden=(64, 32)); a
    value of None keeps the default. config: a config.json (a run folder's) read first, the options
    then override it, as `tailor train --config FILE` does. progress(status) is called after every
    step and epoch with a TrainStatus; a true return value stops training (Cancelled), as does
    cancel.cancel() on a CancelToken. Ctrl-C (KeyboardInterrupt) stops it after the current step and
    is raised again. The same options, data and seed give the same model, bit for bit."""
    if isinstance(data, (str, os.PathLike)):
        options = dict(options, data=os.fspath(data))
        data = None
    elif data is not None and not isinstance(data, Dataset):
        raise TypeError("train: data must be a tailor.Dataset, a spec string or None, not %s" % type(data).__name__)
    cfg = Config(options, config)
    raised, interrupted, stopped = [], [], []
    token = cancel if cancel is not None else CancelToken()

    def on_step(user, status):
        try:
            if progress is not None and progress(status.contents):
                stopped.append(True)
                return 1
            return 0
        except BaseException as e:  # noqa: B902 - raised again by train once the library has returned
            raised.append(e)
            return 1

    # Ctrl-C: Python runs its handlers between bytecodes, here when the (always installed) step
    # callback runs; the default one would raise KeyboardInterrupt on entry to it, where ctypes can
    # only print it. So while training runs, SIGINT sets the cancel flag instead, training stops
    # after the current step, and KeyboardInterrupt is raised once the library has returned.
    def on_sigint(signum, frame):
        interrupted.append(signum)
        token._flag.value = 1
    own_sigint = threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if own_sigint:
        signal.signal(signal.SIGINT, on_sigint)
    cb = PROGRESS_FN(on_step)
    try:
        h = call(lib.tl_train, cfg._h, data._h if data is not None else None, cb, None, ctypes.byref(token._flag))
    except TailorError as e:
        if interrupted:
            raise KeyboardInterrupt from None
        if raised:
            raise raised[0] from None
        # The library's own words for a stop it was asked for (include/tailor.h, tl_train).
        if (stopped or token.cancelled) and str(e).startswith("training stopped at"):
            raise Cancelled(str(e)) from None
        raise
    finally:
        if own_sigint:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    model = Model._wrap(h)
    if interrupted:   # Ctrl-C after the last step: the interrupt still wins
        raise KeyboardInterrupt
    return model


def load(path, threads=None):
    """Opens a run folder (one `tailor train` wrote, or Model.save) as a Model; threads defaults to
    the run's own --threads."""
    path = os.fspath(path)
    if threads is None:
        own = os.path.join(path, "config.json")
        threads = int(Config(config=own)["threads"]) if os.path.isfile(own) else 1
    return Model._wrap(call(lib.tl_run_open, enc(path), int(threads)))


class Model:
    """A trained model: its backbone and head, input normalisation, class counts and names, and the
    options it was trained with. Made by tailor.train or tailor.load.

    The prediction methods take either an array (float feature rows [n, d] of the model's input, or
    uint8 images [n, h, w(, c)]) or a Dataset with a split name ("test" by default), and an optional
    inference rule (`tailor eval --posthoc`: "logit-adjust:tau=1", "tde:alpha=1", "tau-norm:tau=1";
    tau=auto needs a Dataset with a validation split)."""

    @classmethod
    def _wrap(cls, handle):
        m = cls.__new__(cls)
        m._h = handle
        return m

    def __del__(self, _free=lib.tl_run_free):
        if getattr(self, "_h", None):
            _free(self._h)
            self._h = None

    @property
    def num_classes(self):
        return lib.tl_run_num_classes(self._h)

    @property
    def feature_dim(self):
        """D, the width of the backbone's features."""
        return lib.tl_run_feature_dim(self._h)

    @property
    def input_shape(self):
        """(c, h, w): c channels of h x w pixels; a feature model's is (d, 1, 1)."""
        c, h, w = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        lib.tl_run_input_shape(self._h, ctypes.byref(c), ctypes.byref(h), ctypes.byref(w))
        return c.value, h.value, w.value

    @property
    def class_names(self):
        """The training data's class names, or None."""
        names = [lib.tl_run_class_name(self._h, k) for k in range(self.num_classes)]
        return None if any(n is None for n in names) else [n.decode("utf-8") for n in names]

    @property
    def config(self):
        """The options the model was trained with (every one resolved), name -> string."""
        return config_dict(lib.tl_run_config(self._h))

    def _out(self, n, logits, probs, labels):
        C = self.num_classes
        return (np.empty((n, C), np.float32) if logits else None, np.empty((n, C), np.float32) if probs else None,
                np.empty(n, np.int32) if labels else None)

    def _predict(self, x, split, rule, logits=False, probs=False, labels=False):
        f32, i32 = ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int)

        def p(a, t):
            return None if a is None else a.ctypes.data_as(t)
        if isinstance(x, Dataset):
            s = split_index(split)
            outs = self._out(x.rows(split), logits, probs, labels)
            call(lib.tl_run_predict, self._h, x._h, s, enc(rule), p(outs[0], f32), p(outs[1], f32), p(outs[2], i32),
                 fails=-1)
            return outs
        a, images = as_rows(x)
        c, h, w = self.input_shape
        want = (h, w, c) if images else (c * h * w,)
        if a.shape[1:] != want:
            raise ValueError("the model takes %s of shape %s, got rows of shape %s"
                             % ("images" if images else "feature rows", want, a.shape[1:]))
        outs = self._out(a.shape[0], logits, probs, labels)
        if images:
            call(lib.tl_run_predict_pixels, self._h, a.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), a.shape[0],
                 enc(rule), p(outs[0], f32), p(outs[1], f32), p(outs[2], i32), fails=-1)
        else:
            call(lib.tl_run_predict_features, self._h, a.ctypes.data_as(f32), a.shape[0], enc(rule),
                 p(outs[0], f32), p(outs[1], f32), p(outs[2], i32), fails=-1)
        return outs

    def predict(self, x, split="test", rule=None):
        """The predicted class numbers (argmax of the logits after the rule), an int32 array [n]."""
        return self._predict(x, split, rule, labels=True)[2]

    def predict_proba(self, x, split="test", rule=None):
        """The softmax probabilities, a float32 array [n, C]."""
        return self._predict(x, split, rule, probs=True)[1]

    def logits(self, x, split="test", rule=None):
        """The logits (after the rule), a float32 array [n, C]."""
        return self._predict(x, split, rule, logits=True)[0]

    def features(self, x, split="test"):
        """The backbone's features, a float32 array [n, D]."""
        if isinstance(x, Dataset):
            d = x
        else:
            d, split = Dataset.rows_only(x, self.num_classes), "train"
        out = np.empty((d.rows(split), self.feature_dim), np.float32)
        call(lib.tl_run_features, self._h, d._h, split_index(split), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), fails=-1)
        return out

    def evaluate(self, data, split="test", rule=None):
        """The report of `tailor eval` on a labelled split of a Dataset, as a dict (the schema of
        report.json, docs/report-schema.md)."""
        if not isinstance(data, Dataset):
            raise TypeError("evaluate: data must be a tailor.Dataset (labelled rows), not %s" % type(data).__name__)
        e = call(lib.tl_evaluate, self._h, data._h, split_index(split), enc(rule))
        try:
            return json.loads(take_string(call(lib.tl_evaluation_json, e)))
        finally:
            lib.tl_evaluation_free(e)

    def retrain(self, data, method, **options):
        """Stage 2 of decoupled learning, as `tailor retrain` does: a new Model with this one's
        backbone (frozen; features computed once, without augmentation) and a new classifier fitted
        on the features of data's training split (its validation split for tau's sweep). method:
        "crt", "ncm:metric=cosine", "tau" (or "tau:tau=1"), "lws". options: retrain's own (sampler,
        epochs, batch, optim, schedule, seed, threads; docs/cli.md). This model is not changed."""
        if not isinstance(data, Dataset):
            raise TypeError("retrain: data must be a tailor.Dataset, not %s" % type(data).__name__)
        pairs = []
        for name, value in options.items():
            if value is not None:
                pairs += [enc(name.replace("_", "-")), enc(option_value(value))]
        argv = (ctypes.c_char_p * (len(pairs) + 1))(*pairs, None)
        return Model._wrap(call(lib.tl_retrain, self._h, data._h, enc(method), argv))

    def save(self, path):
        """Writes a run folder at path (which must not exist): config.json, model.safetensors,
        metrics.jsonl and train_counts.json (for the inference rules that need the training counts),
        as `tailor eval`, `tailor predict` and tailor.load read them."""
        call(lib.tl_run_save, self._h, enc(os.fspath(path)), fails=-1)

    # Pickling (scikit-learn stores estimators so): the run folder's files travel as bytes, with the
    # prediction batch, which decides the logits' last bits (tailor.h, tl_run_set_batch): an unpickled
    # model predicts as this one does, bit for bit.
    def __reduce__(self):
        tmp = tempfile.mkdtemp(prefix="tailor-pickle-")
        try:
            self.save(os.path.join(tmp, "run"))
            files = {}
            for name in sorted(os.listdir(os.path.join(tmp, "run"))):
                with open(os.path.join(tmp, "run", name), "rb") as f:
                    files[name] = f.read()
        finally:
            shutil.rmtree(tmp)
        return _unpickle, (files, lib.tl_run_batch(self._h))


def _unpickle(files, batch=None):
    tmp = tempfile.mkdtemp(prefix="tailor-pickle-")
    try:
        os.mkdir(os.path.join(tmp, "run"))
        for name, data in files.items():
            if os.path.basename(name) != name:
                raise ValueError("a pickled tailor.Model holds a file name %r" % name)
            with open(os.path.join(tmp, "run", name), "wb") as f:
                f.write(data)
        model = load(os.path.join(tmp, "run"))
    finally:
        shutil.rmtree(tmp)
    if batch is not None:   # pickles made before the batch travelled with them predict at 256
        call(lib.tl_run_set_batch, model._h, int(batch), fails=-1)
    return model
