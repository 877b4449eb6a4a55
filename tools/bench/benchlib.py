"""What the SMTP benchmarks share: a filesystem of their own for the
queues, and what a server costs: CPU time of its processes, system calls."""
import contextlib
import os
import signal
import subprocess
import time


@contextlib.contextmanager
def queue_filesystem(root):
    """A fresh ext4 filesystem for the queues, or `root` when none can be made."""
    image, mount_point = os.path.join(root, "queues.img"), os.path.join(root, "queues")
    os.makedirs(mount_point)
    made = subprocess.run(f"truncate -s 2G {image} && mkfs.ext4 -q -F {image} && mount -o loop {image} {mount_point}",
                          shell=True, capture_output=True).returncode == 0
    if made:
        os.chmod(mount_point, 0o755)
    print("queues on " + ("a dedicated ext4 filesystem (loop)" if made else "/tmp (no loop device)"), flush=True)
    try:
        yield mount_point
    finally:
        if made:
            subprocess.run(["umount", mount_point], capture_output=True)


def process_tree_cpu(root_pid):
    """CPU seconds (user and system) of a process and all its descendants,
    living or already reaped (their time is in their parent's cutime), so
    that the difference of two readings is what the tree spent between."""
    ticks, children = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        ticks[int(entry)] = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += ticks.get(pid, 0)
        stack += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


class SyscallCounter:
    """System calls made on the whole machine while it runs (perf stat on
    the raw_syscalls:sys_enter tracepoint); None where perf cannot count."""

    def __init__(self, directory):
        self.output = os.path.join(directory, "perf-stat.csv")
        self.process = None

    def __enter__(self):
        try:
            self.process = subprocess.Popen(["perf", "stat", "-a", "-x", ",", "-e", "raw_syscalls:sys_enter",
                                             "-o", self.output], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            self.process = None
        time.sleep(0.3)  # perf attaches
        return self

    def __exit__(self, *exc):
        self.count = None
        if self.process is None:
            return False
        self.process.send_signal(signal.SIGINT)
        self.process.wait()
        try:
            with open(self.output) as f:
                for line in f:
                    fields = line.split(",")
                    if len(fields) > 2 and "sys_enter" in fields[2] and fields[0].isdigit():
                        self.count = int(fields[0])
        except OSError:
            pass
        return False
