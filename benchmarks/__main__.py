"""``python -m benchmarks [--quick] [bench_x ...]`` from the root of a source checkout
(``make bench`` runs this): skml against its peers, ratios printed, JSON written."""
import argparse
import sys

from benchmarks._harness import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmark modules (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    args = parser.parse_args()
    sys.exit(main(args.names, quick=args.quick))
