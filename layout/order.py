#!/usr/bin/env python3
"""Builds layout/swrun.order, the symbol ordering file the linker (lld) lays swrun out by.

  order.py entries BIN                    function entry addresses, for fntrace
  order.py functions BIN MAP TRACE...     function names, in the order the traces ran them

MAP is lld's -Map output for BIN. TRACE files come from fntrace ("ROLE ORDINAL ADDR
CALLER"); for each trace in turn, the first process's functions come first, then those only
its children (the container's init) ran. Functions that live in a section the linker cannot
move on its own (the Swift standard library's one 1.6 MB .text section) are left out:
naming them would drag the whole section into the hot region. Run by layout/generate.sh;
see docs/performance.md.
"""
import bisect
import subprocess
import sys


def load_map(path):
    """Input sections (start, size, name) sorted by address, and each one's symbols."""
    sections, symbols, current = [], {}, None
    for line in open(path):
        fields = line.split(None, 4)
        if len(fields) < 5:
            continue
        try:
            start, size = int(fields[0], 16), int(fields[2], 16)
        except ValueError:
            continue
        name = fields[4].strip()
        if ':(' in name:
            current = (start, size, name)
            if size:
                sections.append(current)
        elif current is not None and not name.startswith('.'):
            symbols.setdefault(current, []).append((start, name))
    sections.sort()
    return sections, symbols


def section_finder(sections):
    starts = [s[0] for s in sections]

    def find(address):
        i = bisect.bisect_right(starts, address) - 1
        if i >= 0 and sections[i][0] <= address < sections[i][0] + sections[i][1]:
            return sections[i]
        return None
    return find


def movable(section):
    """Whether the linker can place this input section by itself."""
    name = section[2]
    if name.startswith('<internal>'):
        return False          # synthetic: merged strings, PLT, relocations
    if 'libswiftCore.a(Swift.o):(.text)' in name:
        return False          # the standard library's code is one 1.6 MB section
    return True


def function_symbols(binary):
    names = {}
    out = subprocess.run(['readelf', '-sW', binary], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[3] == 'FUNC' and int(fields[1], 16):
            names.setdefault(int(fields[1], 16), fields[7])
    return names


def entries(binary):
    for address in sorted(function_symbols(binary)):
        print(f'{address:x}')


def functions(binary, mapfile, traces):
    names = function_symbols(binary)
    find = section_finder(load_map(mapfile)[0])
    seen, skipped = set(), 0
    for trace in traces:
        rows = [line.split() for line in open(trace)]
        for role in ('0', '1'):
            for _, _, address, *_ in sorted((r for r in rows if r[0] == role), key=lambda r: int(r[1])):
                address = int(address, 16)
                section, name = find(address), names.get(address)
                if section is None or name is None or not movable(section):
                    skipped += 1
                    continue
                if name not in seen:
                    seen.add(name)
                    print(name)
    print(f'order.py: {len(seen)} functions ordered, {skipped} entries in sections that cannot move',
          file=sys.stderr)


if __name__ == '__main__':
    command, args = sys.argv[1], sys.argv[2:]
    if command == 'entries':
        entries(*args)
    elif command == 'functions':
        functions(args[0], args[1], args[2:])
    else:
        sys.exit(f'order.py: unknown command {command}')
