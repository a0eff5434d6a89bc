#!/usr/bin/python3
"""criu-record.py: stands in for criu and records its RPC.

Named as the criu binary (`runc --criu criu-record.py`, `swrun --criu criu-record.py`), it
runs the real criu ($CRIU_REAL, default /usr/sbin/criu) and, for `criu swrk FD`, sits on the
RPC socket between the client and criu: every packet is passed on unchanged (with any
descriptor it carries, such as orphan-pts-master's), and written to
$CRIU_RECORD/<n>-<client>/<k>-req.bin or <k>-resp.bin. tests/vm/criu.sh records runc's and
swrun's exchanges this way; Tests/SwrunCoreTests/CriuRPCTests.swift holds the bytes.

CRIU opens images_dir_fd and work_dir_fd as /proc/<peer>/fd/<fd>, and its peer is now this
process: the client's descriptors are opened here again under the same numbers first.
"""
import array
import fcntl
import os
import select
import socket
import sys

REAL = os.environ.get("CRIU_REAL", "/usr/sbin/criu")

if len(sys.argv) != 3 or sys.argv[1] != "swrk":
    os.execv(REAL, [REAL] + sys.argv[1:])

# Our end of the client's socket moves out of the way: the client's own descriptors are
# mirrored below at their numbers, 3 included.
given = int(sys.argv[2])
client = socket.socket(fileno=fcntl.fcntl(given, fcntl.F_DUPFD_CLOEXEC, 1000))
os.close(given)
ppid = os.getppid()
with open(f"/proc/{ppid}/comm") as f:
    comm = f.read().strip()

# The client's descriptors, at the same numbers (stdio excepted).
inherited = []
for name in sorted(os.listdir(f"/proc/{ppid}/fd"), key=int):
    n = int(name)
    if n <= 2 or n >= 1000:
        continue
    try:
        os.fstat(n)
        inherited.append(n)  # passed to us (extra files: namespaces): passed on
        continue
    except OSError:
        pass
    try:
        fd = os.open(f"/proc/{ppid}/fd/{n}", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        continue
    if fd != n:
        os.dup2(fd, n, inheritable=False)
        os.close(fd)

base = os.environ.get("CRIU_RECORD", "/tmp/criu-record")
os.makedirs(base, exist_ok=True)
seq = len(os.listdir(base))
out = os.path.join(base, f"{seq:02d}-{comm}")
os.makedirs(out, exist_ok=True)

ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
pid = os.fork()
if pid == 0:
    ours.close()
    client.close()
    os.dup2(theirs.fileno(), 3, inheritable=True)
    for n in inherited:
        os.set_inheritable(n, True)
    os.execv(REAL, [REAL, "swrk", "3"])
theirs.close()

count = 0
FDS = socket.CMSG_SPACE(4 * array.array("i").itemsize)


def relay(src, dst, kind):
    """One packet from src to dst; False at end-of-file."""
    global count
    data, anc, flags, _ = src.recvmsg(1 << 20, FDS)
    fds = array.array("i")
    for level, typ, payload in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    if not data and not fds:
        return False
    with open(os.path.join(out, f"{count:02d}-{kind}.bin"), "wb") as f:
        f.write(data)
    count += 1
    if fds:
        dst.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        for fd in fds:
            os.close(fd)
    else:
        dst.send(data)
    return True


open_client, open_criu = True, True
while open_criu:
    ready, _, _ = select.select([s for s, o in ((client, open_client), (ours, open_criu)) if o], [], [])
    if client in ready and open_client:
        if not relay(client, ours, "req"):
            open_client = False
            ours.shutdown(socket.SHUT_WR)
    if ours in ready:
        if not relay(ours, client, "resp"):
            open_criu = False
client.close()
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)
