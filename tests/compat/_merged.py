"""``merged("svm")``: a module with skml's public names where skml has them and
scikit-learn's otherwise, for test files that do ``from sklearn import svm``."""
import types
from importlib import import_module


def merged(sub, ours_name=None):
    theirs = import_module(f"sklearn.{sub}")
    try:
        ours = import_module(f"skml.{ours_name or sub}")
    except ImportError:
        return theirs
    mod = types.ModuleType(f"compat_{sub}")
    mod.__dict__.update({k: v for k, v in vars(theirs).items() if not k.startswith("__")})
    for name in getattr(ours, "__all__", ()):
        setattr(mod, name, getattr(ours, name))
    return mod
