#!/usr/bin/python3
"""criu-fixtures.py: turns the RPC exchanges tests/vm/criu.sh recorded (criu-record.py) into
Tests/SwrunCoreTests/CriuFixtures.swift.

    vm/test.sh --suite criu
    tests/vm/criu-fixtures.py .build/vm-results/criu/rpc > Tests/SwrunCoreTests/CriuFixtures.swift

Each recorded `criu swrk` session becomes one entry, named CLIENT/TYPE (the client's
directory and its first request's type: runc/DUMP, swrun-tty/RESTORE, ...); a VERSION
session is kept once per client.
"""
import os
import sys

TYPES = {0: "EMPTY", 1: "DUMP", 2: "RESTORE", 3: "CHECK", 4: "PRE_DUMP", 5: "PAGE_SERVER", 6: "NOTIFY",
         9: "FEATURE_CHECK", 10: "VERSION", 13: "SINGLE_PRE_DUMP"}


def first_type(data):
    # criu_req.type is field 1, a varint, first on the wire.
    if len(data) >= 2 and data[0] == 0x08:
        return TYPES.get(data[1], str(data[1]))
    return "?"


root = sys.argv[1]
sessions = {}
for client in sorted(os.listdir(root)):
    for session in sorted(os.listdir(os.path.join(root, client))):
        d = os.path.join(root, client, session)
        files = sorted(os.listdir(d))
        if not files:
            continue
        packets = []
        for f in files:
            with open(os.path.join(d, f), "rb") as fh:
                packets.append((f.endswith("-req.bin"), fh.read().hex()))
        name = f"{client}/{first_type(bytes.fromhex(packets[0][1]))}"
        sessions.setdefault(name, packets)

out = sys.stdout
out.write("""// Bytes of real CRIU RPC exchanges (criu 3.17.1 on Debian 12's kernel 6.1, runc 1.1.5),
// recorded in the project's test VM by tests/vm/criu.sh through tests/vm/criu-record.py and
// written here by tests/vm/criu-fixtures.py. Each session is one `criu swrk`: "req" packets
// are what the client (runc, or swrun) sent, the others criu's answers, in order.
// CriuRPCTests.swift encodes runc's requests with swrun's encoder and compares the bytes,
// decodes every answer, and compares swrun's requests with runc's.
enum CriuFixtures {
    static let sessions: [String: [(sent: Bool, hex: String)]] = [
""")
for name, packets in sessions.items():
    out.write(f'        "{name}": [\n')
    for sent, hexdata in packets:
        lines = [hexdata[i:i + 120] for i in range(0, len(hexdata), 120)] or [""]
        body = "\n".join("            " + l for l in lines)
        out.write(f'            ({"true" if sent else "false"}, """\n{body}\n            """),\n')
    out.write("        ],\n")
out.write("    ]\n}\n")
