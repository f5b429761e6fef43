"""Private Cython kernels. Inputs are validated by the Python layer; see DESIGN.md."""
