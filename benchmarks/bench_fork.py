#!/usr/bin/env python3
"""What the kernel charges for each job's processes on this machine: the floor under a supervisor's cost.

    python benchmarks/bench_fork.py            # median of 5 rounds of each

Each measure runs in a fresh interpreter that has imported what a warm process imports (numpy, and numpy.random,
numpy.linalg and numpy.fft unless said otherwise), then:
- fork and exit: 300 children that exit at once; the parent's CPU per fork (the supervisor's share) and the
  children's (counted as the student's), from `getrusage`;
- a page written again after a fork: 2,000 pages of the parent's written while a child shares them, thread CPU per
  page (a supervisor writes hundreds of its own after each fork: Python's reference counts);
- a wake-up: a child writes a byte every millisecond, the parent waits in `select` and reads it; thread CPU per
  wake-up.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

ROUNDS = 5

MEASURE = """
import json, mmap, os, resource, select, sys, time
for name in sys.argv[1].split(","):
    if name:
        __import__(name)
import gc
gc.freeze()

def fork_and_exit(count=300):
    before, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    after, children_after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = lambda usage: usage.ru_utime + usage.ru_stime
    return (cpu(after) - cpu(before)) / count, (cpu(children_after) - cpu(children)) / count

def page_copied(pages=2000):
    memory = mmap.mmap(-1, pages * mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)  # copied on write
    for page in range(pages):
        memory[page * mmap.PAGESIZE] = 1
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.read(reader, 1)
        os._exit(0)
    began = time.thread_time()
    for page in range(pages):
        memory[page * mmap.PAGESIZE] = 2
    spent = (time.thread_time() - began) / pages
    os.write(writer, b"x")
    os.waitpid(pid, 0)
    return spent

def wake_up(count=1000):
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        for _ in range(count):
            os.write(writer, b"x")
            time.sleep(0.001)
        os._exit(0)
    os.close(writer)
    began, woken = time.thread_time(), 0
    while select.select([reader], [], [], 5.0)[0] and os.read(reader, 65536):
        woken += 1
    spent = (time.thread_time() - began) / max(woken, 1)
    os.waitpid(pid, 0)
    return spent

parent, child = fork_and_exit()
print(json.dumps({"fork_parent_ms": 1000 * parent, "fork_child_ms": 1000 * child,
                  "page_copied_us": 1e6 * page_copied(), "wake_up_us": 1e6 * wake_up()}))
"""

WARM = "numpy,numpy.random,numpy.linalg,numpy.fft"
SETTINGS = {
    "a warm process's imports": WARM,
    "without numpy.random": "numpy,numpy.linalg,numpy.fft",
    "a bare interpreter": "",
}


def measured(modules: str) -> dict[str, float]:
    environment = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", MEASURE, modules], capture_output=True, text=True, check=True,
                          env=environment)
    return json.loads(done.stdout)


def main() -> None:
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in SETTINGS}
    for _ in range(ROUNDS):
        for name, modules in SETTINGS.items():
            rounds[name].append(measured(modules))
    print(f"median of {ROUNDS} rounds")
    print(f"  {'':<26} {'fork, parent':>13} {'fork, child':>12} {'page copied':>12} {'wake-up':>9}")
    for name, values in rounds.items():
        median = {key: statistics.median(value[key] for value in values) for key in values[0]}
        print(f"  {name:<26} {median['fork_parent_ms']:10.2f} ms {median['fork_child_ms']:9.2f} ms "
              f"{median['page_copied_us']:9.2f} us {median['wake_up_us']:6.1f} us")


if __name__ == "__main__":
    sys.exit(main())
