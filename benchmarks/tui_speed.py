"""TUI speed: cold start, step latency and memory of the debugger, in a real pseudo-terminal.

Issue 4 (Speed) targets, on this machine:

* cold start to the first full frame of ``backprop-tui debug xor`` ≤ 1.0 s;
* one step (key press → repainted screen) p95 ≤ 50 ms on ``mnist-cnn`` with a 32-image batch;
* memory (RSS) of the debugger on ``mnist-cnn`` after 200 steps < 500 MB.

Why a pseudo-terminal and not Pilot: a user waits for the whole chain — Python start-up, the
imports, the scenario and data, Textual's driver, the frame written to the terminal — and only a
real ``backprop-tui`` process writing to a pty sees all of it. Pilot runs inside the test
process (imports already paid) with a headless driver that never writes a frame, and its
``press`` waits for idle timers, which would be measured as latency. Here the benchmark
spawns the console script in a pty of the given size, and reads what the app writes:

* a *frame* ends with Textual's end-of-synchronized-update sequence ``ESC[?2026l`` (the
  benchmark answers Textual's query for synchronized output as a modern terminal does);
* the first *full* frame is the first one after which the screen shows the footer (``quit``)
  and the network pane (the first layer's name);
* a step is timed from writing ``n`` to the pty until the end of the frame that shows the new
  step counter (``step k/16`` in the network pane's border);
* RSS is read from ``/proc/PID/status`` of the app process after the steps.

Run from the repository root::

    .venv/bin/python benchmarks/tui_speed.py                  # all three, 5 cold starts
    .venv/bin/python benchmarks/tui_speed.py --steps 200 --starts 10
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

END_FRAME = b"\x1b[?2026l"  # end of a synchronized update: the frame is complete
QUERY_SYNC = b"\x1b[?2026$p"  # Textual asks: do you support synchronized output?
ANSWER_SYNC = b"\x1b[?2026;2$y"  # yes (mode known, currently reset)
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def app_command(scenario: str, *extra: str) -> list[str]:
    exe = Path(sys.executable).with_name("backprop-tui")
    if exe.exists():
        return [str(exe), "debug", scenario, *extra]
    return [sys.executable, "-m", "backprop_tui", "debug", scenario, *extra]


class Terminal:
    """The app running in a pseudo-terminal of ``cols × rows``; reads what it writes."""

    def __init__(self, argv: list[str], cols: int = 120, rows: int = 40) -> None:
        env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor",
                   COLUMNS=str(cols), LINES=str(rows))
        env.pop("TEXTUAL", None)
        self.t0 = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: the app
            try:
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.buffer = b""
        self.answered = False

    def read_until(self, predicate, timeout: float = 30.0) -> float:
        """Read until ``predicate(buffer)``, checked at each end of frame; returns the time
        (perf_counter) at which the frame that satisfied it was fully read."""
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                tail = ANSI.sub(b"", self.buffer[-2000:]).decode(errors="replace")
                raise TimeoutError(f"no matching frame within {timeout} s; last output: {tail}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError as e:  # the app exited
                raise RuntimeError("the app exited") from e
            if QUERY_SYNC in chunk and not self.answered:
                # play a terminal with synchronized output (kitty, WezTerm, iTerm2, foot,
                # Windows Terminal…): Textual then brackets every frame, and we see it end
                os.write(self.fd, ANSWER_SYNC)
                self.answered = True
            self.buffer += chunk
            # the end-of-frame marker may be split across two reads: look just behind the chunk
            tail = self.buffer[-(len(chunk) + len(END_FRAME)):]
            if END_FRAME in tail and predicate(self.buffer):
                return time.perf_counter()

    def text(self) -> str:
        return ANSI.sub(b"", self.buffer).decode(errors="replace")

    def send(self, data: bytes) -> float:
        self.buffer = b""
        t = time.perf_counter()
        os.write(self.fd, data)
        return t

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        try:
            os.write(self.fd, b"q")
            deadline = time.time() + 5
            while time.time() < deadline:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    break
                try:
                    select.select([self.fd], [], [], 0.1)
                    os.read(self.fd, 1 << 16)
                except OSError:
                    pass
            else:
                os.kill(self.pid, signal.SIGTERM)
                os.waitpid(self.pid, 0)
        except (OSError, ChildProcessError):
            pass
        finally:
            os.close(self.fd)


def full_frame(first_layer: str):
    def ok(buf: bytes) -> bool:
        plain = ANSI.sub(b"", buf)
        return b"quit" in plain and first_layer.encode() in plain and b"Tensor" in plain

    return ok


def cold_start(starts: int) -> list[float]:
    times = []
    for _ in range(starts):
        term = Terminal(app_command("xor"))
        try:
            t = term.read_until(full_frame("affine1"), timeout=30)
            times.append(t - term.t0)
        finally:
            term.close()
    return times


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def steps(n_steps: int, batch_size: int, n_back: int = 0,
          gap: float = 0.05) -> tuple[list[float], float, float, list[float]]:
    """Step latencies (s) of ``n`` presses of ``n`` on mnist-cnn, the RSS (MB) after them, the
    RSS after start-up, and the latencies of ``n_back`` presses of ``p`` (step back) after
    them. A step back restores the iteration-start snapshot and replays up to the step before,
    so its cost grows with the position in the iteration; the presses walk back from wherever
    the forward steps ended, across iteration boundaries.

    Each key is sent ``gap`` seconds after the frame that answered the one before, as a person
    presses keys. With ``gap=0`` the next key lands while Textual's screen-update timer is
    still in its 60-fps pacing sleep after the frame just drawn, and the repaint waits up to two
    frame periods (17–33 ms) for it: that measures Textual's frame-rate cap under a held key,
    not the step."""
    term = Terminal(app_command("mnist-cnn", "--batch-size", str(batch_size)))
    try:
        term.read_until(full_frame("conv1"), timeout=60)
        time.sleep(0.5)  # let start-up work settle
        rss0 = term.rss_mb()
        per_iter = 16
        lat = []
        for k in range(1, n_steps + 1):
            pos = (k - 1) % per_iter + 1
            it = (k - 1) // per_iter
            want = f"iteration {it} · step {pos}/{per_iter}".encode()
            time.sleep(gap)
            t = term.send(b"n")
            done = term.read_until(lambda buf, want=want: want in ANSI.sub(b"", buf),
                                   timeout=30)
            lat.append(done - t)
        time.sleep(0.3)
        rss = term.rss_mb()
        back = []
        it, pos = (n_steps - 1) // per_iter, (n_steps - 1) % per_iter + 1  # where the steps ended
        for _ in range(n_back):
            if it == 0 and pos == 0:
                break
            # back from step 1 lands on step 0 (nothing of the iteration done yet); back from
            # step 0 shows the end of the iteration before (its update as the last step)
            it, pos = (it, pos - 1) if pos > 0 else (it - 1, per_iter)
            want = f"iteration {it} · step {pos}/{per_iter}".encode()
            time.sleep(gap)
            t = term.send(b"p")
            done = term.read_until(lambda buf, want=want: want in ANSI.sub(b"", buf),
                                   timeout=30)
            back.append(done - t)
        return lat, rss, rss0, back
    finally:
        term.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--starts", type=int, default=5, help="cold starts to time")
    ap.add_argument("--steps", type=int, default=200, help="steps on mnist-cnn")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--back", type=int, default=32,
                    help="step-back presses (p) after the steps, timed the same way")
    ap.add_argument("--gap-ms", type=float, default=50.0,
                    help="pause after each frame before the next key (0: back to back, which "
                         "adds Textual's 60-fps frame pacing to every latency)")
    ap.add_argument("--by-step", action="store_true", help="latency per step of the iteration")
    args = ap.parse_args()

    starts = cold_start(args.starts)
    print(f"cold start, backprop-tui debug xor → first full frame (120×40 pty), "
          f"{len(starts)} runs: median {percentile(starts, 0.5):.3f} s, "
          f"min {min(starts):.3f} s, max {max(starts):.3f} s   (target ≤ 1.0 s)")
    lat, rss, rss0, back = steps(args.steps, args.batch_size, args.back, args.gap_ms / 1000)
    ms = [1000 * v for v in lat]
    print(f"step latency, mnist-cnn batch {args.batch_size}, key 'n' → repainted frame, "
          f"{len(ms)} steps {args.gap_ms:g} ms apart: p50 {percentile(ms, 0.5):.1f} ms, "
          f"p95 {percentile(ms, 0.95):.1f} ms, "
          f"max {max(ms):.1f} ms   (target p95 ≤ 50 ms)")
    if args.by_step:
        per_iter = 16
        for pos in range(per_iter):
            vals = ms[pos::per_iter]
            print(f"  step {pos + 1:2d}/{per_iter}: p50 {percentile(vals, 0.5):6.1f} ms, "
                  f"max {max(vals):6.1f} ms")
    if back:
        bm = [1000 * v for v in back]
        print(f"step back, mnist-cnn batch {args.batch_size}, key 'p' → repainted frame, "
              f"{len(bm)} presses {args.gap_ms:g} ms apart: p50 {percentile(bm, 0.5):.1f} ms, "
              f"p95 {percentile(bm, 0.95):.1f} ms, max {max(bm):.1f} ms")
    print(f"memory, mnist-cnn after {len(ms)} steps: RSS {rss:.0f} MB "
          f"(after start-up {rss0:.0f} MB)   (target < 500 MB)")
    ok = percentile(starts, 0.5) <= 1.0 and percentile(ms, 0.95) <= 50 and rss < 500
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
