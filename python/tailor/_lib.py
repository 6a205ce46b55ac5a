"""The shared library libtailor, loaded with ctypes, and its calls' error convention.

The library is looked for, in this order: the file named by the environment variable TAILOR_LIB; a
libtailor.so.0 next to this package; the library folder `make install` put it in (the package's
_install.py, written by make install, gives it relative to the package, so a DESTDIR or a moved
prefix still finds it); the build/ folder of the source tree the package sits in (python/tailor ->
build/libtailor.so.0); the installed soname libtailor.so.0 (the dynamic loader's search path). Every prototype of include/tailor.h the package
uses is declared here, once.
"""
import ctypes
import logging
import os

SONAME = "libtailor.so.0"
_MAJOR = 0


class TailorError(ValueError):
    """A tailor call failed; the message is tailor's own (it names the option, file or row at fault).

    A subclass of ValueError: what tailor refuses is bad input of some kind (an option, a file, the
    data), and scikit-learn expects a ValueError for that."""


class Cancelled(TailorError):
    """Training stopped because the progress callback asked for it or the cancel token was set."""


class _Error(ctypes.Structure):
    _fields_ = [("msg", ctypes.c_char * 512)]


class TrainStatus(ctypes.Structure):
    """What the progress callback sees (tl_train_status): after every step (epoch_end 0) and every
    epoch (epoch_end 1, with the epoch's means; val_accuracy is NaN without a validation split)."""
    _fields_ = [(name, ctypes.c_int) for name in ("epoch", "epochs", "step", "steps", "epoch_end")] + \
               [(name, ctypes.c_double) for name in ("loss", "images_per_second", "lr", "train_loss",
                                                     "train_accuracy", "val_accuracy",
                                                     "val_balanced_accuracy", "seconds")]

    def __repr__(self):
        return "TrainStatus(%s)" % ", ".join("%s=%r" % (f, getattr(self, f)) for f, _ in self._fields_)


PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(TrainStatus))
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)


def _candidates():
    env = os.environ.get("TAILOR_LIB")
    if env:
        return [env]   # an explicit choice is never silently replaced by another library
    here = os.path.dirname(os.path.abspath(__file__))
    paths = [os.path.join(here, SONAME)]
    try:
        from . import _install   # only in an installed package
        paths.append(os.path.normpath(os.path.join(here, _install.LIBDIR, SONAME)))
    except ImportError:
        pass
    return paths + [os.path.join(here, "..", "..", "build", SONAME), SONAME]


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append("%s (not there)" % path)
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("tailor: cannot load libtailor: tried " + "; ".join(tried) +
                      " (build it with `make`, or set TAILOR_LIB to the library's path)")


lib = _load()

