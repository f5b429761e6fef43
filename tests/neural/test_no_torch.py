"""skml without torch: importing works, estimators are listed without the neural ones,
and constructing a neural estimator says what to install. torch is hidden from the import
system in a subprocess (as if it were not installed), so these tests run whether or not
torch is installed here."""
import subprocess
import sys
import textwrap

# The path finder no longer sees torch: `import torch` raises ModuleNotFoundError and
# importlib.util.find_spec("torch") is None, exactly as without the package. (Putting
# None into sys.modules["torch"] is not enough: other libraries look torch up there.)
BLOCK_TORCH = textwrap.dedent("""
    import importlib.machinery as _machinery
    _find_spec = _machinery.PathFinder.find_spec

    def _hide_torch(fullname, path=None, target=None):
        if fullname == "torch" or fullname.startswith("torch."):
            return None
        return _find_spec(fullname, path, target)

    _machinery.PathFinder.find_spec = staticmethod(_hide_torch)
""")


def _run(code):
    res = subprocess.run([sys.executable, "-c", BLOCK_TORCH + textwrap.dedent(code)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_without_torch_skml_imports_and_neural_estimators_ask_for_the_extra():
    out = _run("""
        import sys
        import skml
        import skml.neural
        try:
            import torch  # noqa: F401
        except ModuleNotFoundError:
            pass
        else:
            raise AssertionError("torch was not hidden")
        from skml.neural import AutoEncoder, MLPClassifier, MLPRegressor, VAE
        from skml.utils import all_estimators
        assert not [n for n, c in all_estimators() if c.__module__.startswith("skml.neural")]
        for cls in (MLPClassifier, MLPRegressor, AutoEncoder, VAE):
            try:
                cls()
            except ImportError as exc:
                assert "pip install skml[deep]" in str(exc), exc
                assert cls.__name__ in str(exc), exc
            else:
                raise AssertionError(f"{cls.__name__}() did not raise")
        from skml.metrics import pairwise_distances
        assert pairwise_distances([[0.0, 0.0], [3.0, 4.0]])[0, 1] == 5.0
        assert "torch" not in sys.modules
        print("ok")
    """)
    assert out.split() == ["ok"]


def test_importing_skml_neural_does_not_import_torch():
    res = subprocess.run(
        [sys.executable, "-c",
         "import sys, skml.neural; from skml.neural import MLPClassifier, VAE; "
         "print('torch' in sys.modules)"],
        capture_output=True, text=True, check=True)
    assert res.stdout.split() == ["False"]
