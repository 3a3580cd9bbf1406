"""The ``tensortrio`` command: ``ingest``, ``copy``, ``info`` and ``demo``.

Each subcommand runs as one trio run in the main thread, awaiting
tensortrio futures (the work itself happens on the runtime thread). Bad input
is reported as one line on stderr, ``tensortrio <command>: error: ...``, with
exit status 1 (2 for command-line usage errors, 130 when interrupted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import trio

from ..errors import InvalidArgumentError, TensorTrioError
from .array_copy import CopyOptions, copy_array
from .demo import DEFAULT_DEMO_DIR, run_demo
from .info import describe, info
from .ingest import IngestOptions, ingest, parse_shape
from .progress import progress_wanted
from .target import parse_target

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["build_parser", "main"]

_EXPECTED = (TensorTrioError, ValueError, OSError, KeyError, TypeError, IndexError)


def _codec(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(
            f"--codec is not valid JSON: {exc.msg} at column {exc.colno}"
        ) from exc


def _shape(text: str | None, what: str) -> tuple[int, ...] | None:
    return None if text is None else parse_shape(text, what)


async def _ingest(args: argparse.Namespace) -> int:
    options = IngestOptions(
        frame_shape=_shape(args.frame_shape, "--frame-shape"),
        dtype=args.dtype,
        shard_frames=args.shard_frames,
        chunk_shape=_shape(args.chunk_shape, "--chunk-shape"),
        codec=_codec(args.codec),
        in_flight=args.in_flight,
        append=args.append,
        rate=args.rate,
        progress=progress_wanted(args.no_progress),
    )
    target = parse_target(args.dest)
    committed: list[int] = []
    try:
        result = await ingest(
            args.source, target, options, stdin=sys.stdin.buffer, on_commit=committed.append
        )
    except BaseException as raised:
        if isinstance(_leaf(raised), KeyboardInterrupt) and committed:
            print(
                f"tensortrio ingest: at least {committed[-1]} frames are committed; "
                "run it again to resume",
                file=sys.stderr,
            )
        raise
    added = result.shape[0] - result.resumed_at
    verb = "created" if result.created else "appended to"
    resumed = (
        f" (resumed after frame {result.resumed_at})"
        if result.resumed_at and not result.created
        else ""
    )
    print(
        f"tensortrio ingest: {verb} {args.dest}{resumed}: {added} frames committed, "
        f"shape {list(result.shape)}, shards of {result.shard_frames} frames"
    )
    print(f"  {result.throughput.describe('frames')}")
    return 0


async def _copy(args: argparse.Namespace) -> int:
    options = CopyOptions(
        driver=args.driver,
        chunk_shape=_shape(args.chunk_shape, "--chunk-shape"),
        shard_shape=_shape(args.shard_shape, "--shard-shape"),
        codec=_codec(args.codec),
        jobs=args.jobs,
        progress=progress_wanted(args.no_progress),
    )
    result = await copy_array(parse_target(args.src), parse_target(args.dst), options)
    print(
        f"tensortrio copy: {args.src} -> {args.dst} ({result.driver}, shape {list(result.shape)}, "
        f"chunks {list(result.chunk_shape)}, shards {list(result.shard_shape)})"
    )
    print(f"  {result.throughput.describe('chunks')}")
    return 0


async def _info(args: argparse.Namespace) -> int:
    report = await info(parse_target(args.target))
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(describe(report))
    return 0


async def _demo(args: argparse.Namespace) -> int:
    lines = await run_demo(
        args.directory,
        frames=args.frames,
        frame_shape=parse_shape(args.frame_shape, "--frame-shape"),
        dtype=args.dtype,
        progress=progress_wanted(args.no_progress),
    )
    print("\n".join(lines))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tensortrio`` command."""
    parser = argparse.ArgumentParser(
        prog="tensortrio", description="TensorStore arrays on a trio actor runtime."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest_parser = commands.add_parser(
        "ingest",
        help="append frames to a zarr3 sharded array (resumable)",
        description="Append frames along axis 0 of a zarr3 sharded array, growing it as "
        "frames arrive. Interrupted and run again, it resumes after the last committed frame.",
    )
    ingest_parser.add_argument(
        "source", help="a directory of .npy files, '-' for raw frames on stdin, or synthetic:N"
    )
    ingest_parser.add_argument(
        "dest", help="a path, a kvstore URL, a TensorStore URL or a JSON spec"
    )
    ingest_parser.add_argument("--frame-shape", help="frame shape, e.g. 512,512 (stdin, synthetic)")
    ingest_parser.add_argument("--dtype", help="frame data type, e.g. uint16 (stdin, synthetic)")
    ingest_parser.add_argument(
        "--shard-frames", type=int, help="frames per shard of a new array (default: about 16 MiB)"
    )
    ingest_parser.add_argument(
        "--chunk-shape",
        help="inner chunk shape of a new array, frame axis first (default 1,*frame)",
    )
    ingest_parser.add_argument("--codec", help="zarr3 codec spec JSON of a new array")
    ingest_parser.add_argument(
        "--in-flight", type=int, default=2, help="shard slabs being written at once (default 2)"
    )
    ingest_parser.add_argument(
        "--append",
        action="store_true",
        help="add the whole source after the existing frames instead of resuming",
    )
    ingest_parser.add_argument(
        "--rate", type=float, help="synthetic: frames per second (default: as fast as possible)"
    )
    ingest_parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    ingest_parser.set_defaults(run=_ingest)

    copy_parser = commands.add_parser(
        "copy",
        help="copy an array to a new one, optionally rechunked or recompressed",
        description="Copy any array tensortrio can open into a new zarr or zarr3 array, chunk by chunk.",
    )
    copy_parser.add_argument("src", help="the array to copy: a path, URL or JSON spec")
    copy_parser.add_argument("dst", help="the new array: a path, URL or JSON spec")
    copy_parser.add_argument(
        "--driver",
        choices=["zarr", "zarr3"],
        help="format of the new array (default: the source's)",
    )
    copy_parser.add_argument(
        "--chunk-shape", help="chunk shape (zarr3 with shards: the inner chunk shape)"
    )
    copy_parser.add_argument("--shard-shape", help="zarr3 shard shape")
    copy_parser.add_argument(
        "--codec", help='codec spec JSON (zarr3: a codec list or {"codecs": [...]})'
    )
    copy_parser.add_argument(
        "--jobs", type=int, default=4, help="chunks copied at once (default 4)"
    )
    copy_parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    copy_parser.set_defaults(run=_copy)

    info_parser = commands.add_parser(
        "info",
        help="print an array's spec, schema, chunk layout, codec and stored chunks",
        description="Print an array's spec, schema, chunk layout, codec and how many chunks are stored.",
    )
    info_parser.add_argument("target", help="a path, URL or JSON spec")
    info_parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    info_parser.set_defaults(run=_info)

    demo_parser = commands.add_parser(
        "demo",
        help="ingest a synthetic stream into a local zarr3 array, read it back and verify it",
        description="Ingest a synthetic stream into a local zarr3 sharded array, read it back, "
        "verify it and report how fast each step was.",
    )
    demo_parser.add_argument(
        "directory",
        nargs="?",
        default=DEFAULT_DEMO_DIR,
        help=f"where to write (default {DEFAULT_DEMO_DIR})",
    )
    demo_parser.add_argument(
        "--frames", type=int, default=256, help="frames to ingest (default 256)"
    )
    demo_parser.add_argument(
        "--frame-shape", default="512,512", help="frame shape (default 512,512)"
    )
    demo_parser.add_argument("--dtype", default="uint16", help="data type (default uint16)")
    demo_parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo_parser.set_defaults(run=_demo)
    return parser


def _leaf(error: BaseException) -> BaseException:
    """The one error inside (nested) single-member exception groups, as a user should see it."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def _message(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, BaseExceptionGroup):
        text = "; ".join(_message(e) for e in error.exceptions)
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = trio.run(args.run, args)
    except BaseException as raised:
        error = _leaf(raised)
        if isinstance(error, BrokenPipeError):
            # The reader (e.g. `| head`) left: not an error, and nothing more to say.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        if isinstance(error, KeyboardInterrupt):
            print(f"tensortrio {args.command}: interrupted", file=sys.stderr)
            return 130
        if isinstance(error, _EXPECTED) or (
            isinstance(error, BaseExceptionGroup) and error.subgroup(_EXPECTED) is not None
        ):
            print(f"tensortrio {args.command}: error: {_message(error)}", file=sys.stderr)
            return 1
        raise
    return status
