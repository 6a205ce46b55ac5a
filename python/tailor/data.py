"""tailor.Dataset: a data set as training and evaluation see it (a tl_data handle)."""
import ctypes
import os

import numpy as np

from ._lib import call, enc, lib

SPLITS = {"train": 0, "val": 1, "test": 2, "unknown": 3}


def split_index(split):
    """The TL_SPLIT_* number of a split name ("train", "val", "test", "unknown")."""
    try:
        return SPLITS[split]
    except (KeyError, TypeError):
        raise ValueError("split %r is not one of %s" % (split, ", ".join(SPLITS))) from None


def as_rows(x, what="x"):
    """x as the library takes rows: a C-contiguous float32 array [n, d] of feature rows, or a uint8
    array [n, h, w] / [n, h, w, c] of images; returns (array, is_images)."""
    a = np.asarray(x)
    if a.ndim == 2:
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_) or np.iscomplexobj(a):
            raise TypeError("%s: feature rows must be real numbers, not %s" % (what, a.dtype))
        return np.ascontiguousarray(a, dtype=np.float32), False
    if a.ndim in (3, 4):
        if a.dtype != np.uint8:
            raise TypeError("%s: images must be a uint8 array [n, h, w] or [n, h, w, c], not %s" % (what, a.dtype))
        if a.ndim == 3:
            a = a[..., None]
        return np.ascontiguousarray(a), True
    raise ValueError("%s: expected feature rows [n, d] or images [n, h, w(, c)], got an array of shape %s"
                     % (what, a.shape))


def as_labels(y, n, what="y"):
    """y as int32 labels [n] (integers, or floats holding whole numbers)."""
    a = np.asarray(y)
    if a.shape != (n,):
        raise ValueError("%s: expected %d labels (one per row), got an array of shape %s" % (what, n, a.shape))
    if not np.issubdtype(a.dtype, np.integer):
        if not np.issubdtype(a.dtype, np.floating) or not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise TypeError("%s: labels must be whole numbers 0..C-1, not %s values" % (what, a.dtype))
    if n and (a.min() < 0 or a.max() > np.iinfo(np.int32).max):
        raise ValueError("%s: label %d is not in 0..C-1" % (what, a.min() if a.min() < 0 else a.max()))
    return np.ascontiguousarray(a, dtype=np.int32)


def _ptr(a, ctype):
    return None if a is None else a.ctypes.data_as(ctypes.POINTER(ctype))


