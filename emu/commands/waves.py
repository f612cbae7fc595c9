"""``disagg waves``: protocol checks on recorded VCD or FST waveforms, and text/SVG excerpts of them."""

from pathlib import Path

from ..errors import DisaggError


def register(sub):
    p = sub.add_parser("waves", help="check valid/ready handshakes in a VCD or FST, or show signals over a window")
    waves = p.add_subparsers(dest="waves_command", metavar="ACTION", parser_class=type(p))
    waves.required = True

    c = waves.add_parser("check", help="check every valid/ready stream (and block invariants) in a VCD or FST")
    c.add_argument("file", type=Path, metavar="FILE")
    c.add_argument("--clock", default="clk", help="clock signal, full or leaf name (default: clk)")
    c.add_argument("--reset", default=None,
                   help="reset signal (default: the first of rst, reset, rst_n, aresetn... found; '' for none)")
    c.add_argument("--reset-active-low", action="store_true", default=None,
                   help="the reset is active low (default: guessed from its name, e.g. rst_n)")
    c.add_argument("--block", action="append", default=[], metavar="NAME",
                   help="also check the invariants registered for this block (repeatable)")
    c.add_argument("--invariant", action="append", default=[], metavar="SPEC",
                   help="extra invariant, e.g. outstanding:cpu_req:cpu_resp:4 (repeatable)")
    c.add_argument("--max-shown", type=int, default=50, metavar="N",
                   help="violations printed per rule (default 50)")
    c.set_defaults(func=run_check)

    s = waves.add_parser("show", help="render chosen signals over a time window as text (and SVG)")
    s.add_argument("file", type=Path, metavar="FILE")
    s.add_argument("--signals", required=True, metavar="PATTERN",
                   help="comma-separated globs on full or leaf signal names, e.g. 'cpu_req__*,rst'")
    s.add_argument("--from", dest="start", default=None, metavar="T",
                   help="start time, in file units or with a unit (e.g. 120ns); default: first edge")
    s.add_argument("--to", dest="end", default=None, metavar="T", help="end time (inclusive); default: last edge")
    s.add_argument("--clock", default="clk", help="clock whose rising edges make the cycles (default: clk)")
    s.add_argument("--max-cycles", type=int, default=128, metavar="N", help="cycles shown at most (default 128)")
    s.add_argument("--svg", type=Path, default=None, metavar="OUT", help="also write a WaveDrom-style SVG")
    s.set_defaults(func=run_show)


def run_check(args):
    from ..waves import block_invariants, check_file, parse_invariant
    if args.max_shown < 1:
        raise DisaggError(f"--max-shown must be at least 1, not {args.max_shown}")
    invariants = [inv for block in args.block for inv in block_invariants(block)]
    invariants += [parse_invariant(spec) for spec in args.invariant]
    report = check_file(args.file, clock=args.clock, reset=args.reset,
                        reset_active_low=args.reset_active_low, invariants=invariants)
    print("\n".join(report.lines(limit=args.max_shown)))
    return 0 if report.ok else 1


def run_show(args):
    from ..waves import load_waveform, render_svg, render_text, select_window
    wave = load_waveform(args.file)
    start = None if args.start is None else wave.parse_time(args.start)
    end = None if args.end is None else wave.parse_time(args.end)
    win = select_window(wave, args.signals, clock=args.clock, start=start, end=end, max_cycles=args.max_cycles)
    print(render_text(win), end="")
    if args.svg is not None:
        try:
            args.svg.parent.mkdir(parents=True, exist_ok=True)
            args.svg.write_text(render_svg(win))
        except OSError as exc:
            raise DisaggError(f"cannot write {args.svg}: {exc.strerror}") from None
        print(f"wrote {args.svg}")
    return 0
