"""Data generators for skml's tests, demo and documentation (nothing downloads).

``make_shapes`` draws small images of circles, squares and triangles on textured
backgrounds, with the labels, masks or boxes that classification, segmentation and
detection models learn from; ``place_on_canvas`` turns any small images (e.g. digits)
into a localisation set.
"""
from skml.datasets._canvas import place_on_canvas
from skml.datasets._shapes import SHAPE_NAMES, make_shapes

__all__ = ["SHAPE_NAMES", "make_shapes", "place_on_canvas"]
