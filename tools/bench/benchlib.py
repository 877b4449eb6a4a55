"""What the SMTP benchmarks share: a filesystem of their own for the queues."""
import contextlib
import os
import subprocess


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