_p = ctypes.c_void_p
_s = ctypes.c_char_p
_i = ctypes.c_int
_err = ctypes.POINTER(_Error)
_f32 = ctypes.POINTER(ctypes.c_float)
_i32 = ctypes.POINTER(ctypes.c_int)
_u8 = ctypes.POINTER(ctypes.c_uint8)
_PROTOTYPES = {
    "tl_version": (_s, []),
    "tl_version_number": (_i, []),
    "tl_log_set_callback": (None, [LOG_FN, _p]),
    "tl_free": (None, [_p]),
    "tl_config_new": (_p, [_err]),
    "tl_config_free": (None, [_p]),
    "tl_config_copy": (_p, [_p, _err]),
    "tl_config_set": (_i, [_p, _s, _s, _err]),
    "tl_config_get": (_s, [_p, _s]),
    "tl_config_read": (_i, [_p, _s, _err]),
    "tl_config_count": (_i, []),
    "tl_config_name": (_s, [_i]),
    "tl_config_help": (_s, [_i]),
    "tl_data_open": (_p, [_s, _s, _i, _s, _err]),
    "tl_data_new_features": (_p, [_i, _i, _err]),
    "tl_data_new_pixels": (_p, [_i, _i, _i, _i, _err]),
    "tl_data_set_features": (_i, [_p, _i, _f32, _i32, _i, _err]),
    "tl_data_set_pixels": (_i, [_p, _i, _u8, _i32, _i, _err]),
    "tl_data_set_class_names": (_i, [_p, ctypes.POINTER(_s), _err]),
    "tl_data_view": (_p, [_p, _s, _i, _s, _err]),
    "tl_data_free": (None, [_p]),
    "tl_data_rows": (_i, [_p, _i]),
    "tl_data_num_classes": (_i, [_p]),
    "tl_data_class_name": (_s, [_p, _i]),
    "tl_data_labels": (_i, [_p, _i, _i32, _err]),
    "tl_data_class_counts": (_i, [_p, ctypes.POINTER(ctypes.c_int64), _err]),
    "tl_train": (_p, [_p, _p, PROGRESS_FN, _p, ctypes.POINTER(ctypes.c_int), _err]),
    "tl_run_free": (None, [_p]),
    "tl_run_save": (_i, [_p, _s, _err]),
    "tl_run_open": (_p, [_s, _i, _err]),
    "tl_run_num_classes": (_i, [_p]),
    "tl_run_batch": (_i, [_p]),
    "tl_run_set_batch": (_i, [_p, _i, _err]),
    "tl_run_feature_dim": (_i, [_p]),
    "tl_run_input_shape": (None, [_p, _i32, _i32, _i32]),
    "tl_run_config": (_p, [_p]),
    "tl_run_class_name": (_s, [_p, _i]),
    "tl_run_predict": (_i, [_p, _p, _i, _s, _f32, _f32, _i32, _err]),
    "tl_run_predict_features": (_i, [_p, _f32, _i, _s, _f32, _f32, _i32, _err]),
    "tl_run_predict_pixels": (_i, [_p, _u8, _i, _s, _f32, _f32, _i32, _err]),
    "tl_run_features": (_i, [_p, _p, _i, _f32, _err]),
    "tl_retrain": (_p, [_p, _p, _s, ctypes.POINTER(_s), _err]),
    "tl_evaluate": (_p, [_p, _p, _i, _s, _err]),
    "tl_evaluation_free": (None, [_p]),
    "tl_evaluation_json": (ctypes.c_void_p, [_p, _err]),
    "tl_blas_kernel_advice": (_i, [ctypes.c_char_p, ctypes.c_size_t]),
}
for _name, (_res, _args) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args

if lib.tl_version_number() // 10000 != _MAJOR:
    raise ImportError("tailor: %s is version %s; this package needs major version %d" %
                      (getattr(lib, "_name", SONAME), lib.tl_version().decode(), _MAJOR))


def enc(s):
    """A Python string as the library's C string (UTF-8); None stays NULL."""
    return None if s is None else str(s).encode("utf-8")


def call(fn, *args, fails=None):
    """Calls fn(*args, err) and returns its result, or raises TailorError with tailor's message when
    it failed: returned NULL (a handle or string; fails=None) or `fails` (-1 for an int)."""
    err = _Error()
    out = fn(*args, ctypes.byref(err))
    if (out is None) if fails is None else out == fails:
        raise TailorError(err.msg.decode("utf-8", "replace") or "%s failed" % fn.__name__)
    return out


def take_string(ptr):
    """A string the library returned as "caller frees with tl_free", decoded and freed."""
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        lib.tl_free(ptr)


# What the library has to say goes to the logger "tailor" (INFO and WARNING), so Python's logging
# configuration decides where it is shown; the callback object is kept alive for the process.
logger = logging.getLogger("tailor")


@LOG_FN
def _on_log(user, level, msg):
    logger.log(logging.WARNING if level == 1 else logging.INFO, "%s", msg.decode("utf-8", "replace"))


lib.tl_log_set_callback(_on_log, None)

# OpenBLAS chose its kernels when it was loaded (with this library, or before it with NumPy or
# PyTorch); on a CPU it does not know they are the generic ones, and only the environment of the
# next Python process can change that (tailor.h, tl_blas_kernel_advice).
_core = ctypes.create_string_buffer(32)
if lib.tl_blas_kernel_advice(_core, len(_core)):
    logger.warning("OpenBLAS runs its generic kernels on this CPU (it does not know the model); start "
                   "Python with OPENBLAS_CORETYPE=%s in the environment for the kernels of its "
                   "instruction set (2-3x faster linear layers)", _core.value.decode())
