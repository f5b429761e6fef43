"""Helpers for the neural tests."""
import numpy as np


def state_dicts_equal(a, b):
    """Whether two fitted estimators hold bit-identical network weights and buffers."""
    sa, sb = a.module_.state_dict(), b.module_.state_dict()
    return sa.keys() == sb.keys() and all(
        np.array_equal(sa[k].cpu().numpy(), sb[k].cpu().numpy()) for k in sa)