class Dataset:
    """A data set of up to four splits (train, val, test, unknown) of labelled rows.

    Dataset(spec, lt=None, val=0, open=None): a data set of the command line (`--data SPEC`:
        "fashion-mnist", "csv:train.csv,test.csv", "folder:photos", ...) with the command's view
        options --lt, --val and --open.
    Dataset(x, y, test=(x, y), validation=(x, y), num_classes=None, class_names=None, lt=None, val=0,
            open=None): from arrays, copied: x is float feature rows [n, d] (any real dtype, made
        float32) or uint8 images [n, h, w] or [n, h, w, c] (c = 1 or 3), y integer labels 0..C-1.
        num_classes defaults to the largest label + 1; lt, val and open cut a view of it as the
        command's options do (val must then be 0 when validation is given).
    Errors are TailorError with tailor's message (a non-finite value or a label out of range names
    the row)."""

    def __init__(self, x, y=None, *, test=None, validation=None, num_classes=None, class_names=None,
                 lt=None, val=0, open=None):
        self._h = None
        if isinstance(x, (str, os.PathLike)):
            if y is not None or test is not None or validation is not None or num_classes is not None \
                    or class_names is not None:
                raise TypeError("Dataset(spec): y, test, validation, num_classes and class_names are for arrays")
            self._h = call(lib.tl_data_open, enc(os.fspath(x)), enc(lt), int(val), enc(open))
            return
        if y is None:
            raise TypeError("Dataset(x, y): the training labels y are missing")
        splits = [(0, x, y, "x")]
        for idx, pair, name in ((2, test, "test"), (1, validation, "validation")):
            if pair is not None:
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise TypeError("Dataset: %s must be a pair (x, y)" % name)
                splits.append((idx, pair[0], pair[1], name))
        rows = []
        for idx, xs, ys, name in splits:
            a, images = as_rows(xs, name)
            rows.append((idx, a, images, as_labels(ys, a.shape[0], name + " labels")))
        shape, images = rows[0][1].shape[1:], rows[0][2]
        for idx, a, im, _ in rows[1:]:
            if im != images or a.shape[1:] != shape:
                raise ValueError("Dataset: the rows of split %s have shape %s, the training rows %s"
                                 % ([k for k, v in SPLITS.items() if v == idx][0], a.shape[1:], shape))
        if num_classes is None:
            num_classes = 1 + max((int(lab.max()) for _, _, _, lab in rows if lab.size), default=0)
        base = call(lib.tl_data_new_pixels, shape[0], shape[1], shape[2], int(num_classes)) if images \
            else call(lib.tl_data_new_features, shape[0], int(num_classes))
        try:
            setter = lib.tl_data_set_pixels if images else lib.tl_data_set_features
            ctype = ctypes.c_uint8 if images else ctypes.c_float
            for idx, a, _, lab in rows:
                call(setter, base, idx, _ptr(a, ctype), _ptr(lab, ctypes.c_int), a.shape[0], fails=-1)
            if class_names is not None:
                names = [enc(s) for s in class_names]
                if len(names) != num_classes:
                    raise ValueError("Dataset: %d class names for %d classes" % (len(names), num_classes))
                call(lib.tl_data_set_class_names, base, (ctypes.c_char_p * len(names))(*names), fails=-1)
            if lt is not None or val or open:
                self._h = call(lib.tl_data_view, base, enc(lt), int(val), enc(open))
                lib.tl_data_free(base)
            else:
                self._h = base
        except BaseException:
            lib.tl_data_free(base)
            raise

    @classmethod
    def _wrap(cls, handle):
        d = cls.__new__(cls)
        d._h = handle
        return d

    @classmethod
    def rows_only(cls, x, num_classes):
        """Unlabelled rows (x as in Dataset) as the training split, for Model.features: a data set
        whose training split is empty counts as feature rows, images or not."""
        a, images = as_rows(x)
        h = call(lib.tl_data_new_pixels, a.shape[1], a.shape[2], a.shape[3], num_classes) if images \
            else call(lib.tl_data_new_features, a.shape[1], num_classes)
        d = cls._wrap(h)
        setter = lib.tl_data_set_pixels if images else lib.tl_data_set_features
        call(setter, h, SPLITS["train"], _ptr(a, ctypes.c_uint8 if images else ctypes.c_float), None,
             a.shape[0], fails=-1)
        return d

    def view(self, lt=None, val=0, open=None):
        """A new Dataset: the training split cut to the long-tailed view lt ("exp:100", "step:10:even")
        with val rows per class held out and the classes of open ("7,8,9") held out as unknown."""
        return Dataset._wrap(call(lib.tl_data_view, self._h, enc(lt), int(val), enc(open)))

    @property
    def num_classes(self):
        """The number of classes (after --open: the known classes)."""
        return lib.tl_data_num_classes(self._h)

    @property
    def class_names(self):
        """The class names, or None when the data set has none."""
        names = [lib.tl_data_class_name(self._h, k) for k in range(self.num_classes)]
        return None if any(n is None for n in names) else [n.decode("utf-8") for n in names]

    def rows(self, split="train"):
        """The number of rows of a split (0 for an empty one)."""
        return lib.tl_data_rows(self._h, split_index(split))

    def labels(self, split="train"):
        """The labels of a split, an int32 array."""
        y = np.empty(self.rows(split), dtype=np.int32)
        call(lib.tl_data_labels, self._h, split_index(split), _ptr(y, ctypes.c_int), fails=-1)
        return y

    def class_counts(self):
        """The training rows per class, an int64 array [num_classes]."""
        c = np.empty(self.num_classes, dtype=np.int64)
        call(lib.tl_data_class_counts, self._h, _ptr(c, ctypes.c_int64), fails=-1)
        return c

    def __repr__(self):
        return "Dataset(%d classes; %s)" % (self.num_classes,
                                            ", ".join("%s %d" % (s, self.rows(s)) for s in SPLITS if self.rows(s)))

    def __del__(self, _free=lib.tl_data_free):
        if getattr(self, "_h", None):
            _free(self._h)
            self._h = None
