"""GUI performance figures: frame time vs scrollback, idle CPU, a 1,000-message burst.

Not a test (timings depend on the machine); run it and copy the figures into
docs/gui.md and the README:

    python bench/bench_render.py            # headless (SDL dummy driver)
    DISPLAY=:0 python bench/bench_render.py --real-window   # idle CPU in a real window
    python bench/bench_render.py --json --idle-seconds 3   # what bench/run.py calls

1. Frame time: the chat screen drawn with 10 and with 10,000 messages in scrollback,
   in the same run (steady frames at the bottom, and frames that scroll one wheel
   notch each, which lay out and render newly visible lines).
2. Idle CPU: the real ``App`` loop connected to a real server (a subprocess), with
   nothing arriving and no input, for 10 s; CPU time of this process (all threads)
   / wall time. Measured twice: while the cursor blinks (from ``IDLE_AFTER`` after
   focus, when the loop has gone from its 8 ms to its 40 ms poll), and 10 s once it
   has stopped (as GTK's cursor does, 10 s after focus); and, as its baseline, a bare
   loop that only sleeps the idle poll and takes pygame's events.
3. Burst: another client sends 1,000 messages at once; time until the last one is
   in the view model and drawn.
4. Cold start: ``python bench/bench_render.py --first-frame`` in a new process (a new
   interpreter, every import), as ``client.py --host --name`` starts; wall time from
   just before the process is spawned until the first frame is drawn, and until the
   welcome is shown. The median of three.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _setup_display(real_window: bool) -> None:
    if not real_window:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def filled_screen(count: int, size=(1000, 660)):
    """A ChatScreen whose log holds ``count`` varied messages."""
    import pygame
    from ui.chatlog import ChatLog
    from ui.chatscreen import ChatScreen
    from ui.textfonts import Fonts
    pygame.display.init()
    pygame.font.init()
    surface = pygame.display.get_surface() or pygame.display.set_mode(size)
    log = ChatLog("me")
    users = ["alice", "bob", "carol", "dmitri", "mei", "me"]
    log.apply({"type": "connected", "name": "me", "users": users, "max_text": 4000, "seq": 0,
               "host": "127.0.0.1", "port": 5050})
    texts = ["short one", "Привет, как дела? всё хорошо",
             "a longer line that will need to wrap once the window is not very wide, "
             "with some more words to make sure it really does wrap around " * 2,
             "你好，今天中午吃什么？", "ok"]
    t0 = time.time() - count * 30
    for i in range(count):
        kind = "action" if i % 17 == 0 else "chat"
        log.apply({"type": "message", "seq": i + 1, "ts": t0 + i * 30 + (i % 3) * 400,
                   "from": users[i % 5], "text": texts[i % len(texts)], "kind": kind})
    screen = ChatScreen(size, Fonts(), log, send=lambda text: "x")
    return screen, surface


def frame_times(count: int, frames: int = 200):
    """Frame figures in ms for a log of ``count`` messages.

    Returns (draw median, draw p95, scrolling draw median, flip median): "draw" is our
    rendering into the window surface, "flip" is handing it to the display, which
    depends only on the window size and the display (a software X server is slow).
    """
    import pygame
    screen, surface = filled_screen(count)
    screen.update(0.0)
    screen.draw(surface)  # warm the caches of the visible lines
    steady, flips = [], []
    for _ in range(frames):
        screen.dirty = True
        start = time.perf_counter()
        screen.draw(surface)
        drawn = time.perf_counter()
        pygame.display.flip()
        steady.append((drawn - start) * 1000)
        flips.append((time.perf_counter() - drawn) * 1000)
    scrolling = []
    if count > 50:
        for i in range(frames):
            start = time.perf_counter()
            screen.view.scroll_by(60 if i < frames // 2 else -60)
            screen.draw(surface)
            scrolling.append((time.perf_counter() - start) * 1000)
            pygame.display.flip()
    steady.sort()
    return (statistics.median(steady), steady[int(len(steady) * 0.95) - 1],
            statistics.median(scrolling) if scrolling else None, statistics.median(flips))


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    """``server.py`` in a subprocess (no rate limit, no history file), once it accepts."""
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "server.py"), "--host",
                             "127.0.0.1", "--port", str(port), "--db", ":memory:", "--rate", "0",
                             "--log-level", "WARNING"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("server did not start")


def new_app(port: int):
    """The real App as ``client.py --host --port --name`` makes it (connecting), with
    its config directory in a temp dir."""
    import tempfile
    from lanchat.client import options
    from ui.app import App
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="bench-gui-")
    args = options.build_parser().parse_args(["--host", "127.0.0.1", "--port", str(port),
                                             "--name", "bench"])
    return App(args)


def connected_app(port: int):
    """The real App (``new_app``), stepped until it is connected."""
    app = new_app(port)
    deadline = time.monotonic() + 10
    while app.log.status.state != "connected":
        if time.monotonic() > deadline:
            raise SystemExit("app did not connect")
        app.step()
    return app


def first_frame(port: int, spawned_at: float) -> dict:
    """In a fresh process: build the App as ``client.py`` does, step it until its first
    frame is drawn and until it is connected; seconds since ``spawned_at`` (wall clock,
    taken by the parent just before it started this process)."""
    app = new_app(port)
    figures = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(figures) < 2:
        app.step()
        if app.frames_drawn and "first_frame_s" not in figures:
            figures["first_frame_s"] = time.time() - spawned_at
        if app.log.status.state == "connected" and app.frames_drawn and \
                not app.screen.needs_draw and "connected_s" not in figures:
            figures["connected_s"] = time.time() - spawned_at
    app.quit()
    return figures


def cold_start(port: int, runs: int = 3) -> dict:
    """Median seconds from spawning a client process to its first frame and to the
    welcome drawn (see ``first_frame``)."""
    results = []
    for _ in range(runs):
        spawned_at = time.time()
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--first-frame",
                              str(spawned_at), "--port", str(port)],
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise SystemExit(f"cold start run failed: {out.stderr.strip()[-400:]}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def idle_cpu(app, seconds: float = 10.0):
    """(CPU % of one core, frames drawn) while the loop idles for ``seconds``."""
    for _ in range(20):
        app.step()  # settle: first ping, first frames
    frames_before = app.frames_drawn
    cpu0, wall0 = time.process_time(), time.monotonic()
    while time.monotonic() - wall0 < seconds:
        app.step()
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - wall0
    return 100.0 * cpu / wall, app.frames_drawn - frames_before


def idle_floor(seconds: float) -> float:
    """CPU % of one core of the least an idle loop can cost: a bare loop that sleeps
    ``POLL_IDLE`` and takes the pygame events, nothing else (the baseline the idle
    figures are read against: on a VM a wake-up alone can cost ~0.1 ms)."""
    import pygame
    from ui.looppace import POLL_IDLE
    cpu0, wall0 = time.process_time(), time.monotonic()
    while time.monotonic() - wall0 < seconds:
        time.sleep(POLL_IDLE)
        pygame.event.get()
    return 100.0 * (time.process_time() - cpu0) / (time.monotonic() - wall0)


def burst(app, port: int, count: int = 1000):
    """Seconds from the first of ``count`` messages sent to the last one drawn."""
    import protocol
    sender = socket.create_connection(("127.0.0.1", port))
    sender.sendall(protocol.message_frame({"type": "hello", "name": "burster"}))
    deadline = time.monotonic() + 10
    while "burster" not in app.log.users:
        if time.monotonic() > deadline:
            raise SystemExit("burster never joined")
        app.step()
    payload = b"".join(protocol.message_frame({"type": "say", "text": f"burst message {i}"})
                       for i in range(count))
    last = f"burst message {count - 1}"
    frames_before = app.frames_drawn
    longest_step = 0.0
    start = time.monotonic()
    sender.sendall(payload)
    while not (app.log.entries and app.log.entries[-1].text == last
               and not app.screen.needs_draw):
        if time.monotonic() - start > 30:
            raise SystemExit("burst not shown within 30 s")
        step_start = time.monotonic()
        app.step()
        longest_step = max(longest_step, time.monotonic() - step_start)
    elapsed = time.monotonic() - start
    sender.close()
    return elapsed, app.frames_drawn - frames_before, longest_step


def pane_draw_ms(app, frames: int = 50) -> float:
    """Median ms to draw the open wire inspector in full (the list and the detail)."""
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        app.inspector.draw(app.surface)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(idle_seconds: float = 10.0, wire_pane: bool = False) -> dict:
    """Run the three measurements (display already set up); every figure in a dict.

    The second idle figure starts once the cursor has stopped blinking
    (``BLINK_TIMEOUT`` after focus), however short ``idle_seconds`` is. With
    ``wire_pane`` the wire inspector (F12) is open throughout, the keyboard in the chat.
    """
    import pygame
    from ui.looppace import IDLE_AFTER
    from ui.inputbox import BLINK_TIMEOUT

    small = frame_times(10)
    large = frame_times(10_000)
    figures = {"draw_ms_10": small[0], "draw_p95_ms_10": small[1],
               "draw_ms_10000": large[0], "draw_p95_ms_10000": large[1],
               "scroll_draw_ms_10000": large[2], "flip_ms": large[3],
               "driver": pygame.display.get_driver(), "idle_seconds": idle_seconds}
    pygame.display.quit()

    port = free_port()
    server = start_server(port)
    try:
        app = connected_app(port)
        if wire_pane:
            app.inspector.toggle()
            app.inspector.focused = False
            app.resize(app.size)
        app.set_focused(True)  # the cursor blinks for 10 s after focus or input
        focused_at = time.monotonic()
        while time.monotonic() - focused_at < IDLE_AFTER + 0.2:
            app.step()  # the first seconds after input poll fast: that is not idle
        blinking = idle_cpu(app, idle_seconds)
        figures["idle_cpu_blink_pct"], figures["idle_frames_blink"] = blinking
        while time.monotonic() - focused_at < BLINK_TIMEOUT + 0.2:
            app.step()
        figures["idle_cpu_pct"], figures["idle_frames"] = idle_cpu(app, idle_seconds)
        figures["idle_floor_pct"] = idle_floor(idle_seconds)
        figures.update(cold_start(port))
        elapsed, frames, longest = burst(app, port)
        figures.update(burst_ms=elapsed * 1000, burst_frames=frames,
                       burst_longest_ms=longest * 1000, wire_frames=app.wiretap.count)
        if wire_pane:
            figures["pane_draw_ms"] = pane_draw_ms(app)
        app.quit()
        pygame.quit()
    finally:
        server.terminate()
        server.wait(10)
    return figures


def main() -> int:
    """Run the measurements; print one line per figure, or one JSON object."""
    parser = argparse.ArgumentParser(description="GUI render/idle/burst benchmark")
    parser.add_argument("--real-window", action="store_true",
                        help="use the real video driver (needs DISPLAY) instead of dummy")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--wire-pane", action="store_true",
                        help="measure with the wire inspector (F12) open")
    parser.add_argument("--json", action="store_true",
                        help="print the figures as one JSON object (for bench/run.py)")
    parser.add_argument("--first-frame", type=float, metavar="SPAWNED_AT",
                        help=argparse.SUPPRESS)  # one cold-start run (see cold_start)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    _setup_display(args.real_window)
    if args.first_frame is not None:
        print(json.dumps(first_frame(args.port, args.first_frame)))
        return 0
    f = measure(args.idle_seconds, args.wire_pane)
    if args.json:
        print(json.dumps(f))
        return 0
    print(f"frame draw, 10 messages:      median {f['draw_ms_10']:.2f} ms, "
          f"p95 {f['draw_p95_ms_10']:.2f} ms")
    print(f"frame draw, 10,000 messages:  median {f['draw_ms_10000']:.2f} ms, "
          f"p95 {f['draw_p95_ms_10000']:.2f} ms "
          f"(ratio {f['draw_ms_10000'] / f['draw_ms_10']:.2f}x)")
    print(f"scrolling frame draw, 10,000: median {f['scroll_draw_ms_10000']:.2f} ms "
          "(lays out newly visible lines)")
    print(f"display flip (1000x660):      median {f['flip_ms']:.2f} ms (driver {f['driver']})")
    print(f"idle CPU over {args.idle_seconds:.0f} s, cursor blinking: "
          f"{f['idle_cpu_blink_pct']:.2f} % of one core "
          f"({f['idle_frames_blink']} partial frames; driver {f['driver']})")
    print(f"idle CPU over {args.idle_seconds:.0f} s once the blink stopped: "
          f"{f['idle_cpu_pct']:.2f} % of one core ({f['idle_frames']} frames drawn); "
          f"a bare sleep-and-poll loop: {f['idle_floor_pct']:.2f} %")
    print(f"1,000-message burst: all shown in {f['burst_ms']:.0f} ms over "
          f"{f['burst_frames']} frames (longest frame {f['burst_longest_ms']:.1f} ms)")
    print(f"cold start: first frame {f['first_frame_s'] * 1000:.0f} ms, welcome shown "
          f"{f['connected_s'] * 1000:.0f} ms after the process was spawned")
    print(f"wire tap: {f['wire_frames']} frames recorded")
    if "pane_draw_ms" in f:
        print(f"wire inspector drawn in full (a full ring): median {f['pane_draw_ms']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
