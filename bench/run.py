"""One entry point for every benchmark: `python -m bench.run [--only NAMES] [--quick]`.

Prints Markdown tables (with the machine they ran on) that go into README as they are.
"""

import argparse
import os
import platform
import time


def machine() -> str:
    import dowhy
    import numpy

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {numpy.__version__}, "
        f"DoWhy {dowhy.__version__}, {time.strftime('%Y-%m-%d')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default="accuracy,speed,refutation,discovery,scale", help="comma-separated subset"
    )
    parser.add_argument("--quick", action="store_true", help="fewer seeds and no 1M-row run")
    args = parser.parse_args()
    wanted = args.only.split(",")
    print(f"Machine: {machine()}\n")
    if "accuracy" in wanted:
        from bench import accuracy

        print(accuracy.run(seeds=2 if args.quick else 5))
    if "speed" in wanted:
        from bench import speed

        print(speed.run(repeats=1 if args.quick else 2))
    if "refutation" in wanted:
        from bench import bench_refutation

        print(bench_refutation.run())
    if "discovery" in wanted:
        from bench import bench_discovery

        print(bench_discovery.run())
    if "scale" in wanted:
        from bench import scale

        print(scale.run((10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)))


if __name__ == "__main__":
    main()
