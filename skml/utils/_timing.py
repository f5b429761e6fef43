"""Side-by-side timing of skml and a peer, shared by the benchmark harness and the demo."""
import statistics
import time

__all__ = ["median_time", "time_side_by_side"]


def _block(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def median_time(fn, repeats=5):
    """Median wall time of ``fn()`` over ``repeats`` calls after one warm-up call, and the
    last result: ``(seconds, result)``. For timings of one library on its own (solvers of
    the same estimator side by side); comparisons with a peer use ``time_side_by_side``."""
    fn()
    times, result = _block(fn, repeats)
    return statistics.median(times), result


def time_side_by_side(skml_fn, peer_fn, repeats=5):
    """Median wall times of ``skml_fn()`` and ``peer_fn()``, and their last results.

    Each side is timed in a block of its own, right after its own warm-up call: a library's
    idle threads keep spinning for a while after a call (OpenBLAS, libgomp, torch), and
    alternating the two sides would charge that spin to whichever side runs next. Single
    timings swing several-fold on a busy machine; the median of ``repeats`` does not.

    Returns
    -------
    (skml_seconds, peer_seconds, skml_result, peer_result)
    """
    peer_fn()  # imports, thread pools, page faults of both sides before anything is timed
    skml_fn()
    t_skml, r_skml = _block(skml_fn, repeats)
    peer_fn()
    t_peer, r_peer = _block(peer_fn, repeats)
    return statistics.median(t_skml), statistics.median(t_peer), r_skml, r_peer
